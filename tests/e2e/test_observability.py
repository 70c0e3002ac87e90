"""What the service tells its operators: `/metrics` counts requests under their route's template with their times,
read-model positions and lag, provider calls; every answer carries `X-Request-ID`, and the logs carry it as
`request_id`; `/v1/ready` answers 503 when the read models are too far behind."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.bootstrap import Settings, build_service
from api.http.endpoints import system
from api.logs import JsonFormatter, Redaction
from api.metrics import read_models_lag
from leasecore.clock import SettableClock
from tests.e2e.support import Api, running
from tests.support import START


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


def samples(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of `/metrics`, by name and labels."""
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_under_their_route_template_with_their_status(api: Api) -> None:
    before = samples(api)
    unknown = uuid4()
    api.get("/v1/health")
    api.get("/v1/health")
    api.get(f"/v1/catalog/products/{unknown}", 404)
    api.get("/no/such/route", 404)
    api.http.request("BREW", "/v1/health")
    after = samples(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("leasecore_http_requests_total", route="/v1/health", method="GET", status="200") == 2
    product = "/v1/catalog/products/{id}"
    assert grew("leasecore_http_requests_total", route=product, method="GET", status="404") == 1
    assert grew("leasecore_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("leasecore_http_requests_total", route="/v1/health", method="OTHER", status="405") == 1
    assert grew("leasecore_http_request_seconds_count", route="/v1/health", method="GET") == 2
    assert grew("leasecore_http_request_seconds_bucket", route="/v1/health", method="GET", le="+Inf") == 2
    assert str(unknown) not in api.http.get("/metrics").text


def test_the_read_models_lag_reads_zero_once_caught_up_and_each_position_is_the_head(api: Api) -> None:
    api.customer(verified=False, score=None)
    api.service.platform.runner.catch_up()
    found = samples(api)
    head = value(found, "leasecore_event_log_head")
    assert head > 0
    assert value(found, "leasecore_projection_lag_events") == 0
    for name in api.service.platform.runner.names:
        assert value(found, "leasecore_projection_position", read_model=name) == head
    assert ("leasecore_outbox_depth", frozenset()) in found


def test_provider_calls_are_timed_by_provider_and_operation(api: Api) -> None:
    before = samples(api)
    api.customer(verified=False, score=None)
    after = samples(api)
    labels = {"provider": "sms.sandbox", "operation": "send"}
    assert value(after, "leasecore_provider_call_seconds_count", **labels) > value(
        before, "leasecore_provider_call_seconds_count", **labels
    )


def test_metrics_name_nobody(api: Api) -> None:
    customer = api.customer(verified=False, score=None)
    text = api.http.get("/metrics").text
    assert customer.phone not in text and customer.id_number not in text and str(customer.customer_id) not in text


def test_the_request_id_given_is_returned_and_one_is_made_when_none_or_a_bad_one_is_given(api: Api) -> None:
    assert api.http.get("/v1/health", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
    made = api.http.get("/v1/health").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    for bad in ("x" * 129, "has space", "中文"):
        answered = api.http.get("/v1/health", headers={"X-Request-ID": bad.encode()})
        assert len(answered.headers["x-request-id"]) == 32 and answered.headers["x-request-id"] != bad
    problem = api.http.get("/v1/orders", headers={"X-Request-ID": "denied-1"})
    assert problem.status_code == 401 and problem.headers["x-request-id"] == "denied-1"
    assert api.http.get("/admin/", headers={"X-Request-ID": "screen-1"}).headers["x-request-id"] == "screen-1"


def test_the_access_line_is_json_with_the_request_id_and_no_token_nor_query(api: Api) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(Redaction())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        api.get(
            "/v1/catalog/products?token=sekret",
            422,
            headers={"X-Request-ID": "line-7", "Authorization": "Bearer abc.def.ghi"},
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "api.access" and line.get("request_id") == "line-7"]
    assert len(access) == 1
    assert access[0] | {"duration_ms": 0} == access[0] | {
        "method": "GET",
        "route": "/v1/catalog/products",
        "status": 422,
        "duration_ms": 0,
    }
    assert "sekret" not in written.getvalue() and "abc.def.ghi" not in written.getvalue()


def test_a_record_written_by_a_handler_on_its_worker_thread_carries_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(Redaction())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.handler")
    logger.addHandler(handler)
    def logging_lag(runner: Any) -> int:
        logger.warning("asked by %s on %s", "13800138000", threading.current_thread().name)
        return read_models_lag(runner)

    monkeypatch.setattr(system, "read_models_lag", logging_lag)
    try:
        api.get("/v1/ready", headers={"X-Request-ID": "worker-3"})
    finally:
        logger.removeHandler(handler)
    (record,) = (json.loads(line) for line in written.getvalue().splitlines())
    assert record["request_id"] == "worker-3" and record["message"].startswith("asked by 138****8000 on ")
    assert not record["message"].endswith("MainThread")


def test_ready_while_the_read_models_keep_up(api: Api) -> None:
    answer = api.get("/v1/ready")
    assert answer["status"] == "ready" and answer["read_models_lag"] <= api.service.settings.ready_max_lag


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_not_ready_when_the_read_models_fall_behind_the_bound(
    database: str, tmp_path: object, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/ready.db" if database == "sqlite" else request.getfixturevalue("postgres_url")
    service = build_service(Settings(database_url=url, ready_max_lag=0), clock=SettableClock(START))
    try:
        api = Api(service)
        service.platform.runner.catch_up()
        assert api.get("/v1/ready") == {"status": "ready", "read_models_lag": 0}
        service.app.register_customer("13800000000")
        problem = api.get("/v1/ready", 503)
        assert problem["type"] == "/problems/not-ready" and "behind the log (at most 0)" in problem["detail"]
        assert api.http.get("/v1/ready").headers["retry-after"] == "5"
        assert api.get("/v1/health") == {"status": "ok"}
        service.platform.runner.catch_up()
        assert api.get("/v1/ready") == {"status": "ready", "read_models_lag": 0}
    finally:
        service.close()

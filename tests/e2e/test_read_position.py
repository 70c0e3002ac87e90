"""Read your writes across processes: a command's answer says where in the log it landed
(`X-Read-Position`); a read that passes it back (`X-Read-After`) never answers older read models,
whichever process serves it, and says so (503) rather than answer stale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.bootstrap import Settings, build_service
from leasecore.clock import SettableClock
from tests.conftest import postgres_schema
from tests.e2e.support import START, Api, running


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


def test_a_command_answers_its_position_and_a_read_after_it_sees_it(api: Api) -> None:
    world = api.set_up_world()
    who = api.customer()
    response = api.http.post("/v1/orders", json=api.order_body(world.sku_id), headers=who.headers)
    assert response.status_code == 201
    position = int(response.headers["X-Read-Position"])
    assert position == api.service.app.recorder.max_notification_id()
    order = api.get(f"/v1/orders/{response.json()['id']}", who=who, headers={"X-Read-After": str(position)})
    assert order["status"] == "pending_payment"
    assert "X-Read-Position" not in api.http.get(f"/v1/orders/{order['id']}", headers=who.headers).headers


def test_a_read_after_a_position_not_reached_answers_503_and_a_bad_one_422(api: Api) -> None:
    api.set_up_world()
    who = api.customer()
    api.service.read_timeout = 0.2
    ahead = (api.service.app.recorder.max_notification_id() or 0) + 1000
    problem = api.get("/v1/orders", 503, who=who, headers={"X-Read-After": str(ahead)})
    assert "have not reached position" in problem["detail"]
    problem = api.get("/v1/orders", 422, who=who, headers={"X-Read-After": "soon"})
    assert problem["errors"][0]["field"] == "X-Read-After"


@pytest.mark.postgres
def test_another_process_waits_for_the_read_models_the_first_one_runs() -> None:
    with postgres_schema() as url:
        first = Api(build_service(Settings(database_url=url), clock=SettableClock(START)))
        second = Api(build_service(Settings(database_url=url), clock=first.service.clock))
        try:
            first.service.platform.runner.start()
            world = first.set_up_world()
            who = first.customer()
            placed = first.http.post("/v1/orders", json=first.order_body(world.sku_id), headers=who.headers)
            position = placed.headers["X-Read-Position"]
            assert second.service.platform.runner.owned() == set()
            order = second.get(f"/v1/orders/{placed.json()['id']}", who=who, headers={"X-Read-After": position})
            assert order["id"] == placed.json()["id"]
        finally:
            second.close()
            first.close()

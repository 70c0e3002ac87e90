"""The service itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from starlette.responses import HTMLResponse, Response

from api.http.endpoint import PUBLIC, Call, Endpoints
from api.http.errors import ApiError
from api.http.openapi import page
from api.http.schemas import system as schemas
from api.metrics import CONTENT_TYPE, read_models_lag

endpoints = Endpoints("service")
DOCUMENT = "/openapi.json"
RETRY = {"Retry-After": "5"}


@endpoints.get("/v1/health", access=PUBLIC, answer=schemas.Health, summary="Liveness")
def health(call: Call[None, None]) -> schemas.Health:
    """A trivial JSON answer: the service is up (the benchmark's baseline route)."""
    return schemas.Health(status="ok")


@endpoints.get(DOCUMENT, access=PUBLIC, answer=dict[str, Any], summary="This document")
def openapi(call: Call[None, None]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route served, generated from the pydantic models."""
    document: dict[str, Any] = call.state.openapi
    return document


@endpoints.get("/docs", access=PUBLIC, answer=str, media_type="text/html", summary="This document, to read")
def docs(call: Call[None, None]) -> HTMLResponse:
    """Swagger UI over this document, with an example body for every request; its script and styles are served
    from `/docs/static/`, nothing is fetched from elsewhere."""
    return HTMLResponse(page(call.state.openapi["info"]["title"], DOCUMENT))


@endpoints.get("/v1/ready", access=PUBLIC, answer=schemas.Ready, errors=(503,), summary="Readiness")
def ready(call: Call[None, None]) -> schemas.Ready:
    """Ready to take traffic: the database answers, and the read models are at most `LEASECORE_READY_MAX_LAG`
    events behind the log (else 503 saying which, `Retry-After: 5`): a load balancer sends nobody to a process
    whose screens would show the past."""
    service = call.service
    try:
        with service.views.read() as connection:
            connection.execute(text("SELECT 1"))
        lag = read_models_lag(service.platform.runner)
    except Exception as error:
        detail = f"the database does not answer: {type(error).__name__}"
        raise ApiError(503, "not-ready", detail, headers=RETRY) from None
    bound = service.settings.ready_max_lag
    if lag > bound:
        detail = f"the read models are {lag} events behind the log (at most {bound})"
        raise ApiError(503, "not-ready", detail, headers=RETRY)
    return schemas.Ready(status="ready", read_models_lag=lag)


@endpoints.get("/metrics", access=PUBLIC, answer=str, media_type="text/plain", summary="Metrics")
def metrics(call: Call[None, None]) -> Response:
    """This process's metrics in Prometheus's text format: requests by route template and status with their
    times, command conflicts, read-model positions and lag, the outbox, the daily job and provider calls. No
    token: nothing in it names a person; keep it from the internet at the proxy (docs/http-api.md)."""
    return Response(call.service.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

"""The service itself."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse

from api.http.endpoint import PUBLIC, Call, Endpoints
from api.http.openapi import page
from api.http.schemas import system as schemas

endpoints = Endpoints("service")
DOCUMENT = "/openapi.json"


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

"""`create_app(service)`: the Starlette application of the HTTP contract (API.md), and the back office's screens
at `/admin/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from api.bootstrap import Service, Settings, build_service
from api.http.endpoint import problem_response
from api.http.errors import ApiError
from api.http.routes import routes, spec
from api.web.admin import admin_app

SLUGS = {404: "not-found", 405: "method-not-allowed"}


def create_app(service: Service, *, manage: bool = False) -> Starlette:
    """The app over a wired service, with the OpenAPI document of what it serves and the back office under
    `/admin/`; `manage` starts its background work with the app and closes it after."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage:
            service.start()
        try:
            yield
        finally:
            if manage:
                service.close()

    app = Starlette(
        routes=[*routes(sandbox=service.settings.sandbox), Mount("/admin", admin_app(service), name="admin")],
        exception_handlers={HTTPException: _http_problem, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.openapi = spec(sandbox=service.settings.sandbox)
    return app


def service_app() -> Starlette:
    """The app of one service process configured by the environment (`leasecore serve --workers N` runs one per
    worker): it follows the read models and sends refunds while it runs."""
    return create_app(build_service(Settings.from_env()), manage=True)


async def _http_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = "no such route" if error.status_code == 404 else f"{request.method} is not allowed here"
    problem = ApiError(error.status_code, SLUGS.get(error.status_code, "error"), detail, headers=error.headers)
    return problem.response()


async def _unexpected(request: Request, error: Exception) -> Response:
    return problem_response(error)

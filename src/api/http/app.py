"""`create_app(service)`: the Starlette application of the HTTP contract (API.md), and the back office's screens
at `/admin/`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.bootstrap import Service, Settings, build_service
from api.http.endpoint import problem_response
from api.http.errors import ApiError
from api.http.middleware import RequestContext
from api.http.routes import routes, spec
from api.web.admin import admin_app
from api.web.mobile import mobile_app

SLUGS = {404: "not-found", 405: "method-not-allowed"}


def create_app(service: Service, *, manage: bool = False) -> Starlette:
    """The app over a wired service, with the OpenAPI document of what it serves, the back office under `/admin/`
    and the customer's app under `/m/`; `manage` starts its background work with the app and closes it after."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage:
            service.start()
        try:
            yield
        finally:
            if manage:
                service.close()

    app = ServiceApp(
        routes=[
            *routes(sandbox=service.settings.sandbox),
            Mount("/admin", admin_app(service), name="admin"),
            Mount("/m", mobile_app(service), name="mobile"),
        ],
        exception_handlers={HTTPException: _http_problem, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.openapi = spec(sandbox=service.settings.sandbox)
    return app


class ServiceApp(Starlette):
    """Starlette with the request's id, access line and metrics around everything, its error handling included,
    so a 500 it answers is counted and carries the id too."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContext(super().build_middleware_stack(), self.state.service.metrics)


class NoDelayH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection. asyncio turns it off only
    on sockets created with the TCP protocol number, and uvicorn's `--workers` mode binds its shared socket
    without one: each answer on a kept-alive connection then waited ~40 ms for the client's delayed ACK."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


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

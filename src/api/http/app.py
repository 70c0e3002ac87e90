"""`create_app(service)`: the Starlette application of the HTTP contract (API.md), and the back office's screens
at `/admin/`."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

import h11
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from api.bootstrap import Service, Settings, build_service, freeze_startup_objects
from api.http.endpoint import problem_response
from api.http.errors import ApiError
from api.http.guard import Guard
from api.http.middleware import RequestContext
from api.http.routes import routes, spec
from api.web.admin import admin_app
from api.web.mobile import mobile_app

SLUGS = {404: "not-found", 405: "method-not-allowed"}
GRACE = 5.0
"""Seconds the requests in flight at a SIGTERM get to finish; the background work then gets `Service.close`'s."""
MAX_CONNECTIONS = 4096
SPARE_FILES = 256
"""Open files kept for what is not a client's connection: the database, its files, outgoing calls."""

log = logging.getLogger(__name__)


def create_app(service: Service, *, manage: bool = False) -> Starlette:
    """The app over a wired service, with the OpenAPI document of what it serves, the back office under `/admin/`
    and the customer's app under `/m/`, every answer guarded (`Guard`: slow bodies cut off, security headers);
    `manage` starts its background work with the app and closes it after."""

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
        middleware=[Middleware(Guard, body_timeout=service.settings.body_timeout)],
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
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection, and a connection closed when a
    request's head has not arrived `head_timeout` seconds after the connection opened or the head began (uvicorn
    waits for it forever, so silent connections could hold every file the server may open; a stalled body is
    `Guard`'s to cut off). asyncio turns Nagle off only on sockets created with the TCP protocol number, and
    uvicorn's `--workers` mode binds its shared socket without one: each answer on a kept-alive connection then
    waited ~40 ms for the client's delayed ACK."""

    head_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_late, self.cycle)

    def _head_late(self, cycle: object) -> None:
        """No request's head arrived since the timer began: the connection is closed; when one did, and the
        connection is waiting for the next, the next gets its own time."""
        self._head_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if self.cycle is cycle:
            self.transport.close()
        else:
            self._await_head()


def serving_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for a server that outlasts a flood of connections and stops in time: the process's open
    files raised to its hard limit, the connections answered kept well below it (more answer 503 at once rather than
    the server running out of files), a request's head given the body timeout, `X-Forwarded-For` and
    `X-Forwarded-Proto` believed from the trusted proxies only (uvicorn's default believes any on loopback), and on
    SIGTERM the requests in flight given `GRACE` seconds to finish; a SIGTERM then ends the process with status 0,
    as a clean stop."""
    files = raise_open_files()
    NoDelayH11.head_timeout = settings.body_timeout
    signal.signal(signal.SIGTERM, _stopped)
    return {
        "http": NoDelayH11,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
        "limit_concurrency": max(64, min(MAX_CONNECTIONS, files - SPARE_FILES)),
        "timeout_graceful_shutdown": GRACE,
    }


def raise_open_files() -> int:
    """The process may open as many files as its hard limit allows; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            log.warning("cannot raise the open files limit from %d to %d: %s", soft, hard, error)
    return MAX_CONNECTIONS + SPARE_FILES if soft == resource.RLIM_INFINITY else soft


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@dataclass(frozen=True)
class OwnListeningSocket:
    """What uvicorn's worker supervisor hands each worker as the socket to serve: unpickled in the worker, it is a
    listening socket of the worker's own on the shared address (`SO_REUSEPORT`), so the kernel spreads new
    connections across the workers. On the one socket uvicorn binds and shares, asyncio accepts every pending
    connection at once, so the first worker awake took a whole burst of keep-alive clients and the others idled
    (two workers served 0.87× what one did)."""

    host: str
    port: int

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return _listening_socket, (self.host, self.port)


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_workers(config: Config) -> None:
    """`config.workers` processes, each serving `service_app` on a listening socket of its own, under uvicorn's
    supervisor (which restarts a worker that dies and stops them all on SIGINT or SIGTERM)."""
    shared = cast(socket.socket, OwnListeningSocket(config.host, config.port))
    Multiprocess(config, sockets=[shared]).run()


def service_app() -> Starlette:
    """The app of one service process configured by the environment (`leasecore serve --workers N` runs one per
    worker): it follows the read models and sends refunds while it runs."""
    settings = Settings.from_env()
    NoDelayH11.head_timeout = settings.body_timeout
    app = create_app(build_service(settings), manage=True)
    freeze_startup_objects()
    return app


async def _http_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = "no such route" if error.status_code == 404 else f"{request.method} is not allowed here"
    problem = ApiError(error.status_code, SLUGS.get(error.status_code, "error"), detail, headers=error.headers)
    return problem.response()


async def _unexpected(request: Request, error: Exception) -> Response:
    return problem_response(error)

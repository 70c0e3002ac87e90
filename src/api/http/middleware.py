"""Around every request: its id (`X-Request-ID`, taken from the caller when sane, else made), which every log
record written while answering it carries and the answer returns; one access line; and the request's count and
time in the service's metrics, under the route's template."""

from __future__ import annotations

import logging
import re
import time
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id
from api.metrics import Metrics

HEADER = "X-Request-ID"
UNMATCHED = "unmatched"
"""The route of a request no route took: one label for every path nobody serves."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods counted by name; any other is `OTHER`, so a client inventing methods cannot grow the metrics."""
OTHER = "OTHER"
_SANE = re.compile(r"[\x21-\x7e]{1,128}")

access = logging.getLogger("api.access")


class RequestContext:
    """The outermost layer of the app: it sees the answer the app's own error handling gave, 500 included."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER)
        identifier = given if given is not None and _SANE.fullmatch(given) else uuid4().hex
        token = request_id.set(identifier)
        started, status, base = time.perf_counter(), 500, str(scope.get("root_path", ""))

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = identifier
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self._record(scope, base, status, time.perf_counter() - started)
            request_id.reset(token)

    def _record(self, scope: Scope, base: str, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else OTHER
        route = route_template(scope, base)
        self.metrics.request(route, method, status, seconds)
        milliseconds = round(seconds * 1000, 1)
        access.info(
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            milliseconds,
            extra={"method": method, "route": route, "status": status, "duration_ms": milliseconds},
        )


def route_template(scope: Scope, base: str = "") -> str:
    """The template of the route that answered (`/v1/orders/{id}`, `/admin/orders/{order_id}`), never the path
    asked: a path holds ids, a template a bounded set of names. A mount answering past its own routes (its static
    files, its 404) is its prefix and `{path}`; `base` is the root path the server was given, left out."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(base) :]
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}"
    return f"{prefix}{path}"

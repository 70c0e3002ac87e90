"""Local peers: small HTTP servers on loopback that speak an outside provider's protocol, for adapters to be
tested against offline.

A peer is a `LoopbackPeer` with routes; each route takes the request as the peer received it (`PeerRequest`: the
method, the path with its query, the headers and the raw body) and answers a `PeerAnswer`. The peer keeps every
request it received, so a test can check what the adapter sent (its signature, its parameters) as well as what it
made of the answer. Start it with `with LoopbackPeer(...) as peer:` and point the adapter's `gateway_url` at
`peer.url`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class PeerRequest:
    method: str
    target: str
    """The path and query string as sent."""
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    @property
    def form(self) -> dict[str, str]:
        """The body read as `application/x-www-form-urlencoded`."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass(frozen=True)
class PeerAnswer:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> PeerAnswer:
        return cls(status, text.encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


Route = Callable[[PeerRequest], PeerAnswer]


class LoopbackPeer:
    """An HTTP server on 127.0.0.1 and a free port, answering `(method, path)` routes from a thread.

    A request no route matches answers 404; a route that raises answers 500 with the error's text, and the error is
    kept in `failures` so a test can assert the peer saw nothing it could not handle."""

    def __init__(self, routes: Mapping[tuple[str, str], Route] | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = dict(routes or {})
        self.received: list[PeerRequest] = []
        self.failures: list[BaseException] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = PeerRequest(
                    method=self.command,
                    target=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                peer.received.append(request)
                answer = peer.answer(request)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a timeout test): no one to answer

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-peer", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        """Decorator: `@peer.route("POST", "/gateway.do")`."""

        def register(route: Route) -> Route:
            self.routes[(method.upper(), path)] = route
            return route

        return register

    def answer(self, request: PeerRequest) -> PeerAnswer:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return PeerAnswer(404, f"no route {request.method} {request.path}".encode())
        try:
            return route(request)
        except Exception as error:  # the test sees it in `failures`; the adapter sees a 500
            self.failures.append(error)
            return PeerAnswer(500, repr(error).encode())

    def start(self) -> LoopbackPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackPeer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["LoopbackPeer", "PeerAnswer", "PeerRequest", "Route"]

"""What every answer of the service gets, whichever app serves it: a request body that does not arrive in time is cut
off (408, the connection closed) so slow clients cannot hold the server's connections, and the security headers;
and who the client is (its address, through trusted proxies only)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import ApiError

MIN_BODY_RATE = 16 * 1024
"""A body's bytes buy it time on top of the timeout, a second per 16 KiB received: a large upload keeps going as
long as it arrives at that pace on average, while a trickle (or a Content-Length promising much) buys nothing."""

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HSTS = "max-age=31536000; includeSubDomains"


class BodyTimeout(ApiError):
    """The request's body did not arrive in time; the client has been answered 408 and is disconnected (what the
    guarded app answers after is dropped)."""

    def __init__(self) -> None:
        super().__init__(408, "request-timeout", "the request's body did not arrive in time")


@dataclass(frozen=True)
class Guard:
    """Wraps the service's app: cuts off a request whose body stalls (`body_timeout` seconds, plus a second per
    16 KiB received), answering 408 and closing the connection, and adds the security headers to
    every answer (no-store on one to a request carrying a token, the screens' pages setting their own; HSTS over
    https)."""

    app: ASGIApp
    body_timeout: float = 10.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, receive, send, self.body_timeout)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BodyTimeout:
            return


class _Exchange:
    """One request's receive and send as the guarded app sees them."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, timeout: float) -> None:
        self._scope, self._receive, self._send, self._timeout = scope, receive, send, timeout
        self._https = scope.get("scheme") == "https"
        headers = dict(scope.get("headers") or ())
        self._token = b"authorization" in headers
        self._received, self._body_done, self._started, self._cut = 0, False, False, False
        self._deadline: float | None = None

    async def receive(self) -> Message:
        if self._body_done:
            return await self._receive()
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self._timeout
        allowance = self._received / MIN_BODY_RATE
        try:
            message = await asyncio.wait_for(self._receive(), max(0.0, self._deadline + allowance - loop.time()))
        except TimeoutError:
            await self._cut_off()
            raise BodyTimeout from None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            self._body_done = not message.get("more_body", False)
        else:
            self._body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self._cut:
            return
        if message["type"] == "http.response.start":
            self._started = True
            message = {**message, "headers": [*message.get("headers", []), *self._missing(message)]}
        await self._send(message)

    def _missing(self, start: Message) -> list[tuple[bytes, bytes]]:
        present = {bytes(name).lower() for name, _ in start.get("headers", [])}
        wanted = dict(API_HEADERS)
        if self._token:
            wanted["cache-control"] = "no-store"
        if self._https:
            wanted["strict-transport-security"] = HSTS
        return [(name.encode(), value.encode()) for name, value in wanted.items() if name.encode() not in present]

    async def _cut_off(self) -> None:
        if not self._started:
            detail = f"the request's body did not arrive within {self._timeout:g} s"
            problem = ApiError(408, "request-timeout", detail, headers={"Connection": "close"})
            await problem.response()(self._scope, self._receive, self.send)
        self._cut = True


def client_address(scope: Scope, trusted_proxies: Iterable[str] = ()) -> str | None:
    """The client's IP address: the socket's peer, unless that peer is a trusted proxy, in which case the nearest
    address in `X-Forwarded-For` that is not itself a trusted proxy. None when the peer has no IP address (a test
    client, a Unix socket)."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else ""
    networks = _networks(trusted_proxies)
    if _within(address, networks):
        headers: Mapping[bytes, bytes] = dict(scope.get("headers") or ())
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        for hop in reversed([item.strip() for item in forwarded.split(",") if item.strip()]):
            address = hop
            if not _within(hop, networks):
                break
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _networks(trusted: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item.strip(), strict=False) for item in trusted if item.strip()]


def _within(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)

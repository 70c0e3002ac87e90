"""What every screen is made of: Jinja2 templates with autoescape on, the security headers of every answer (a
Content-Security-Policy without inline scripts), form bodies, and safe redirects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.formatting import day, money, number

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MAX_FORM = 64 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def environment() -> Environment:
    """Templates escape every value unless it is marked safe; an undefined name is an error, not an empty string."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, number=number, day=day)
    return env


TEMPLATE_ENV = environment()


def html(template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    """A page from its template; never cached, since it shows one member of staff's data."""
    body = TEMPLATE_ENV.get_template(template).render(context)
    return HTMLResponse(body, status, headers={"Cache-Control": "no-store"})


class SecurityHeaders:
    """Adds the security headers to every answer of the app it wraps (pages, files and errors alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
                message["headers"] = [
                    *message.get("headers", []),
                    *(item for item in extra if item[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what a plain HTML form posts) as its last value per name;
    anything else, or a body over 64 KiB, reads as no fields."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM:
            return {}
        chunks.append(chunk)
    body = b"".join(chunks).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=200))


def safe_next(target: str | None, base: str) -> str:
    """Where to go after logging in: a path of the back office itself, never another site."""
    if not target or not target.startswith(base + "/") or target.startswith("//") or "\\" in target:
        return base + "/"
    return target


def with_query(path: str, query: Mapping[str, str], **changes: str | int | None) -> str:
    """The path with its query changed (a None removes a name); names keep their order."""
    values = {**query, **{name: str(value) for name, value in changes.items() if value is not None}}
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
    return f"{path}?{urlencode(values)}" if values else path

"""What every screen is made of: Jinja2 templates with autoescape on, the security headers of every answer (a
Content-Security-Policy without inline scripts), form bodies, and safe redirects."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from email.message import Message as MimeHeaders
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web import i18n
from api.web.formatting import billing_zone, day, local_time, money, number
from leasecore.credit.policy import WaiverLimit
from leasecore.lease.reasons import Reason
from leasecore.values import ERASED

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from api.bootstrap import Service
    from leasecore.application import LeaseApplication
    from projections.store import ViewStore

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MAX_FORM = 64 * 1024
MAX_UPLOAD = 32 * 1024 * 1024

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


@pass_context
def _shown(context: Context, value: Any) -> Any:
    """Every value a template prints: personal data erased (PIPL) is stored as the marker `erased` in every field
    it blanked (phone, name, address, a conversation's words); a page shows it in the page's language."""
    if value == ERASED and callable(words := context.get("t")):
        return words("personal.erased")
    return value


def reason_in_words(words: Callable[..., str], text: str) -> str:
    """One of the platform's reasons (automated review's, an order it cancelled) in the words `words` gives (a page's
    `t`); words a person wrote (a reviewer's, a customer's), as written."""
    found = Reason.parse(text)
    if found is None:
        return text
    return words(f"reason.{found.code.value}", score=found.score, minimum=found.minimum, minutes=found.minutes)


def limit_in_words(words: Callable[..., str], limit: WaiverLimit) -> str:
    """Why a quote waives less than the deposit (the policy's limit and its figures) in the words `words` gives."""
    amount = money(limit.amount)
    return words(f"m.quote.limit.{limit.rule.value}", score=limit.score, minimum=limit.minimum, amount=amount)


@pass_context
def _waiver_limit(context: Context, limit: WaiverLimit) -> str:
    """`limit_in_words` in the page's language, as a filter: `{{ quote.waiver_limit | waiver_limit }}`."""
    return limit_in_words(context["t"], limit)


@pass_context
def _reason(context: Context, text: str) -> str:
    """`reason_in_words` in the page's language, as a filter: `{{ order.reason | reason }}`."""
    words = context.get("t")
    return reason_in_words(words, text) if callable(words) else text


def environment() -> Environment:
    """Templates escape every value unless it is marked safe; an undefined name is an error, not an empty string."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: a restart picks up a change, as it does for the code
        finalize=_shown,
    )
    env.filters.update(money=money, number=number, day=day, reason=_reason, waiver_limit=_waiver_limit)
    return env


TEMPLATE_ENV = environment()


class PageBasics(ABC):
    """What a page of either app (the back office, the customer's) reads of its request and its service: where the
    app is mounted, the query without the language, its words, links, the billing timezone (read once a request),
    the clock's day and instants shown in that timezone. A page class gives `request`, `lang`, `service` and a
    `_zone` of None."""

    request: Request
    lang: str
    _zone: ZoneInfo | None

    @property
    @abstractmethod
    def service(self) -> Service: ...

    @property
    def app(self) -> LeaseApplication:
        return self.service.app

    @property
    def views(self) -> ViewStore:
        return self.service.views

    @property
    def base(self) -> str:
        """Where the app is mounted (`/admin`, `/m`)."""
        return str(self.request.scope.get("root_path", "")).rstrip("/")

    @property
    def query(self) -> Mapping[str, str]:
        return {key: value for key, value in self.request.query_params.items() if key != "lang"}

    def t(self, key: str, **values: object) -> str:
        return i18n.translate(self.lang, key, **values)

    def url(self, path: str, **query: str | int | None) -> str:
        return with_query(self.base + path, {}, **query)

    def zone(self) -> ZoneInfo:
        """The billing timezone, read from the configuration once per request (a list shows many times)."""
        if self._zone is None:
            self._zone = billing_zone(self.app)
        return self._zone

    def today(self) -> date:
        """Today in the billing timezone, by the service's clock (the sandbox's when it is moved)."""
        return self.app.clock.now().astimezone(self.zone()).date()

    def time(self, instant: Any) -> str:
        return local_time(instant, self.zone())


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
    a `multipart/form-data` one (a form with a file input) the same, its files kept for `uploads`; anything else,
    or a body over 64 KiB (32 MiB with files), reads as no fields."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind == "multipart/form-data":
        return await _read_multipart(request)
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = await _body(request, MAX_FORM)
    if body is None:
        return {}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=200))


@dataclass(frozen=True)
class Upload:
    """A file a form posted: its field, the name the browser gave it (not to be trusted), its bytes."""

    field: str
    filename: str
    content: bytes


def uploads(request: Request, name: str) -> list[Upload]:
    """The files posted under `name` (a file input left empty posts none)."""
    found: list[Upload] = getattr(request.state, "uploads", [])
    return [item for item in found if item.field == name and (item.filename or item.content)]


async def _body(request: Request, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_multipart(request: Request) -> dict[str, str]:
    header = MimeHeaders()
    header["content-type"] = request.headers["content-type"]
    boundary = header.get_param("boundary")
    body = await _body(request, MAX_UPLOAD)
    if not isinstance(boundary, str) or not boundary or body is None:
        return {}
    fields: dict[str, str] = {}
    files: list[Upload] = []
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:201]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        headers = MimeHeaders()
        for line in head.decode("utf-8", errors="replace").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        field = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if not isinstance(field, str):
            continue
        if isinstance(filename, str):
            files.append(Upload(field, filename, content))
        else:
            fields[field] = content.decode("utf-8", errors="replace")
    request.state.uploads = files
    return fields


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

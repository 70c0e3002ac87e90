"""The customer's app's frame: pages as data (path, whether the customer must be logged in), the one code path every
page takes (the session from its cookie, CSRF on every POST, the handler in a worker thread, a refusal of the domain
as a page in words), and the layout's context (the bottom tab bar, the language, the CSRF token).

A customer's session is the back office's kind (`WebSessions`, in the database, so every process knows it) under
its own cookie scoped to `/m`, naming `customer:<id>`; a staff session's cookie is never sent here, and a customer's
names no staff account there."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.http.errors import from_validation, problem_for
from api.web import i18n
from api.web.pages import PageBasics, html, read_form, safe_next
from api.web.sessions import LANG_COOKIE, WebSession, WebSessions, clear_cookie, set_cookie
from leasecore.errors import InvalidInput, LeaseError, NotFound

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from api.bootstrap import Service

log = logging.getLogger(__name__)

COOKIE = "leasecore_m"
FORM_COOKIE = "leasecore_m_form"
"""The CSRF token of a visitor not logged in (the login forms), matched against the form's own."""
PATH = "/m"
TTL = timedelta(days=30)
"""A phone stays logged in for a month, as the market's apps do."""
CUSTOMER = "customer:"

Model = TypeVar("Model", bound=BaseModel)


class FormInvalid(Exception):
    """What a form got wrong, by field, in words: the page shows each message next to its field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


Handler = Callable[["MobilePage"], Response]


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str
    handler: Handler
    login: bool


class Pages:
    """A module's pages, declared with decorators; `login=False` for what a visitor may see (catalog, login)."""

    def __init__(self) -> None:
        self.items: list[PageRoute] = []

    def get(self, path: str, *, login: bool = True) -> Callable[[Handler], Handler]:
        return self._route("GET", path, login)

    def post(self, path: str, *, login: bool = True) -> Callable[[Handler], Handler]:
        return self._route("POST", path, login)

    def _route(self, method: str, path: str, login: bool) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(PageRoute(method, path, handler, login))
            return handler

        return register


@dataclass(frozen=True)
class Tab:
    """An entry of the bottom tab bar."""

    key: str
    label: str
    href: str
    current: bool


TABS = (("home", "m.tab.home", "/"), ("orders", "m.tab.orders", "/orders"), ("help", "m.tab.help", "/help"))
TABS_END = (("me", "m.tab.me", "/me"),)


@dataclass
class Shop:
    """What the customer's pages share: the service they call and the customers' sessions."""

    service: Service
    sessions: WebSessions
    pages: list[PageRoute]
    tabs: tuple[tuple[str, str, str], ...] = TABS + TABS_END

    def routes(self) -> list[Route]:
        return [
            Route(item.path, respond(self, item), methods=[item.method], name=f"{item.handler.__name__}")
            for item in self.pages
        ]


@dataclass
class MobilePage(PageBasics):
    """One request as a page's handler sees it: the customer (None for a visitor), the form posted, the language."""

    request: Request
    shop: Shop
    lang: str
    customer_id: UUID | None = None
    session: WebSession | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    tab: str = ""
    _zone: ZoneInfo | None = field(default=None, init=False, repr=False)

    @property
    def service(self) -> Service:
        return self.shop.service

    @property
    def me(self) -> UUID:
        """The logged-in customer (pages that need one are only reached logged in)."""
        assert self.customer_id is not None
        return self.customer_id

    def path_id(self, name: str = "id") -> UUID:
        """A `{id}` of the path; one that is not a UUID names nothing (404)."""
        try:
            return UUID(str(self.request.path_params[name]))
        except ValueError:
            raise NotFound("page", self.request.path_params[name]) from None

    def parse(self, schema: type[Model], fields: Mapping[str, Any]) -> Model:
        """The form's fields as the API's body schema reads them: the same rules, the same words for each field
        (`FormInvalid` names every field wrong)."""
        try:
            return schema.model_validate(fields)
        except ValidationError as error:
            found: dict[str, str] = {}
            for name, message in from_validation(error).errors:
                found.setdefault(name, message)
            raise FormInvalid(found) from None

    def tabs(self) -> list[Tab]:
        return [Tab(key, self.t(label), self.base + path, key == self.tab) for key, label, path in self.shop.tabs]

    def render(self, template: str, status: int = 200, /, **context: Any) -> Response:
        """The template with the layout's context: the page, its words, the tab bar and the form's CSRF token."""
        done = self.request.query_params.get("done", "")
        flash = self.t(f"m.flash.{done}") if done and i18n.known(f"m.flash.{done}") else None
        token = self.session.csrf_token if self.session else self.request.cookies.get(FORM_COOKIE) or ""
        if not token:
            token = secrets.token_urlsafe(32)
        response = html(
            template,
            {
                "page": self,
                "t": self.t,
                "base": self.base,
                "html_lang": i18n.HTML_LANG[self.lang],
                "csrf": token,
                "flash": flash,
                "errors": {},
                **context,
            },
            status,
        )
        if self.session is None and not self.request.cookies.get(FORM_COOKIE):
            set_cookie(self.request, response, FORM_COOKIE, token, 24 * 3600, path=PATH)
        return response

    def redirect(self, path: str, **query: str | int | None) -> Response:
        """Redirect-after-post (303): reloading the page it leads to repeats nothing."""
        return RedirectResponse(self.url(path, **query), status_code=303)

    def log_in(self, customer_id: UUID, target: str | None) -> Response:
        """A fresh session for the customer (any earlier one of this browser ends), then where they were going."""
        self.shop.sessions.end(self.request.cookies.get(COOKIE))
        session_id, _ = self.shop.sessions.open(f"{CUSTOMER}{customer_id}")
        response = RedirectResponse(safe_next(target, self.base), status_code=303)
        set_cookie(self.request, response, COOKIE, session_id, int(self.shop.sessions.ttl.total_seconds()), path=PATH)
        clear_cookie(self.request, response, FORM_COOKIE, path=PATH)
        return response

    def log_out(self) -> Response:
        self.shop.sessions.end(self.request.cookies.get(COOKIE))
        response = self.redirect("/", done="logged_out")
        clear_cookie(self.request, response, COOKIE, path=PATH)
        return response


def customer_of(session: WebSession | None) -> UUID | None:
    if session is None or not session.username.startswith(CUSTOMER):
        return None
    try:
        return UUID(session.username.removeprefix(CUSTOMER))
    except ValueError:
        return None


def language(request: Request) -> str:
    return i18n.language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def respond(shop: Shop, route: PageRoute) -> Callable[[Request], Any]:
    """The Starlette endpoint of a page: the session (a page that needs one sends a visitor to log in first), on POST
    the CSRF token (the session's, or a visitor's cookie's), then the handler; a form's mistakes are the handler's to
    show, a refusal of the domain answers its status with the server's message. All of it but reading the form runs
    in one worker thread: a hop costs more than the session lookup it would carry."""

    async def endpoint(request: Request) -> Response:
        page = MobilePage(request, shop, language(request), tab=_tab(shop, request))
        if route.method == "POST":
            page.form = await read_form(request)
        response = await run_in_threadpool(_serve, shop, route, page)
        requested = request.query_params.get("lang")
        if requested in i18n.LANGUAGES:
            set_cookie(request, response, LANG_COOKIE, requested, 365 * 24 * 3600, path=PATH)
        return response

    endpoint.__name__ = route.handler.__name__
    return endpoint


def _serve(shop: Shop, route: PageRoute, page: MobilePage) -> Response:
    request = page.request
    page.session = shop.sessions.find(request.cookies.get(COOKIE))
    page.customer_id = customer_of(page.session)
    if page.customer_id is None:
        page.session = None
        if route.login:
            return _to_login(page, request)
    if route.method == "POST":
        expected = page.session.csrf_token if page.session else request.cookies.get(FORM_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), page.form.get("csrf", "").encode()):
            return error_page(page, 403, page.t("m.error.expired"), page.t("m.error.csrf"))
    try:
        return _handle(route.handler, page)
    except LeaseError as error:
        return refused(page, error)
    except Exception:
        log.exception("the customer's page %s %s failed", request.method, request.url.path)
        return error_page(page, 500, page.t("m.error.unexpected"), page.t("m.error.unexpected_detail"))


def _handle(handler: Handler, page: MobilePage) -> Response:
    """A page that only reads asks all its questions over one connection."""
    if page.request.method != "GET":
        return handler(page)
    with page.views.reading():
        return handler(page)


def _to_login(page: MobilePage, request: Request) -> Response:
    here = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    if request.method != "GET":
        here = page.base + "/"
    response = RedirectResponse(page.url("/login", next=here), status_code=303)
    if request.cookies.get(COOKIE):
        clear_cookie(request, response, COOKIE, path=PATH)
    return response


def _tab(shop: Shop, request: Request) -> str:
    path = request.url.path.removeprefix(str(request.scope.get("root_path", "")))
    found = [key for key, _, prefix in shop.tabs if prefix != "/" and path.startswith(prefix)]
    return found[0] if found else ("home" if path in ("", "/") or path.startswith("/products") else "")


def error_page(page: MobilePage, status: int, title: str, detail: str) -> Response:
    return page.render("mobile/error.html", status, title=title, detail=detail)


def refused(page: MobilePage, error: LeaseError) -> Response:
    """The domain's refusal as a page: 404 for what is not there (or not the customer's), else its status with the
    server's words."""
    problem = problem_for(error)
    if isinstance(error, NotFound) or problem is None or problem.status == 404:
        return error_page(page, 404, page.t("m.error.not_found"), page.t("m.error.not_found_detail"))
    if isinstance(error, InvalidInput):
        return error_page(page, 422, page.t("m.error.invalid"), str(error))
    return error_page(page, problem.status, page.t("m.error.refused"), problem.detail)

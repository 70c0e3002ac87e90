"""The back office's frame: screens as data (a nav entry, who may see it, its pages), the one code path every page
takes (session, roles as the API's route guards have them, CSRF on every POST, the handler in a worker thread, the
page or a clear error page), and the layout's context (navigation, user, language)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.http.endpoint import Access
from api.http.errors import problem_for
from api.web import assets, i18n
from api.web.pages import PageBasics, html, read_form, with_query
from api.web.sessions import COOKIE, LANG_COOKIE, WebSession, WebSessions, clear_cookie, set_cookie
from leasecore.errors import LeaseError, NotFound
from leasecore.staff import Role

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from api.bootstrap import Service

log = logging.getLogger(__name__)

ROLE_ORDER = (Role.ADMIN, Role.OPERATOR, Role.RISK, Role.FINANCE)


@dataclass(frozen=True)
class StaffUser:
    """The member of staff behind a session, with the roles the account has now (not when they logged in)."""

    username: str
    roles: frozenset[Role]

    def may(self, access: Access) -> bool:
        return bool(self.roles & access.roles)


Handler = Callable[["Page"], Response]


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str
    handler: Handler
    access: Access


class Pages:
    """A screen's pages, declared with decorators; each names who may open it with the API's `Access`."""

    def __init__(self) -> None:
        self.items: list[PageRoute] = []

    def get(self, path: str, *, access: Access) -> Callable[[Handler], Handler]:
        return self._route("GET", path, access)

    def post(self, path: str, *, access: Access) -> Callable[[Handler], Handler]:
        return self._route("POST", path, access)

    def _route(self, method: str, path: str, access: Access) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(PageRoute(method, path, handler, access))
            return handler

        return register


@dataclass(frozen=True)
class Screen:
    """One area of the back office: its entry in the navigation (`label`, an i18n key, linking to `path`), who sees
    it (the API's role table for what it shows) and its pages. A screen is in the navigation only when its module is
    in `api.web.admin.SCREENS`, and only for the roles that may use it."""

    key: str
    label: str
    path: str
    access: Access
    pages: Pages


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    current: bool


@dataclass
class Console:
    """What pages share: the service they call, the sessions, and the screens that are built."""

    service: Service
    sessions: WebSessions
    screens: Sequence[Screen]

    def screen(self, key: str) -> Screen | None:
        """A built screen by key (links to one that is not built yet are left out)."""
        return next((screen for screen in self.screens if screen.key == key), None)

    def user(self, session: WebSession) -> StaffUser | None:
        """The session's account as it is now; None when it is gone or disabled."""
        try:
            account = self.service.app.staff_account(session.username)
        except NotFound:
            return None
        if getattr(account, "disabled", False):
            return None
        return StaffUser(account.username, frozenset(account.roles))

    def routes(self) -> list[Route]:
        return [
            Route(item.path, respond(self, item), methods=[item.method], name=f"{screen.key}:{item.handler.__name__}")
            for screen in self.screens
            for item in screen.pages.items
        ]


@dataclass
class Page(PageBasics):
    """One request as a screen's handler sees it: who asks, in which language, the form posted, and how to answer."""

    request: Request
    console: Console
    lang: str
    user: StaffUser | None = None
    session: WebSession | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    screen: str = ""
    _zone: ZoneInfo | None = field(default=None, init=False, repr=False)

    @property
    def service(self) -> Service:
        return self.console.service

    @property
    def path_id(self) -> UUID:
        """The `{id}` of the path; an id that is not a UUID names nothing (404)."""
        try:
            return UUID(str(self.request.path_params["id"]))
        except ValueError:
            raise NotFound("page", self.request.path_params["id"]) from None

    def language_link(self, lang: str) -> str:
        """This page in the other language (which is then remembered)."""
        return with_query(self.request.url.path, self.query, lang=lang)

    def may(self, access: Access) -> bool:
        return self.user is not None and self.user.may(access)

    def link(self, screen_key: str, path: str, **query: str | int | None) -> str | None:
        """A link into another screen, or None when that screen is not built or this user may not open it."""
        screen = self.console.screen(screen_key)
        if screen is None or not self.may(screen.access):
            return None
        return self.url(path, **query)

    def role_names(self, roles: frozenset[Role]) -> str:
        return "、".join(self.t(f"role.{role.value}") for role in ROLE_ORDER if role in roles)

    def nav(self) -> list[NavItem]:
        if self.user is None:
            return []
        return [
            NavItem(screen.key, self.t(screen.label), self.base + screen.path, screen.key == self.screen)
            for screen in self.console.screens
            if self.user.may(screen.access)
        ]

    def render(self, template: str, status: int = 200, /, **context: Any) -> Response:
        """The template with the layout's context: the page itself (words, links, user, nav, CSRF token)."""
        done = self.request.query_params.get("done", "")
        flash = self.t(f"flash.{done}") if done and i18n.known(f"flash.{done}") else None
        return html(
            template,
            {
                "page": self,
                "t": self.t,
                "base": self.base,
                "html_lang": i18n.HTML_LANG[self.lang],
                "other_lang": "en" if self.lang == "zh" else "zh",
                "csrf": self.session.csrf_token if self.session else "",
                "htmx": assets.htmx() is not None,
                "flash": flash,
                **context,
            },
            status,
        )

    def redirect(self, path: str, *, whole_page: bool = False, **query: str | int | None) -> Response:
        """Redirect-after-post (303): the browser GETs the result, so reloading it repeats nothing. `whole_page`:
        a request htmx made for part of a page becomes a navigation to the other page."""
        target = self.url(path, **query)
        if whole_page and self.request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)


def language(request: Request) -> str:
    """`?lang=` when given (it is then remembered in a cookie), else the cookie's, else Chinese."""
    return i18n.language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def remember_language(request: Request, response: Response) -> Response:
    requested = request.query_params.get("lang")
    if requested in i18n.LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, requested, 365 * 24 * 3600)
    return response


def respond(console: Console, route: PageRoute) -> Callable[[Request], Any]:
    """The Starlette endpoint of a page: a session (else the login page), the roles (else 403), on POST the session's
    CSRF token (else 403), then the handler; a refusal of the domain answers its status with the server's message,
    an unknown id 404. All of it but reading the form runs in one worker thread: a hop costs more than the session
    lookup it would carry."""
    screen = next((s.key for s in console.screens if route in s.pages.items), "")

    async def endpoint(request: Request) -> Response:
        page = Page(request, console, language(request), screen=screen)
        if route.method == "POST":
            page.form = await read_form(request)
        return remember_language(request, await run_in_threadpool(_serve, console, route, page))

    endpoint.__name__ = route.handler.__name__
    return endpoint


def _serve(console: Console, route: PageRoute, page: Page) -> Response:
    request = page.request
    session = console.sessions.find(request.cookies.get(COOKIE))
    user = console.user(session) if session else None
    if session is None or user is None:
        target = with_query(page.base + "/login", {}, next=_here(request))
        response: Response = RedirectResponse(target, status_code=303)
        if request.headers.get("hx-request") == "true":
            response = Response(status_code=204, headers={"HX-Redirect": target})
        if request.cookies.get(COOKIE):
            clear_cookie(request, response, COOKIE)
        return response
    page.session, page.user = session, user
    if not user.may(route.access):
        return forbidden(page, page.t("error.roles", roles=_roles(page, route.access)))
    if route.method == "POST" and not session.accepts(page.form.get("csrf")):
        return forbidden(page, page.t("error.csrf"))
    try:
        return _handle(route.handler, page)
    except LeaseError as error:
        return refused(page, error)
    except Exception:
        log.exception("the back office's page %s %s failed", request.method, request.url.path)
        detail = page.t("error.unexpected_detail")
        return page.render("admin/error.html", 500, title=page.t("error.unexpected"), detail=detail)


def _handle(handler: Handler, page: Page) -> Response:
    """A page that only reads asks all its questions over one connection."""
    if page.request.method != "GET":
        return handler(page)
    with page.views.reading():
        return handler(page)


def forbidden(page: Page, detail: str) -> Response:
    return page.render("admin/error.html", 403, title=page.t("error.forbidden"), detail=detail)


def refused(page: Page, error: LeaseError) -> Response:
    """The domain's refusal as a page: 404 for an unknown id, else the API's status with the server's message."""
    problem = problem_for(error)
    if isinstance(error, NotFound) or problem is None or problem.status == 404:
        return page.render(
            "admin/error.html", 404, title=page.t("error.not_found"), detail=page.t("error.not_found_detail")
        )
    return page.render("admin/error.html", problem.status, title=page.t("error.refused"), detail=problem.detail)


def _here(request: Request) -> str:
    """The page to come back to after logging in (the back office's home after a POST)."""
    if request.method != "GET":
        return str(request.scope.get("root_path", "")) + "/"
    return f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path


def _roles(page: Page, access: Access) -> str:
    return page.role_names(frozenset(access.roles))

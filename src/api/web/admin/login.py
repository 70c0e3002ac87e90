"""Logging in and out of the back office: the API's staff accounts, passwords and lockout (`StaffPasswords`), a fresh
server-side session at every login, and logout that deletes it."""

from __future__ import annotations

import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.http.auth import staff_account_or_none
from api.http.errors import ApiError
from api.http.guard import client_address
from api.web.admin.console import Console, Page, forbidden, language, remember_language
from api.web.pages import read_form, safe_next
from api.web.sessions import COOKIE, LOGIN_CSRF_COOKIE, clear_cookie, set_cookie


async def login_form(request: Request) -> Response:
    """The login page; someone already logged in goes on to where they were going."""
    console: Console = request.app.state.console
    page = Page(request, console, language(request))
    target = safe_next(request.query_params.get("next"), page.base)
    session = await run_in_threadpool(console.sessions.find, request.cookies.get(COOKIE))
    if session is not None and await run_in_threadpool(console.user, session) is not None:
        return RedirectResponse(target, status_code=303)
    notice = {"logged_out": "login.logged_out"}.get(request.query_params.get("done", ""))
    return _form(page, target, 200, notice=page.t(notice) if notice else None)


async def log_in(request: Request) -> Response:
    """Username and password as the API's staff login checks them (the same lockout after repeated failures); the
    login form carries a token matching its own cookie, so another site cannot log someone in."""
    console: Console = request.app.state.console
    page = Page(request, console, language(request))
    form = await read_form(request)
    target = safe_next(form.get("next"), page.base)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), form.get("csrf", "").encode()):
        return forbidden(page, page.t("error.csrf"))
    username, password = form.get("username", "").strip(), form.get("password", "")
    try:
        account = await run_in_threadpool(staff_account_or_none, console.service.app.staff_account, username)
        address = client_address(request.scope, console.service.settings.trusted_proxies)
        await run_in_threadpool(console.service.passwords.check, account, username, password, address)
    except ApiError as error:
        if error.status == 429:
            minutes = int(error.headers.get("Retry-After", "900")) // 60
            return _form(page, target, 429, error=page.t("login.locked", minutes=minutes), username=username)
        return _form(page, target, 401, error=page.t("login.failed"), username=username)
    assert account is not None
    await run_in_threadpool(console.sessions.end, request.cookies.get(COOKIE))
    session_id, _ = await run_in_threadpool(console.sessions.open, account.username)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, COOKIE, session_id, int(console.sessions.ttl.total_seconds()))
    clear_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


async def log_out(request: Request) -> Response:
    """Ends the session on the server (its cookie opens nothing any more, on any process) and forgets the cookie."""
    console: Console = request.app.state.console
    page = Page(request, console, language(request))
    session_id = request.cookies.get(COOKIE)
    session = await run_in_threadpool(console.sessions.find, session_id)
    form = await read_form(request)
    if session is not None and not session.accepts(form.get("csrf")):
        return forbidden(page, page.t("error.csrf"))
    await run_in_threadpool(console.sessions.end, session_id)
    response = RedirectResponse(f"{page.base}/login?done=logged_out", status_code=303)
    clear_cookie(request, response, COOKIE)
    return response


def _form(page: Page, target: str, status: int, **context: object) -> Response:
    token = page.request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    context = {"error": None, "notice": None, "username": "", **context}
    response = page.render("admin/login.html", status, next=target, login_csrf=token, **context)
    set_cookie(page.request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return remember_language(page.request, response)


routes = [
    Route("/login", login_form, methods=["GET"], name="login"),
    Route("/login", log_in, methods=["POST"], name="log_in"),
    Route("/logout", log_out, methods=["POST"], name="log_out"),
]

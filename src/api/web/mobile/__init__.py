"""The customer's app at `/m/`: a mobile web page (H5) for the whole lease, as the operator's app, Alipay's or
WeChat's web view shows it. One module per part of the customer's path, each a `Pages`; `MODULES` are served, in
order. The pages call the same commands and queries as the API, and go out gzipped: a phone on a weak network
loads a page and its files in well under 300 KB."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.web.mobile import (
    account,
    auto_debit,
    bills,
    catalog,
    checkout,
    identity,
    orders,
    payments,
    rules,
    support,
    term_end,
    words,
)
from api.web.mobile.frame import TTL, MobilePage, Shop, error_page, language
from api.web.pages import STATIC, SecurityHeaders
from api.web.sessions import WebSessions
from leasecore.clock import SystemClock

if TYPE_CHECKING:
    from api.bootstrap import Service
    from leasecore.ports import Clock

MODULES: tuple[ModuleType, ...] = (
    catalog,
    account,
    rules,
    checkout,
    orders,
    payments,
    identity,
    bills,
    term_end,
    support,
    auto_debit,
)
"""Each has `pages`; those built so far."""

assert words.WORDS  # the frame's words are added on import


def mobile_app(service: Service, *, clock: Clock | None = None, modules: Sequence[ModuleType] = MODULES) -> Starlette:
    """The customer's app over a wired service; its sessions expire by `clock` (the system's, as tokens do)."""
    shop = Shop(service, WebSessions(service.store, clock or SystemClock(), TTL), [])
    for module in modules:
        shop.pages.extend(module.pages.items)
    app = Starlette(
        routes=[
            *shop.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders), Middleware(GZipMiddleware, minimum_size=1024)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.shop = shop
    return app


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    page = MobilePage(request, request.app.state.shop, language(request))
    if error.status_code == 404:
        return error_page(page, 404, page.t("m.error.not_found"), page.t("m.error.not_found_detail"))
    return error_page(page, error.status_code, page.t("m.error.refused"), str(error.detail))

"""The back office at `/admin/`: one module per screen, each a `Screen` (its nav entry, roles and pages); `SCREENS`
is the navigation, in order. To add a screen, write its module and name it here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.web import assets
from api.web.admin import (
    audit,
    collections,
    configuration,
    customers,
    dashboard,
    finance,
    login,
    orders,
    review,
    shipping,
    staff,
    stock,
    support,
)
from api.web.admin.console import Console, Page, Screen, language
from api.web.pages import STATIC, SecurityHeaders
from api.web.sessions import WebSessions
from leasecore.clock import SystemClock

if TYPE_CHECKING:
    from api.bootstrap import Service
    from leasecore.ports import Clock

log = logging.getLogger(__name__)

SCREENS: tuple[Screen, ...] = (
    dashboard.screen,
    orders.screen,
    review.screen,
    shipping.screen,
    stock.screen,
    configuration.screen,
    collections.screen,
    finance.screen,
    customers.screen,
    support.screen,
    audit.screen,
    staff.screen,
)
"""Built so far, in the navigation's order: Dashboard, Orders, then Review, Shipping & returns, Stock & catalog,
Configuration, Overdue & collections, Finance, Customers, Audit, Staff as they are built."""


def admin_app(service: Service, *, clock: Clock | None = None, screens: Sequence[Screen] = SCREENS) -> Starlette:
    """The back office over a wired service with its screens; its sessions expire by `clock` (the system's, as
    staff tokens do)."""
    console = Console(service, WebSessions(service.store, clock or SystemClock()), screens)
    assets.htmx()
    app = Starlette(
        routes=[
            *login.routes,
            *console.routes(),
            Route("/assets/htmx.min.js", assets.htmx_file, methods=["GET"], name="htmx"),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.console = console
    return app


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    page = Page(request, request.app.state.console, language(request))
    if error.status_code == 404:
        title, detail = page.t("error.not_found"), page.t("error.not_found_detail")
    else:
        title, detail = page.t("error.refused"), str(error.detail)
    return page.render("admin/error.html", error.status_code, title=title, detail=detail)

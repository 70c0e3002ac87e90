"""The routes list: every endpoint of every resource (the sandbox's only in sandbox mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.http.endpoint import Endpoint, asgi
from api.http.endpoints import (
    admin_catalog,
    admin_conversations,
    admin_customers,
    admin_jobs,
    admin_orders,
    admin_reconciliation,
    admin_reports,
    admin_staff,
    auth,
    auto_debit,
    catalog,
    conversations,
    esign,
    logistics,
    me,
    orders,
    payments,
    sandbox,
    sandbox_agreements,
    system,
)
from api.http.openapi import assets, document

RESOURCES = (
    system,
    auth,
    me,
    catalog,
    orders,
    payments,
    esign,
    admin_catalog,
    admin_orders,
    admin_customers,
    admin_reports,
    admin_jobs,
    conversations,
    admin_conversations,
    admin_staff,
    admin_reconciliation,
    sandbox,
    logistics,
    auto_debit,
    sandbox_agreements,
)


def endpoints(*, sandbox: bool) -> list[Endpoint]:
    """Every endpoint served in that mode."""
    return [item for module in RESOURCES for item in module.endpoints.items if sandbox or not item.sandbox]


@cache
def spec(*, sandbox: bool) -> dict[str, Any]:
    """The OpenAPI document of what is served in that mode."""
    return document(endpoints(sandbox=sandbox), sandbox=sandbox)


def routes(*, sandbox: bool) -> list[BaseRoute]:
    """One route per path serving each of its methods, and the files of `/docs`. One route per path, not per
    endpoint, so that a method the path does not serve is answered 405 with an `Allow` naming every method it does
    (Starlette answers from the first route whose path matches, which would name that route's method alone)."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for item in endpoints(sandbox=sandbox):
        by_path.setdefault(item.path, {})[item.method] = item
    return [*(_path_route(path, served) for path, served in by_path.items()), assets()]


def _path_route(path: str, served: dict[str, Endpoint]) -> Route:
    handlers = {method: asgi(item) for method, item in served.items()}
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]

    async def respond(request: Request) -> Response:
        handler: Callable[[Request], Awaitable[Response]] = handlers[request.method]
        return await handler(request)

    respond.__name__ = "_".join(item.name for item in served.values())
    return Route(path, respond, methods=list(served), name=respond.__name__)

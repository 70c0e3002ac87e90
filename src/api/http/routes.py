"""The routes list: every endpoint of every resource (the sandbox's only in sandbox mode)."""

from __future__ import annotations

from functools import cache
from typing import Any

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
    """Every endpoint's route, and the files of `/docs`."""
    served = endpoints(sandbox=sandbox)
    return [*(Route(item.path, asgi(item), methods=[item.method], name=item.name) for item in served), assets()]

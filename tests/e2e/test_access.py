"""Every route walked with no token, a customer token and a token of each staff role: each back-office route
admits exactly the roles of this table, customer routes only customers, public routes anyone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest

from api.http.endpoint import Endpoint
from api.http.routes import endpoints
from leasecore.staff import Role
from tests.e2e.support import Api, Customer, running

OPERATOR, RISK, FINANCE, ADMIN = Role.OPERATOR, Role.RISK, Role.FINANCE, Role.ADMIN

STAFF_ROUTES: dict[tuple[str, str], set[Role]] = {
    ("POST", "/v1/admin/categories"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/products"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/products/{id}/skus"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/products/{id}/plans"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/skus/{id}/units"): {OPERATOR, ADMIN},
    ("GET", "/v1/admin/skus/{id}/units"): {OPERATOR, ADMIN},
    ("GET", "/v1/admin/customers"): {OPERATOR, RISK, FINANCE, ADMIN},
    ("GET", "/v1/admin/customers/{id}"): {OPERATOR, RISK, FINANCE, ADMIN},
    ("POST", "/v1/admin/customers/{id}/erase"): {ADMIN},
    ("GET", "/v1/admin/reviews"): {RISK},
    ("POST", "/v1/admin/orders/{id}/approve"): {RISK},
    ("POST", "/v1/admin/orders/{id}/reject"): {RISK},
    ("POST", "/v1/admin/orders/{id}/ship"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/orders/{id}/returned"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/orders/{id}/inspection"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/orders/{id}/adjustments"): {FINANCE, ADMIN},
    ("POST", "/v1/admin/orders/{id}/calls"): {FINANCE, OPERATOR, ADMIN},
    ("POST", "/v1/admin/orders/{id}/reminders"): {FINANCE, OPERATOR, ADMIN},
    ("GET", "/v1/admin/orders"): {OPERATOR, RISK, FINANCE, ADMIN},
    ("GET", "/v1/admin/orders/{id}"): {OPERATOR, RISK, FINANCE, ADMIN},
    ("GET", "/v1/admin/orders/{id}/auto-debit"): {OPERATOR, RISK, FINANCE, ADMIN},
    ("GET", "/v1/admin/overdue"): {FINANCE, OPERATOR, ADMIN},
    ("GET", "/v1/admin/collections"): {FINANCE, OPERATOR, ADMIN},
    ("GET", "/v1/admin/credit-lines"): {RISK, FINANCE, ADMIN},
    ("GET", "/v1/admin/reports/finance"): {FINANCE, ADMIN},
    ("GET", "/v1/admin/refunds"): {FINANCE, ADMIN},
    ("GET", "/v1/admin/reconciliation"): {FINANCE, ADMIN},
    ("POST", "/v1/admin/refunds/{refund_id}/retry"): {FINANCE, ADMIN},
    ("GET", "/v1/admin/audit/{id}"): {ADMIN, FINANCE},
    ("POST", "/v1/admin/jobs/daily"): {ADMIN},
    ("GET", "/v1/admin/jobs"): {OPERATOR, FINANCE, ADMIN},
    ("GET", "/v1/admin/messages"): {OPERATOR, FINANCE, ADMIN},
    ("POST", "/v1/admin/messages/{id}/resend"): {OPERATOR, FINANCE, ADMIN},
    ("GET", "/v1/admin/config/{name}"): {ADMIN, RISK, FINANCE},
    ("PUT", "/v1/admin/config/{name}"): {ADMIN},
    ("GET", "/v1/admin/conversations"): {OPERATOR, ADMIN},
    ("GET", "/v1/admin/conversations/{id}"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/conversations/{id}/messages"): {OPERATOR, ADMIN},
    ("POST", "/v1/admin/conversations/{id}/close"): {OPERATOR, ADMIN},
    ("GET", "/v1/admin/staff"): {ADMIN},
    ("POST", "/v1/admin/staff/{username}/disable"): {ADMIN},
    ("POST", "/v1/admin/staff/{username}/enable"): {ADMIN},
    ("POST", "/v1/admin/staff/{username}/unlock"): {ADMIN},
    ("POST", "/v1/admin/logout"): {OPERATOR, RISK, FINANCE, ADMIN},
}
CUSTOMER_ELSEWHERE = {("POST", "/v1/auth/logout")}
"""Customer routes outside the customer's own prefixes."""
PUBLIC_ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/v1/auth/otp"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/admin/login"),
    ("GET", "/v1/catalog/categories"),
    ("GET", "/v1/catalog/products"),
    ("GET", "/v1/catalog/products/{id}"),
    ("POST", "/v1/payments/notify/{provider}"),
    ("POST", "/v1/logistics/notify/{provider}"),
    ("POST", "/v1/esign/notify/{provider}"),
    ("GET", "/v1/payment-methods"),
}


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


@pytest.fixture(scope="module")
def customer(api: Api) -> Customer:
    return api.customer(verified=False, score=None)


def path_of(route: Endpoint) -> str:
    values = {"name": "billing", "provider": "sandbox"}
    return route.path.format(**{name: values.get(name, str(uuid4())) for name in route.parameters})


def status(api: Api, route: Endpoint, headers: dict[str, str]) -> int:
    response = api.http.request(
        route.method, path_of(route), headers=headers, json={} if route.method != "GET" else None
    )
    assert response.status_code < 500, f"{route.method} {route.path}: {response.status_code} {response.text}"
    if response.status_code in (401, 403):
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


def test_the_table_names_every_route() -> None:
    served = {(route.method, route.path) for route in endpoints(sandbox=True)}
    customer = {key for key in served if key[1].startswith(("/v1/me", "/v1/orders", "/v1/quotes", "/v1/conversations"))}
    customer |= CUSTOMER_ELSEWHERE
    sandbox = {key for key in served if key[1].startswith("/v1/sandbox/")}
    assert served == set(STAFF_ROUTES) | PUBLIC_ROUTES | customer | sandbox
    for route in endpoints(sandbox=True):
        key = (route.method, route.path)
        expected = "staff" if key in STAFF_ROUTES else "customer" if key in customer else "public"
        assert route.access.kind == expected, key
        if key in STAFF_ROUTES:
            assert route.access.roles == STAFF_ROUTES[key], key


@pytest.mark.parametrize("route", endpoints(sandbox=True), ids=lambda route: f"{route.method} {route.path}")
def test_every_route_with_every_role(api: Api, customer: Customer, route: Endpoint) -> None:
    key = (route.method, route.path)
    anonymous = status(api, route, {})
    token, _ = api.service.tokens.for_customer(customer.customer_id)
    as_customer = status(api, route, {"Authorization": f"Bearer {token}"})
    by_role = {role: status(api, route, api.staff(role)) for role in Role}
    if key in STAFF_ROUTES:
        assert anonymous == 401
        assert as_customer == 403
        assert {role for role, code in by_role.items() if code != 403} == STAFF_ROUTES[key]
        assert all(code != 401 for code in by_role.values())
    elif route.access.kind == "customer":
        assert anonymous == 401
        assert as_customer not in (401, 403)
        assert set(by_role.values()) == {403}
    else:
        assert 401 not in (anonymous, as_customer, *by_role.values()) or key == ("POST", "/v1/auth/login")
        assert 403 not in (anonymous, as_customer, *by_role.values())


def test_expired_forged_and_malformed_tokens_are_401(api: Api, customer: Customer) -> None:
    token = customer.headers["Authorization"].removeprefix("Bearer ")
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[::-1]}"
    for headers in (
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer"},
    ):
        problem = api.get("/v1/me/credit-line", 401, headers=headers)
        assert problem["type"] == "/problems/unauthorized"
    staff_token, _ = api.service.tokens.for_staff("someone", (Role.ADMIN,))
    assert api.real_time is not None
    api.real_time.advance(timedelta(hours=8, seconds=1))
    expired = api.get("/v1/admin/orders", 401, headers={"Authorization": f"Bearer {staff_token}"})
    assert "expired" in expired["detail"]
    api.real_time.advance(timedelta(hours=4))
    assert "expired" in api.get("/v1/me/credit-line", 401, who=customer)["detail"]
    api.relog()
    api.get("/v1/me/credit-line", who=customer)

"""Provider notifications are verified before anything is recorded and recorded once; every refund goes back
through the provider exactly once, retried when the provider fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from adapters.errors import ProviderError
from adapters.payments.sandbox import SandboxPayments
from leasecore.ports import RefundReceipt
from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, running


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world()


@pytest.fixture
def who(api: Api, world: World) -> Customer:
    return api.customer()


def sandbox(api: Api) -> SandboxPayments:
    assert api.service.sandboxes is not None
    return api.service.sandboxes.payments


def notify(api: Api, body: bytes, headers: dict[str, str], provider: str = "sandbox") -> Any:
    return api.http.post(f"/v1/payments/notify/{provider}", content=body, headers=headers)


def test_a_tampered_or_unsigned_notification_is_400_and_records_nothing(api: Api, world: World, who: Customer) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
    body, headers = sandbox(api).notification(payment["payment_id"], "success")
    params = dict(parse_qsl(body.decode()))
    assert params["total_amount"] == "700.00" and params["sign"]

    tampered = urlencode({**params, "total_amount": "7.00", "receipt_amount": "7.00"}).encode()
    unsigned = urlencode({k: v for k, v in params.items() if k not in ("sign", "sign_type")}).encode()
    for forged in (tampered, unsigned, b"", b"not a form"):
        response = notify(api, forged, headers)
        assert response.status_code == 400 and response.json()["type"] == "/problems/invalid-signature"
    assert notify(api, body, headers, provider="alipay").status_code == 404
    payments = api.get(f"/v1/orders/{order['id']}/payments", who=who)
    assert [p["status"] for p in payments] == ["pending"]
    assert api.order(who, order["id"])["status"] == "pending_payment"

    for _ in range(3):
        response = notify(api, body, headers)
        assert (response.status_code, response.text) == (200, "success")
        assert response.headers["content-type"].startswith("text/plain")
    assert api.order(who, order["id"])["status"] == "pending_contract"
    audit = api.get(f"/v1/admin/audit/{payment['payment_id']}", who=api.staff(Role.ADMIN))
    assert [e["type"] for e in audit["events"]] == ["Payment.Requested", "Payment.Succeeded"]
    lease = api.get(f"/v1/admin/audit/{order['id']}", who=api.staff(Role.ADMIN))
    assert [e["type"] for e in lease["events"]].count("Lease.CheckoutPaid") == 1


def test_a_failed_payment_changes_nothing_and_a_second_outcome_is_refused(
    api: Api, world: World, who: Customer
) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    failed = api.pay(who, order["id"], "checkout", outcome="fail")
    assert api.order(who, order["id"])["status"] == "pending_payment"
    conflict = api.post(f"/v1/sandbox/payments/{failed['payment_id']}/complete", 409, json={"outcome": "success"})
    assert conflict["type"] == "/problems/refused"
    api.pay(who, order["id"], "checkout")
    assert api.order(who, order["id"])["status"] == "pending_contract"


def test_refunds_go_back_through_the_provider_exactly_once(api: Api, world: World, who: Customer) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    checkout = api.pay(who, order["id"], "checkout")
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    first = api.refunds(order["id"])
    assert {r["state"] for r in first} == {"accepted"}
    assert sandbox(api).payment(checkout["payment_id"]).refunded == D("700.00")

    assert api.service.refunds.dispatch() == 0
    api.service.platform.runner.rebuild(["refunds"])
    assert api.service.refunds.dispatch() == 0
    assert api.refunds(order["id"]) == first  # the same refund ids, the outcomes kept apart from the rebuild
    assert sandbox(api).payment(checkout["payment_id"]).refunded == D("700.00")


class Flaky:
    """A provider that fails the first refund it is asked for."""

    def __init__(self, real: SandboxPayments) -> None:
        self.real, self.failures, self.provider = real, 1, real.provider

    def refund(self, payment_id: str, refund_id: str, amount: D) -> RefundReceipt:
        if self.failures:
            self.failures -= 1
            raise ProviderError("the provider is down")
        return self.real.refund(payment_id, refund_id, amount)


def test_a_refund_the_provider_failed_is_retried(api: Api, world: World, who: Customer) -> None:
    order = api.place(who, api.order_body(world.sku_id, deposit_mode="full"))
    checkout = api.pay(who, order["id"], "checkout")
    api.service.refunds.gateways = {"sandbox": Flaky(sandbox(api))}  # type: ignore[dict-item]
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    states = sorted((r["amount"], r["state"], r["detail"]) for r in api.refunds(order["id"]))
    assert states == [("200.00", "accepted", None), ("3000.00", "failed", "the provider is down")] or states == [
        ("200.00", "failed", "the provider is down"),
        ("3000.00", "accepted", None),
    ]
    api.service.refunds.stop()
    api.service.refunds.retry_after = timedelta(0)
    assert api.service.refunds.dispatch() == 1
    assert {r["state"] for r in api.refunds(order["id"])} == {"accepted"}
    assert sandbox(api).payment(checkout["payment_id"]).refunded == D("3200.00")


def test_money_that_arrives_after_cancelling_goes_back_to_the_payment_it_came_from(
    api: Api, world: World, who: Customer
) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    assert api.refunds(order["id"]) == []
    api.post(f"/v1/sandbox/payments/{payment['payment_id']}/complete", json={"outcome": "success"})
    refunds = api.refunds(order["id"])
    assert [(r["amount"], r["reason"], r["state"], r["payment_id"]) for r in refunds] == [
        ("700.00", "stray payment refunded", "accepted", payment["payment_id"])
    ]

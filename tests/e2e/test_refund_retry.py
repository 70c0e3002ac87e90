"""Sending a failed refund again at once (the finance screen's retry): only a failed refund goes again, under its
own refund id, so the provider refunds it once however often it is asked."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

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


class Down:
    """The sandbox provider, failing every refund while `down`."""

    def __init__(self, real: SandboxPayments) -> None:
        self.real, self.down, self.provider, self.calls = real, True, real.provider, 0

    def refund(self, payment_id: str, refund_id: str, amount: D) -> RefundReceipt:
        self.calls += 1
        if self.down:
            raise ProviderError("the provider is down")
        return self.real.refund(payment_id, refund_id, amount)


def test_a_failed_refund_is_sent_again_at_once_and_only_a_failed_one(api: Api, world: World) -> None:
    who: Customer = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    checkout = api.pay(who, order["id"], "checkout")
    assert api.service.sandboxes is not None
    real = api.service.sandboxes.payments
    down = Down(real)
    api.service.refunds.gateways = {"sandbox": down}  # type: ignore[dict-item]
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    refunds = api.refunds(order["id"])
    assert {(r["state"], r["detail"]) for r in refunds} == {("failed", "the provider is down")}
    one, other = refunds[0]["refund_id"], refunds[1]["refund_id"]

    def states() -> dict[str, str]:
        return {r["refund_id"]: r["state"] for r in api.refunds(order["id"])}

    assert api.service.refunds.retry("no-such-refund") is False
    assert api.service.refunds.retry(one) is True
    assert states() == {one: "failed", other: "failed"}
    down.down = False
    assert api.service.refunds.retry(one) is True
    assert states() == {one: "accepted", other: "failed"}
    calls = down.calls
    assert api.service.refunds.retry(one) is False
    assert down.calls == calls
    assert real.payment(checkout["payment_id"]).refunded == D(refunds[0]["amount"])


def test_finance_retries_a_failed_refund_over_http(api: Api, world: World) -> None:
    who: Customer = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    api.pay(who, order["id"], "checkout")
    assert api.service.sandboxes is not None
    down = Down(api.service.sandboxes.payments)
    api.service.refunds.gateways = {"sandbox": down}  # type: ignore[dict-item]
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    one = api.refunds(order["id"])[0]
    route = "/v1/admin/refunds/{}/retry"
    finance = api.staff(Role.FINANCE)

    assert api.post(route.format("rf-no-such-refund"), 404, who=finance)["type"] == "/problems/not-found"
    assert api.post(route.format(one["refund_id"]), who=finance)["state"] == "failed"
    down.down = False
    answer = api.post(route.format(one["refund_id"]), who=finance)
    assert (answer["refund_id"], answer["state"], answer["amount"]) == (one["refund_id"], "accepted", one["amount"])
    problem = api.post(route.format(one["refund_id"]), 409, who=finance)
    assert problem["state"] == "accepted"

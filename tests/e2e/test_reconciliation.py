"""The day's bill of the sandbox provider set against what the service recorded, as finance asks for it at
`GET /v1/admin/reconciliation?date=`: a bill that shows what was recorded agrees; a line the provider added, or a
payment whose notification was lost, is listed, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from adapters.payments.sandbox import SandboxPayments
from api.cli import DEMO_PASSWORD, demo_accounts
from leasecore.ports import BillLine, RecordKind
from leasecore.staff import Role
from tests.e2e.support import START, Api, Customer, TestClient, World, running

DAY = "2026-01-31"
NEXT_MORNING = START + timedelta(days=1, hours=1)  # 11:00 on 1 February in Shanghai


@pytest.fixture(params=["memory", "sqlite"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    url = "memory:" if request.param == "memory" else request.getfixturevalue("sqlite_url")
    with running(url) as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world()


@pytest.fixture
def sandbox(api: Api) -> SandboxPayments:
    assert api.service.sandboxes is not None
    return api.service.sandboxes.payments


class WithStrayLine:
    """The sandbox's bill with one more line: money the provider took that the service never heard of."""

    provider = "sandbox"

    def __init__(self, real: SandboxPayments, line: BillLine) -> None:
        self.real, self.line = real, line

    def daily_bill(self, day: date) -> list[BillLine]:
        return [*self.real.daily_bill(day), self.line]


def paid_and_refunded(api: Api, world: World) -> dict[str, str]:
    """An order paid at checkout, then cancelled: its checkout refunded through the provider."""
    who: Customer = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    payment = api.pay(who, order["id"], "checkout")
    api.post(f"/v1/orders/{order['id']}/cancel", who=who)
    refunds = api.refunds(order["id"])
    assert refunds and {refund["state"] for refund in refunds} == {"accepted"}
    return payment


def reconciliation(api: Api, **params: str) -> dict:
    answer: dict = api.get("/v1/admin/reconciliation", who=api.staff(Role.FINANCE), params={"date": DAY, **params})
    return answer


def test_a_bill_that_shows_every_payment_and_refund_agrees(api: Api, world: World) -> None:
    paid_and_refunded(api, world)
    api.move_clock(NEXT_MORNING)
    answer = reconciliation(api)
    assert answer["differences"] == []
    assert [(run["provider"], run["state"], run["differences"]) for run in answer["runs"]] == [("sandbox", "done", 0)]
    assert answer["runs"][0]["compared"] >= 2


def test_money_the_provider_took_that_was_never_recorded_is_listed_and_nothing_else(
    api: Api, world: World, sandbox: SandboxPayments
) -> None:
    paid_and_refunded(api, world)
    stray = BillLine(RecordKind.PAYMENT, "f00dbabe-0000-4000-8000-000000000001", D("88.00"), "2026013122009999")
    assert api.service.reconciler is not None
    api.service.reconciler.sources = {"sandbox": WithStrayLine(sandbox, stray)}
    api.move_clock(NEXT_MORNING)

    answer = reconciliation(api, provider="sandbox")

    assert answer["differences"] == [
        {
            "provider": "sandbox",
            "kind": "missing_on_platform",
            "record_kind": "payment",
            "reference": stray.reference,
            "provider_reference": "2026013122009999",
            "platform_amount": None,
            "provider_amount": "88.00",
            "platform_status": None,
        }
    ]
    assert reconciliation(api) == answer


def test_a_payment_whose_notification_was_lost_differs_in_status(
    api: Api, world: World, sandbox: SandboxPayments
) -> None:
    who: Customer = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
    sandbox.settle_unnotified(payment["payment_id"], "success")
    api.move_clock(NEXT_MORNING)

    differences = reconciliation(api)["differences"]

    assert [(d["kind"], d["reference"], d["platform_status"], d["provider_amount"]) for d in differences] == [
        ("status_differs", payment["payment_id"], "pending", payment["amount"])
    ]


def test_the_finance_screen_shows_the_latest_differences(api: Api, world: World, sandbox: SandboxPayments) -> None:
    paid_and_refunded(api, world)
    stray = BillLine(RecordKind.PAYMENT, "f00dbabe-0000-4000-8000-000000000002", D("66.00"), "2026013122008888")
    assert api.service.reconciler is not None
    api.service.reconciler.sources = {"sandbox": WithStrayLine(sandbox, stray)}
    api.move_clock(NEXT_MORNING)
    demo_accounts(api.service.app)
    api.service.written()
    http = signed_in(api)
    assert "没有对账差异" in http.get("/admin/finance").text
    reconciliation(api)

    screen = http.get("/admin/finance").text

    assert re.findall(r'data-difference="(\w+)" data-reference="([^"]+)"', screen) == [
        ("missing_on_platform", stray.reference)
    ]
    assert "渠道已收款，平台无记录" in screen and "¥66.00" in screen


def signed_in(api: Api) -> TestClient:
    form = api.http.get("/admin/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    fields = {"csrf": token.group(1), "username": "finance", "password": DEMO_PASSWORD, "next": "/admin/"}
    assert api.http.post("/admin/login", data=fields, follow_redirects=False).status_code == 303
    return api.http


def test_a_day_not_over_or_not_a_date_is_refused_naming_the_field(api: Api) -> None:
    finance = api.staff(Role.FINANCE)
    for value in ("31/01/2026", "2026-02-30", "0001-01-01", DAY):
        problem = api.get("/v1/admin/reconciliation", 422, who=finance, params={"date": value})
        assert [error["field"] for error in problem["errors"]] == ["date"]
    api.move_clock(NEXT_MORNING)
    problem = api.get("/v1/admin/reconciliation", 422, who=finance, params={"date": DAY, "provider": "paypal"})
    assert [error["field"] for error in problem["errors"]] == ["provider"]


def test_only_finance_and_admin_see_the_reconciliation(api: Api, world: World) -> None:
    api.move_clock(NEXT_MORNING)
    customer: Customer = api.customer()
    api.get("/v1/admin/reconciliation", 403, who=customer, params={"date": DAY})
    api.get("/v1/admin/reconciliation", 403, who=api.staff(Role.OPERATOR, Role.RISK), params={"date": DAY})
    api.get("/v1/admin/reconciliation", 200, who=api.staff(Role.ADMIN), params={"date": DAY})



class WithoutUnfreezes:
    """The sandbox's bill with its unfreeze lines lost: the provider never released what the platform says."""

    provider = "sandbox"

    def __init__(self, real: SandboxPayments) -> None:
        self.real = real

    def daily_bill(self, day: date) -> list[BillLine]:
        return [line for line in self.real.daily_bill(day) if line.kind is not RecordKind.UNFREEZE]


def frozen_and_unfrozen(api: Api, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pre-authorized order whose deposit the sandbox froze (part on credit), then cancelled: all of it unfrozen."""
    who: Customer = api.customer(score=650)
    start = date(2026, 1, 31)
    plan = {"kind": "short", "start": start.isoformat(), "end": (start + timedelta(days=4)).isoformat()}
    order = api.place(who, api.order_body(world.sku_id, plan, deposit_mode="preauth"))
    freeze = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "preauth"})
    api.post(f"/v1/sandbox/freezes/{freeze['out_request_no']}/complete", json={"credit_amount": "300.00"})
    api.post(f"/v1/orders/{order['id']}/cancel", who=who, json={})
    api.service.written()  # the runner wakes the dispatcher once the read models show the cancel
    assert api.service.freezes is not None and api.service.freezes.dispatch() == 1
    api.service.written()
    return order, freeze


def test_a_freeze_and_its_unfreeze_on_the_bill_agree_with_the_records(api: Api, world: World) -> None:
    frozen_and_unfrozen(api, world)
    api.move_clock(NEXT_MORNING)

    answer = reconciliation(api)

    assert answer["differences"] == []
    assert [(run["state"], run["compared"]) for run in answer["runs"]] == [("done", 2)]


def test_an_unfreeze_missing_from_the_bill_is_missing_at_the_provider(
    api: Api, world: World, sandbox: SandboxPayments
) -> None:
    _, freeze = frozen_and_unfrozen(api, world)
    assert api.service.reconciler is not None
    api.service.reconciler.sources = {"sandbox": WithoutUnfreezes(sandbox)}
    api.move_clock(NEXT_MORNING)

    differences = reconciliation(api)["differences"]

    fund = D(freeze["amount"]) - D("300.00")
    assert [
        (d["kind"], d["record_kind"], d["platform_amount"], d["provider_amount"], d["platform_status"])
        for d in differences
    ] == [("missing_at_provider", "unfreeze", str(fund), None, "moved")]

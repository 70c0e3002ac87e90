"""Deposit pre-authorization over HTTP in sandbox mode: the freeze asked and notified (part of it waived on the
provider's credit), the order going on once its first rent is paid too, damage taken from the freeze at settlement
and the rest unfrozen, a cancel unfreezing everything; duplicate notifications and repeated dispatches change
nothing, and a crash between the provider's answer and its event is recovered exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest

from adapters.payments.sandbox import SandboxPayments
from leasecore.money.deposit import Deposit
from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, figures, running


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    url = "memory:" if request.param == "memory" else request.getfixturevalue(f"{request.param}_url")
    with running(url) as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world()


@pytest.fixture
def who(api: Api, world: World) -> Customer:
    return api.customer(score=650)


def sandbox(api: Api) -> SandboxPayments:
    assert api.service.sandboxes is not None
    return api.service.sandboxes.payments


def dispatch(api: Api) -> int:
    """The dispatcher's round once the read models have applied what came before (the runner wakes it so)."""
    assert api.service.freezes is not None
    api.service.written()
    confirmed = api.service.freezes.dispatch()
    api.service.written()
    return confirmed


def frozen_order(api: Api, world: World, who: Customer, credit: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A short-term pre-authorized order (returnable at once) whose deposit the sandbox froze, `credit` of it
    waived on the provider's own credit."""
    start = date(2026, 1, 31)
    plan = {"kind": "short", "start": start.isoformat(), "end": (start + timedelta(days=4)).isoformat()}
    order = api.place(who, api.order_body(world.sku_id, plan, deposit_mode="preauth"))
    freeze = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "preauth"})
    done = api.post(f"/v1/sandbox/freezes/{freeze['out_request_no']}/complete", json={"credit_amount": credit})
    assert done["secured"] is True
    return order, freeze


def test_a_preauthorized_order_freezes_pays_rent_and_settles_damage_from_the_freeze(
    api: Api, world: World, who: Customer
) -> None:
    start = date(2026, 1, 31)
    plan = {"kind": "short", "start": start.isoformat(), "end": (start + timedelta(days=4)).isoformat()}
    body = api.order_body(world.sku_id, plan, deposit_mode="preauth")
    quote = api.post("/v1/quotes", who=who, json={k: v for k, v in body.items() if k != "address"})
    deposit, waiver, to_freeze = figures(quote, "deposit", "waiver", "to_freeze")
    assert to_freeze == deposit - waiver > 0 and figures(quote, "deposit_due") == (D("0.00"),)

    order = api.place(who, body)
    assert (order["deposit_mode"], order["deposit_due"], order["due_now"]) == (
        "preauth",
        "0.00",
        quote["due_now"],
    )
    refused = api.post(f"/v1/orders/{order['id']}/payments", 409, who=who, json={"purpose": "checkout"})
    assert "freeze the deposit first" in refused["detail"]

    freeze = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "preauth"})
    assert (freeze["amount"], freeze["payment_id"]) == (str(to_freeze), str(Deposit.create_id(UUID(order["id"]))))
    assert "alipay.fund.auth.order.app.freeze" in freeze["pay_params"]["order_string"]
    again = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "preauth"})
    assert again["out_request_no"] == freeze["out_request_no"]

    for _ in range(2):
        done = api.post(f"/v1/sandbox/freezes/{freeze['out_request_no']}/complete", json={"credit_amount": "500.00"})
    fund = to_freeze - D("500.00")
    assert figures(done, "fund_amount", "credit_amount") == (fund, D("500.00"))
    preauth = api.order(who, order["id"])["preauth"]
    assert figures(preauth, "frozen", "credit", "taken", "unfrozen", "still_frozen") == (
        fund,
        D("500.00"),
        D("0.00"),
        D("0.00"),
        fund,
    )

    api.pay(who, order["id"], "checkout")
    assert api.order(who, order["id"])["status"] == "pending_contract"
    api.post(f"/v1/orders/{order['id']}/contract/sign", who=who)
    operator = api.staff(Role.OPERATOR)
    serial = api.free_serial(world.sku_id)
    ship = {"unit_serial": serial, "carrier": "SF Express", "tracking_no": "SF-OUT-1"}
    api.post(f"/v1/admin/orders/{order['id']}/ship", who=operator, json=ship)
    api.post(f"/v1/orders/{order['id']}/receipt", who=who)
    back = {"choice": "return", "tracking_no": "SF-BACK-1"}
    api.post(f"/v1/orders/{order['id']}/end-of-term", who=who, json=back)
    api.post(f"/v1/admin/orders/{order['id']}/returned", who=operator)
    settled = api.post(
        f"/v1/admin/orders/{order['id']}/inspection", who=operator, json={"damage_fee": "400.00", "notes": "dent"}
    )
    assert settled["status"] == "settled"
    assert figures(settled["settlement"], "damage_deducted", "deposit_paid") == (D("400.00"), D("0.00"))
    assert figures(settled["preauth"], "taken", "unfrozen", "still_frozen") == (D("400.00"), fund - 400, D("0.00"))

    report = api.get("/v1/admin/reports/finance", who=api.staff(Role.FINANCE))["totals"]
    assert figures(report, "deposits_frozen", "freezes_taken", "deposits_unfrozen", "deposits_received") == (
        fund,
        D("400.00"),
        fund - 400,
        D("0.00"),
    )
    money_in = figures(report, "payments_received", "deposits_deducted", "freezes_taken")
    booked = figures(report, "rent", "protection", "fees", "damage", "late_return", "buyouts", "credit", "stray")
    assert sum(money_in) == sum(booked)

    assert dispatch(api) == 2
    assert dispatch(api) == 0
    book = sandbox(api).freeze_book
    held = book.freezes[freeze["out_request_no"]]
    assert (held.taken, held.unfrozen, held.rest) == (D("400.00"), fund - 400, D("0.00"))
    assert [kind for kind, _ in book.calls] == ["take", "unfreeze"]


def test_cancel_unfreezes_everything_and_duplicate_notifications_change_nothing(
    api: Api, world: World, who: Customer
) -> None:
    order, freeze = frozen_order(api, world, who, credit="0.00")
    events = len(list(api.service.app.events.get(Deposit.create_id(UUID(order["id"])))))
    body, headers = sandbox(api).freeze(freeze["out_request_no"])
    for _ in range(2):
        answer = api.http.post("/v1/payments/notify/sandbox", content=body, headers=headers)
        assert (answer.status_code, answer.text) == (200, "success")
    assert len(list(api.service.app.events.get(Deposit.create_id(UUID(order["id"]))))) == events
    tampered = body.replace(b"amount=", b"amount=1", 1)
    assert api.http.post("/v1/payments/notify/sandbox", content=tampered, headers=headers).status_code == 400

    cancelled = api.post(f"/v1/orders/{order['id']}/cancel", who=who, json={})
    assert cancelled["status"] == "cancelled"
    frozen = D(freeze["amount"])
    assert figures(cancelled["preauth"], "frozen", "unfrozen", "still_frozen") == (frozen, frozen, D("0.00"))
    assert dispatch(api) == 1
    assert sandbox(api).freeze_book.freezes[freeze["out_request_no"]].rest == D("0.00")


def test_a_crash_between_the_provider_call_and_its_event_is_recovered_exactly_once(
    api: Api, world: World, who: Customer
) -> None:
    order, freeze = frozen_order(api, world, who, credit="300.00")
    api.post(f"/v1/orders/{order['id']}/cancel", who=who, json={})
    app = api.service.app
    confirm = app.confirm_freeze_operation

    def crash(*args: object) -> bool:
        raise RuntimeError("the process died before recording the provider's answer")

    app.confirm_freeze_operation = crash  # type: ignore[method-assign]
    assert dispatch(api) == 0
    app.confirm_freeze_operation = confirm  # type: ignore[method-assign]
    assert dispatch(api) == 1
    assert dispatch(api) == 0
    deposit_events = [type(e) for e in app.events.get(Deposit.create_id(UUID(order["id"])))]
    assert deposit_events.count(Deposit.Unfrozen) == 1
    book = sandbox(api).freeze_book
    assert [kind for kind, _ in book.calls] == ["unfreeze", "unfreeze"]
    held = book.freezes[freeze["out_request_no"]]
    assert (held.unfrozen, held.rest) == (D(freeze["amount"]) - D("300.00"), D("0.00"))


def test_a_freeze_whose_notification_was_lost_is_found_by_asking_and_unfrozen_when_its_order_has_gone(
    api: Api, world: World, who: Customer
) -> None:
    start = date(2026, 1, 31)
    plan = {"kind": "short", "start": start.isoformat(), "end": (start + timedelta(days=4)).isoformat()}
    kept, gone = (api.place(who, api.order_body(world.sku_id, plan, deposit_mode="preauth")) for _ in range(2))
    refs = [
        api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "preauth"})["out_request_no"]
        for order in (kept, gone)
    ]
    api.post(f"/v1/orders/{gone['id']}/cancel", who=who, json={})
    for ref in refs:
        sandbox(api).freeze_unnotified(ref, D("100.00"))
    freezes = api.service.freezes
    assert freezes is not None
    assert freezes.ask_unnotified() == 0
    api.move_clock(api.service.clock.now() + timedelta(minutes=6))
    assert freezes.ask_unnotified() == 2
    assert freezes.ask_unnotified() == 0
    api.service.written()
    assert dispatch(api) == 1
    kept_figures = figures(api.order(who, kept["id"])["preauth"], "frozen", "credit", "still_frozen")
    frozen = sandbox(api).freeze_book.freezes[refs[0]].fund
    assert kept_figures == (frozen, D("100.00"), frozen)
    gone_figures = figures(api.order(who, gone["id"])["preauth"], "frozen", "unfrozen", "still_frozen")
    assert gone_figures == (frozen, frozen, D("0.00"))
    assert sandbox(api).freeze_book.freezes[refs[1]].rest == D("0.00")

"""Rent by auto-debit in sandbox mode, with the test clock moved day by day and the daily job's scheduler charging:
the agreement signed at the sandbox provider, the installment charged on its due date, a failure retried on days
1, 3 and 7, a manual payment and a cancelled agreement stopping the charges, the figures on the ledger."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import pytest

from adapters.payments.sandbox_agreements import SandboxAgreements
from api.bootstrap import application
from api.http.security import hash_password
from leasecore.staff import Role
from tests.e2e.support import Api, Customer, running
from tests.support import local

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DUE = date(2026, 2, 28)
"""Installment 2 of 200.00 of a lease started on 31 January."""


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


def signed(api: Api) -> tuple[Customer, dict[str, Any], dict[str, Any]]:
    world = api.set_up_world()
    who = api.customer()
    order = api.leasing(who, api.order_body(world.sku_id))
    asked = api.post(f"/v1/orders/{order['id']}/auto-debit", who=who, json={})
    assert (asked["state"], asked["provider"]) == ("signing", "sandbox")
    params = dict(parse_qsl(asked["pay_params"]["sign_string"]))
    rule = json.loads(params["biz_content"])["period_rule_params"]
    assert params["method"] == "alipay.user.agreement.page.sign"
    assert rule == {  # 200.00 a month with at most 20% of late fees, from installment 2 on 28 February, 11 left
        "period_type": "MONTH",
        "period": 1,
        "execute_time": "2026-02-28",
        "single_amount": "240.00",
        "total_payments": 11,
    }
    number = asked["external_agreement_no"]
    assert api.post(f"/v1/sandbox/agreements/{number}", json={"action": "sign"})["status"] == "NORMAL"
    agreement = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)
    assert (agreement["state"], agreement["attempts"]) == ("active", [])
    return who, order, agreement


def run_day(api: Api, day: date) -> None:
    """Business time moves to 02:30 that day, past the daily job's 02:00, and the scheduler runs what is due."""
    api.service.set_clock(local(day.year, day.month, day.day, 2) + timedelta(minutes=30))
    api.service.scheduler.tick()
    api.service.written()


def attempts(api: Api, who: Customer, order: dict[str, Any]) -> list[tuple[str, int, str]]:
    found = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["attempts"]
    return [(a["day"], a["number"], a["state"]) for a in found]


def installment(api: Api, who: Customer, order: dict[str, Any], seq: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = api.get(f"/v1/orders/{order['id']}/installments", who=who)
    return next(row for row in rows if row["seq"] == seq)


def test_the_installment_is_charged_on_its_due_date_and_the_ledger_shows_it_paid(api: Api) -> None:
    who, order, _ = signed(api)
    run_day(api, DUE - timedelta(days=1))
    assert attempts(api, who, order) == []

    run_day(api, DUE)

    assert attempts(api, who, order) == [("2026-02-28", 1, "succeeded")]
    paid = installment(api, who, order, 2)
    assert (paid["status"], paid["paid"], paid["amount"]) == ("paid", "200.00", "200.00")
    staff = api.get(f"/v1/admin/orders/{order['id']}/auto-debit", who=api.staff(Role.FINANCE))
    assert staff["attempts"][0]["transaction_id"] and staff["attempts"][0]["amount"] == "200.00"
    run_day(api, DUE + timedelta(days=1))
    assert len(attempts(api, who, order)) == 1


def test_a_failed_charge_is_retried_on_days_1_3_and_7_with_the_providers_reason(api: Api) -> None:
    who, order, agreement = signed(api)
    api.post(
        f"/v1/sandbox/agreements/{agreement['external_agreement_no']}", json={"action": "balance", "balance": "0.00"}
    )

    for offset in range(10):
        run_day(api, DUE + timedelta(days=offset))

    assert attempts(api, who, order) == [
        ("2026-02-28", 1, "failed"),
        ("2026-03-01", 2, "failed"),
        ("2026-03-03", 3, "failed"),
        ("2026-03-07", 4, "failed"),
    ]
    reasons = {a["reason"] for a in api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["attempts"]}
    assert reasons == {"ACQ.BUYER_BALANCE_NOT_ENOUGH: 买家余额不足"}
    unpaid = installment(api, who, order, 2)
    assert (unpaid["status"], unpaid["paid"]) == ("overdue", "0.00")


def test_a_retry_that_finds_money_pays_the_installment_and_its_late_fee(api: Api) -> None:
    who, order, agreement = signed(api)
    number = agreement["external_agreement_no"]
    api.post(f"/v1/sandbox/agreements/{number}", json={"action": "balance", "balance": "0.00"})
    for offset in range(4):
        run_day(api, DUE + timedelta(days=offset))
    api.post(f"/v1/sandbox/agreements/{number}", json={"action": "balance", "balance": None})

    for offset in range(4, 9):
        run_day(api, DUE + timedelta(days=offset))

    assert attempts(api, who, order) == [
        ("2026-02-28", 1, "failed"),
        ("2026-03-01", 2, "failed"),
        ("2026-03-03", 3, "failed"),
        ("2026-03-07", 4, "succeeded"),
    ]
    paid = installment(api, who, order, 2)
    assert (paid["status"], paid["late_fee"]) == ("paid", "0.80")  # 4 to 7 March overdue: 0.1% of 200.00 a day
    assert paid["paid"] == "200.80"


def test_a_manual_payment_stops_the_retries(api: Api) -> None:
    who, order, agreement = signed(api)
    api.post(
        f"/v1/sandbox/agreements/{agreement['external_agreement_no']}", json={"action": "balance", "balance": "0.00"}
    )
    run_day(api, DUE)
    api.pay(who, order["id"], "installments")

    for offset in range(1, 10):
        run_day(api, DUE + timedelta(days=offset))

    assert attempts(api, who, order) == [("2026-02-28", 1, "failed")]
    assert installment(api, who, order, 2)["status"] == "paid"


def test_a_cancelled_agreement_is_not_charged_whether_cancelled_here_or_at_the_provider(api: Api) -> None:
    who, order, _ = signed(api)
    cancelled = api.post(f"/v1/orders/{order['id']}/auto-debit/cancel", who=who, json={})
    assert (cancelled["state"], cancelled["cancelled_reason"]) == ("cancelled", "turned off by the customer")
    again = api.post(f"/v1/orders/{order['id']}/auto-debit", who=who, json={})
    assert again["external_agreement_no"] != cancelled["external_agreement_no"]
    api.post(f"/v1/sandbox/agreements/{again['external_agreement_no']}", json={"action": "sign"})
    api.post(f"/v1/sandbox/agreements/{again['external_agreement_no']}", json={"action": "unsign"})
    ended = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)
    assert (ended["state"], ended["cancelled_reason"]) == ("cancelled", "ended at sandbox by the customer")

    run_day(api, DUE)

    assert attempts(api, who, order) == []
    assert installment(api, who, order, 2)["status"] == "due"


def test_another_customers_agreement_is_not_found_and_bad_input_names_the_field(api: Api) -> None:
    _, order, _ = signed(api)
    stranger = api.customer()
    api.get(f"/v1/orders/{order['id']}/auto-debit", 404, who=stranger)
    problem = api.post(f"/v1/orders/{order['id']}/auto-debit", 422, who=stranger, json={"provider": "Not A Slug"})
    assert "provider" in str(problem)


def test_a_charge_whose_answer_was_lost_is_asked_about_and_recorded_once_never_charged_again(api: Api) -> None:
    who, order, agreement = signed(api)
    app = api.service.app
    order_id = UUID(order["id"])
    api.service.set_clock(local(2026, 2, 28, 2) + timedelta(minutes=30))
    attempt = app.begin_auto_debit_charge(order_id, DUE)  # the process stopped after the provider charged
    assert attempt is not None
    gateway = app.agreement_gateway("sandbox")
    gateway.charge_agreement(agreement["agreement_no"], str(attempt.payment_id), attempt.amount, "rent 2")

    run_day(api, DUE)
    run_day(api, DUE + timedelta(days=1))

    assert attempts(api, who, order) == [("2026-02-28", 1, "succeeded")]
    assert installment(api, who, order, 2)["paid"] == "200.00"
    assert api.service.app.payment(attempt.payment_id).status.value == "succeeded"


def test_a_charge_never_sent_is_sent_under_the_same_trade_on_the_next_run(api: Api) -> None:
    who, order, _ = signed(api)
    api.service.set_clock(local(2026, 2, 28, 2) + timedelta(minutes=30))
    attempt = api.service.app.begin_auto_debit_charge(UUID(order["id"]), DUE)  # stopped before asking
    assert attempt is not None

    run_day(api, DUE)

    assert attempts(api, who, order) == [("2026-02-28", 1, "succeeded")]
    found = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["attempts"][0]
    assert found["payment_id"] == str(attempt.payment_id)


@pytest.fixture(params=["sqlite", "postgres"])
def stored(request: pytest.FixtureRequest) -> Iterator[tuple[Api, str]]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    with running(url) as api:
        yield api, url


@pytest.mark.slow
def test_on_each_database_the_agreement_and_its_attempts_replay_from_the_stored_events(
    stored: tuple[Api, str],
) -> None:
    api, url = stored
    who, order, agreement = signed(api)
    number = agreement["external_agreement_no"]
    api.post(f"/v1/sandbox/agreements/{number}", json={"action": "balance", "balance": "0.00"})
    run_day(api, DUE)
    api.post(f"/v1/sandbox/agreements/{number}", json={"action": "balance", "balance": None})
    run_day(api, DUE + timedelta(days=1))

    fresh = application(url)
    try:
        replayed = fresh.auto_debit(UUID(order["id"]))
    finally:
        fresh.close()
    assert [(a.day, a.number, a.state.value) for a in replayed.attempts_of(2)] == [
        (DUE, 1, "failed"),
        (DUE + timedelta(days=1), 2, "succeeded"),
    ]
    assert (replayed.state.value, replayed.agreement_no) == ("active", agreement["agreement_no"])
    assert attempts(api, who, order) == [("2026-02-28", 1, "failed"), ("2026-03-01", 2, "succeeded")]
    assert installment(api, who, order, 2)["status"] == "paid"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def phone_session(api: Api, who: Customer) -> None:
    """The customer logged in on the phone pages by SMS code, the way the login form does it."""
    form = api.http.get("/m/login")
    token = csrf(form.text)
    assert api.http.post("/m/login/code", data={"phone": who.phone, "csrf": token}).status_code == 200
    code = api.code(who.phone)
    answer = api.http.post("/m/login", data={"phone": who.phone, "code": code, "csrf": token}, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text


def agreement_no(api: Api, who: Customer, order: dict[str, Any]) -> str:
    number: str = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["agreement_no"]
    return number


def back_office(api: Api) -> Any:
    """A finance clerk logged in to the back office's console."""
    api.service.app.save_staff_account("clerk", (Role.FINANCE,), hash_password("auto-debit-clerk"))
    console = TestClient(api.http.app, base_url="http://testserver")
    token = csrf(console.get("/admin/login").text)
    form = {"username": "clerk", "password": "auto-debit-clerk", "csrf": token}
    assert console.post("/admin/login", data=form, follow_redirects=False).status_code in (302, 303)
    return console


def test_on_the_phone_the_customer_turns_it_on_signs_sees_a_charge_and_turns_it_off(api: Api) -> None:
    world = api.set_up_world()
    who = api.customer()
    order = api.leasing(who, api.order_body(world.sku_id))
    phone_session(api, who)
    page = f"/m/orders/{order['id']}/auto-debit"
    assert 'data-action="auto_debit"' in api.http.get(f"/m/orders/{order['id']}").text
    assert f'href="{page}"' in api.http.get(f"/m/orders/{order['id']}/bills").text
    assert 'data-state="none"' in api.http.get(page).text
    token = csrf(api.http.get(page).text)

    assert 'data-testid="sandbox-sign"' in api.http.post(page, data={"csrf": token}).text
    api.http.post(f"{page}/sandbox-sign", data={"csrf": token})
    assert 'data-state="active"' in api.http.get(page).text
    run_day(api, DUE)
    shown = api.http.get(page).text
    assert 'data-status="succeeded"' in shown and "200.00" in shown
    staff_page = back_office(api).get(f"/admin/orders/{order['id']}")
    assert 'data-testid="auto-debit" data-state="active"' in staff_page.text
    assert '<tr data-status="succeeded">' in staff_page.text and agreement_no(api, who, order) in staff_page.text

    api.http.post(f"{page}/cancel", data={"csrf": token})
    assert 'data-state="cancelled"' in api.http.get(page).text
    assert api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["state"] == "cancelled"


def test_a_charge_in_doubt_when_the_agreement_is_cancelled_is_settled_without_charging(api: Api) -> None:
    who, order, _ = signed(api)
    api.service.set_clock(local(2026, 2, 28, 2) + timedelta(minutes=30))
    attempt = api.service.app.begin_auto_debit_charge(UUID(order["id"]), DUE)  # stopped before asking
    assert attempt is not None
    api.post(f"/v1/orders/{order['id']}/auto-debit/cancel", who=who, json={"reason": "moving to WeChat"})

    run_day(api, DUE)

    (found,) = api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["attempts"]
    assert found["state"] == "failed" and "moving to WeChat" in found["reason"]
    assert api.service.app.payment(attempt.payment_id).status.value == "failed"
    assert installment(api, who, order, 2)["status"] == "due"


def test_a_tampered_agreement_notification_is_refused_and_changes_nothing(api: Api) -> None:
    world = api.set_up_world()
    who = api.customer()
    order = api.leasing(who, api.order_body(world.sku_id))
    asked = api.post(f"/v1/orders/{order['id']}/auto-debit", who=who, json={})
    gateway = api.service.app.agreement_gateway("sandbox")
    assert isinstance(gateway, SandboxAgreements)
    delivered = [
        gateway.notification(
            replace(gateway.agreement(asked["external_agreement_no"]), status="NORMAL"), "dut_user_sign"
        )
    ]
    tampered = delivered[-1].replace(b"agreement_no=2026", b"agreement_no=2027")

    answer = api.http.post(
        "/v1/payments/notify/sandbox",
        content=tampered,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 400
    assert api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["state"] == "signing"
    genuine = api.http.post(
        "/v1/payments/notify/sandbox",
        content=delivered[-1],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (genuine.status_code, genuine.text) == (200, "success")
    api.service.written()
    assert api.get(f"/v1/orders/{order['id']}/auto-debit", who=who)["state"] == "active"

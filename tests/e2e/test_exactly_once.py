"""`Idempotency-Key` through crashes: a process killed after the command saved and before the key's answer was kept
leaves the key pending; the retry finds what the first attempt made (its id derived from the key) and answers it,
never a second order, payment, message, adjustment or call; a transient answer (404, 5xx) is never kept as the key's
answer. The screens' reply forms carry a one-time key of their own, so a double tap writes one message."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import projections.stock
from api.http.app import create_app
from api.http.idempotency import IdempotencyKeys, lasting
from api.http.security import hash_password
from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, running
from tests.support import local

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Killed(Exception):
    """The process dies here: nothing after this point happens."""


def die(*args: Any) -> None:
    raise Killed("killed between the command's save and the key's answer")


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with running(sqlite_url) as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world()


@pytest.fixture
def who(api: Api, world: World) -> Customer:
    return api.customer()


def available(api: Api, world: World) -> int:
    api.service.written()
    return projections.stock.stock(api.service.views, api.service.app.local_today(), sku_ids=[world.sku_id])[
        0
    ].available


def test_an_order_placed_before_a_crash_is_the_answer_to_its_retry(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, key = api.order_body(world.sku_id), {"Idempotency-Key": "order-crash-1"}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        lost = api.post("/v1/orders", 500, who=who, json=body, headers=key)
    assert lost["type"] == "/problems/internal"

    retried = api.http.post("/v1/orders", json=body, headers={**who.headers, **key})
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    orders = api.get("/v1/orders", who=who)
    assert [order["id"] for order in orders] == [retried.json()["id"]]
    assert api.get("/v1/me/credit-line", who=who)["reserved"] == "2500.00"
    assert available(api, world) == len(world.serials) - 1

    again = api.http.post("/v1/orders", json=body, headers={**who.headers, **key})
    assert again.json() == retried.json() and again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_for_another_order_is_still_refused_after_a_crash(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, key = api.order_body(world.sku_id), {"Idempotency-Key": "order-crash-2"}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        api.post("/v1/orders", 500, who=who, json=body, headers=key)
    other = api.post("/v1/orders", 422, who=who, json={**body, "protection": True}, headers=key)
    assert other["errors"][0]["field"] == "Idempotency-Key"
    api.service.written()  # the crashed answer gave the client no position to read after
    assert len(api.get("/v1/orders", who=who)) == 1


def test_a_payment_asked_before_a_crash_is_the_answer_to_its_retry(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    path, key = f"/v1/orders/{order['id']}/payments", {"Idempotency-Key": "pay-crash-1"}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        api.post(path, 500, who=who, json={"purpose": "checkout"}, headers=key)
    payment = api.post(path, 201, who=who, json={"purpose": "checkout"}, headers=key)
    assert [item["payment_id"] for item in api.get(path, who=who)] == [payment["payment_id"]]


def test_a_key_left_pending_by_a_command_not_safe_to_rerun_is_still_in_progress(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    path, key = f"/v1/orders/{order['id']}/cancel", {"Idempotency-Key": "cancel-crash-1"}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        api.post(path, 500, who=who, json={}, headers=key)
    busy = api.post(path, 409, who=who, json={}, headers=key)
    assert busy["type"] == "/problems/in-progress"
    assert api.order(who, order["id"])["status"] == "cancelled"


def crashed_then_retried(
    api: Api, path: str, body: dict[str, Any], caller: Any, key: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any]:
    """The request made once with the process killed between its save and its key's answer, then retried with the
    same key and body twice: the retry's answer (run again at once, not 409) and the replayed one."""
    headers = {"Idempotency-Key": key}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        assert api.post(path, 500, who=caller, json=body, headers=headers)["type"] == "/problems/internal"
    retried = api.http.post(path, json=body, headers={**caller, **headers})
    assert retried.status_code in (200, 201), retried.text
    assert "Idempotent-Replayed" not in retried.headers
    replayed = api.http.post(path, json=body, headers={**caller, **headers})
    assert replayed.headers["Idempotent-Replayed"] == "true"
    return retried.json(), replayed.json()


def test_messages_written_and_answered_before_a_crash_are_the_answers_to_their_retries(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = api.post("/v1/conversations", 201, who=who, json={"subject": "Delivery", "text": "When?"})
    conversation = opened["conversation_id"]
    support = api.staff(Role.OPERATOR)
    answered, _ = crashed_then_retried(
        api, f"/v1/admin/conversations/{conversation}/messages", {"text": "Tomorrow"}, support, "answer-1", monkeypatch
    )
    written, replayed = crashed_then_retried(
        api, f"/v1/conversations/{conversation}/messages", {"text": "Thanks"}, who.headers, "write-1", monkeypatch
    )
    assert written == replayed
    assert (answered["seq"], answered["author"], written["seq"], written["author"]) == (2, "staff", 3, "customer")
    found = api.get(f"/v1/conversations/{conversation}", who=who)
    assert [(m["seq"], m["text"]) for m in found["messages"]] == [(1, "When?"), (2, "Tomorrow"), (3, "Thanks")]
    assert found["messages"][2]["message_id"] == written["message_id"]
    again = api.post(f"/v1/conversations/{conversation}/messages", 201, who=who, json={"text": "Thanks"})
    assert again["seq"] == 4


def test_a_double_tap_on_the_phone_s_reply_form_writes_one_message(api: Api, world: World, who: Customer) -> None:
    opened = api.post("/v1/conversations", 201, who=who, json={"subject": "Delivery", "text": "When?"})
    conversation = opened["conversation_id"]
    http = TestClient(create_app(api.service))
    token = form_value(http.get("/m/login").text, "csrf")
    assert http.post("/m/login/code", data={"phone": who.phone, "csrf": token}).status_code == 200
    form = {"phone": who.phone, "code": api.code(who.phone), "csrf": token}
    assert http.post("/m/login", data=form, follow_redirects=False).status_code in (302, 303)
    page = http.get(f"/m/help/{conversation}").text
    reply = {"text": "Any news?", "csrf": form_value(page, "csrf"), "key": form_value(page, "key")}
    for _ in range(2):
        assert http.post(f"/m/help/{conversation}", data=reply, follow_redirects=False).status_code in (302, 303)
    found = api.get(f"/v1/conversations/{conversation}", who=who)
    assert [(m["seq"], m["text"]) for m in found["messages"]] == [(1, "When?"), (2, "Any news?")]
    fresh = form_value(http.get(f"/m/help/{conversation}").text, "key")
    assert fresh != reply["key"]
    http.post(f"/m/help/{conversation}", data={**reply, "key": fresh}, follow_redirects=False)
    assert api.get(f"/v1/conversations/{conversation}", who=who)["message_count"] == 3


def test_a_double_click_on_the_console_s_reply_form_writes_one_answer(api: Api, world: World, who: Customer) -> None:
    opened = api.post("/v1/conversations", 201, who=who, json={"subject": "Delivery", "text": "When?"})
    conversation = opened["conversation_id"]
    api.service.app.save_staff_account("helper", (Role.OPERATOR,), hash_password("helper-password"))
    console = TestClient(create_app(api.service))
    token = form_value(console.get("/admin/login").text, "csrf")
    login = {"username": "helper", "password": "helper-password", "csrf": token}
    assert console.post("/admin/login", data=login, follow_redirects=False).status_code in (302, 303)
    page = console.get(f"/admin/support/{conversation}").text
    reply = {"text": "Tomorrow", "csrf": form_value(page, "csrf"), "key": form_value(page, "key")}
    for _ in range(2):
        answer = console.post(f"/admin/support/{conversation}/reply", data=reply, follow_redirects=False)
        assert answer.status_code in (302, 303)
    found = api.get(f"/v1/conversations/{conversation}", who=who)
    assert [(m["seq"], m["author"], m["text"]) for m in found["messages"]] == [
        (1, "customer", "When?"),
        (2, "staff", "Tomorrow"),
    ]


def test_double_clicks_on_the_console_s_call_and_waiver_forms_record_each_once(
    api: Api, world: World, who: Customer
) -> None:
    order = api.leasing(who, api.order_body(world.sku_id))["id"]
    api.move_clock(local(2026, 3, 9))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    api.service.app.save_staff_account("clerk", (Role.FINANCE,), hash_password("clerk-password"))
    console = TestClient(create_app(api.service))
    token = form_value(console.get("/admin/login").text, "csrf")
    login = {"username": "clerk", "password": "clerk-password", "csrf": token}
    assert console.post("/admin/login", data=login, follow_redirects=False).status_code in (302, 303)
    page = console.get(f"/admin/collections/{order}").text
    keys = re.findall(r'name="key" value="([^"]+)"', page)
    assert len(keys) == 2 and keys[0] != keys[1]
    call = {"outcome": "reached", "notes": "", "promised_on": "", "csrf": form_value(page, "csrf"), "key": keys[0]}
    waiver = {"seq": "2", "amount": "0.50", "reason": "first time late", "csrf": call["csrf"], "key": keys[1]}
    for _ in range(2):
        assert console.post(f"/admin/collections/{order}/call", data=call, follow_redirects=False).status_code == 303
        assert console.post(f"/admin/collections/{order}/waive", data=waiver, follow_redirects=False).status_code == 303
    audit = api.get(f"/v1/admin/audit/{order}", who=api.staff(Role.ADMIN))
    kinds = [event["type"].rpartition(".")[2] for event in audit["events"]]
    assert (kinds.count("CallRecorded"), kinds.count("LateFeeWaived")) == (1, 1)


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_adjustments_and_a_call_made_before_a_crash_are_the_answers_to_their_retries(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = api.leasing(who, api.order_body(world.sku_id))["id"]
    api.move_clock(local(2026, 3, 9))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    finance = api.staff(Role.FINANCE)
    adjustments = f"/v1/admin/orders/{order}/adjustments"
    waiver = {"kind": "waive_late_fee", "seq": 2, "amount": "0.50", "reason": "first time late"}
    credit = {"kind": "goodwill_credit", "amount": "100.00", "reason": "the courier lost a week"}
    crashed_then_retried(api, adjustments, waiver, finance, "waive-1", monkeypatch)
    credited, _ = crashed_then_retried(api, adjustments, credit, finance, "credit-1", monkeypatch)
    assert [(a["kind"], a["amount"]) for a in credited["adjustments"]] == [
        ("waive_late_fee", "0.50"),
        ("goodwill_credit", "100.00"),
    ]
    second = api.get(f"/v1/orders/{order}/installments", who=who)[1]
    assert (second["fee_waived"], second["credited"], second["owed"]) == ("0.50", "100.00", "100.70")

    promise = {"outcome": "promised", "notes": "pays on Friday", "promised_on": "2026-03-13"}
    calls = f"/v1/admin/orders/{order}/calls"
    called, replayed = crashed_then_retried(api, calls, promise, finance, "call-1", monkeypatch)
    assert called == replayed and called["outcome"] == "promised"
    audit = api.get(f"/v1/admin/audit/{order}", who=api.staff(Role.ADMIN))
    kinds = [event["type"].rpartition(".")[2] for event in audit["events"]]
    assert (kinds.count("LateFeeWaived"), kinds.count("GoodwillCredited"), kinds.count("CallRecorded")) == (1, 1, 1)


def test_a_conversation_a_category_a_product_and_a_sku_made_before_a_crash_are_the_answers_to_their_retries(
    api: Api, world: World, who: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = api.staff()
    new_sku = {
        "specs": {"colour": "white"},
        "market_value": "5000.00",
        "deposit": "3000.00",
        "monthly_rent": {"6": "300.00", "12": "200.00"},
        "buyout_price": {"6": "1500.00", "12": "1000.00"},
        "renewal_monthly_rent": "150.00",
        "daily_rent": "20.00",
    }
    listed = {
        "category_id": str(world.category_id),
        "name": "Phone U",
        "brand": "TestBrand",
        "channels": ["app"],
        "long_term": {"terms": [6, 12]},
        "protection": {"offered": False, "mandatory": False},
        "skus": [new_sku],
    }
    requests: list[tuple[str, dict[str, Any], Any]] = [
        ("/v1/conversations", {"subject": "Delivery", "text": "When?"}, who),
        ("/v1/admin/categories", {"name": "Tablets"}, editor),
        ("/v1/admin/products", listed, editor),
        (f"/v1/admin/products/{world.product_id}/skus", new_sku, editor),
    ]
    for n, (path, body, caller) in enumerate(requests):
        key = {"Idempotency-Key": f"made-{n}"}
        with monkeypatch.context() as crash:
            crash.setattr(api.service.idempotency, "keep", die)
            api.post(path, 500, who=caller, json=body, headers=key)
        first = api.post(path, 201, who=caller, json=body, headers=key)
        again = api.post(path, 201, who=caller, json=body, headers=key)
        assert first == again, path
    assert len(api.get("/v1/conversations", who=who)) == 1
    assert [c["name"] for c in api.get("/v1/catalog/categories")].count("Tablets") == 1
    assert len(api.get("/v1/catalog/products")) == 2
    assert len(api.get(f"/v1/catalog/products/{world.product_id}")["skus"]) == 2


def test_a_payment_completed_before_a_crash_and_a_restart_answers_success_on_retry(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(sqlite_url) as api:
        world = api.set_up_world()
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
        complete = f"/v1/sandbox/payments/{payment['payment_id']}/complete"
        with monkeypatch.context() as crash:
            crash.setattr(IdempotencyKeys, "keep", die)
            api.post(complete, 500, json={"outcome": "success"}, headers={"Idempotency-Key": "complete-1"})
        assert api.order(who, order["id"])["status"] == "pending_contract"

    with running(sqlite_url) as restarted:
        done = restarted.post(complete, 200, json={"outcome": "success"}, headers={"Idempotency-Key": "complete-1"})
        assert (done["status"], done["acknowledgement"]) == ("succeeded", "success")
        paid = restarted.get(f"/v1/orders/{order['id']}/payments", who=who)
        assert [(item["payment_id"], item["status"]) for item in paid] == [(payment["payment_id"], "succeeded")]
        assert restarted.order(who, order["id"])["status"] == "pending_contract"
        failed = restarted.post(complete, 409, json={"outcome": "fail"}, headers={"Idempotency-Key": "complete-9"})
        assert payment["payment_id"] in failed["detail"] and "already" in failed["detail"]


def test_completing_a_payment_the_restarted_sandbox_forgot_settles_it(sqlite_url: str) -> None:
    with running(sqlite_url) as api:
        world = api.set_up_world()
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
    with running(sqlite_url) as restarted:
        complete = f"/v1/sandbox/payments/{payment['payment_id']}/complete"
        done = restarted.post(complete, 200, json={"outcome": "success"}, headers={"Idempotency-Key": "complete-2"})
        assert done["status"] == "succeeded"
        assert restarted.order(who, order["id"])["status"] == "pending_contract"


def test_a_transient_answer_is_not_kept_as_the_keys_answer(api: Api) -> None:
    unknown = "/v1/sandbox/payments/00000000-0000-4000-8000-000000000001/complete"
    key = {"Idempotency-Key": "complete-unknown"}
    assert api.post(unknown, 404, json={"outcome": "success"}, headers=key)["type"] == "/problems/not-found"
    again = api.http.post(unknown, json={"outcome": "success"}, headers=key)
    assert again.status_code == 404 and "Idempotent-Replayed" not in again.headers


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        (200, True),
        (201, True),
        (204, True),
        (400, True),
        (409, True),
        (422, True),
        (404, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
    ],
)
def test_final_answers_are_kept_and_transient_ones_not(status: int, kept: bool) -> None:
    assert lasting(status) is kept

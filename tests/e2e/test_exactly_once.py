"""`Idempotency-Key` through crashes: a process killed after the command saved and before the key's answer was kept
leaves the key pending; the retry finds what the first attempt made (its id derived from the key) and answers it,
never a second order or payment; a transient answer (404, 5xx) is never kept as the key's answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import projections.stock
from api.http.idempotency import IdempotencyKeys, lasting
from tests.e2e.support import Api, Customer, World, running


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
    opened = api.post("/v1/conversations", 201, who=who, json={"subject": "Delivery", "text": "When?"})
    path, key = f"/v1/conversations/{opened['conversation_id']}/messages", {"Idempotency-Key": "talk-crash-1"}
    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        api.post(path, 500, who=who, json={"text": "Any news?"}, headers=key)
    busy = api.post(path, 409, who=who, json={"text": "Any news?"}, headers=key)
    assert busy["type"] == "/problems/in-progress"
    assert api.get(f"/v1/conversations/{opened['conversation_id']}", who=who)["message_count"] == 2


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

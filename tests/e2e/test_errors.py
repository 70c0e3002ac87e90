"""Errors as RFC 9457 problems: malformed JSON 400, schema violations 422 naming the field, unknown ids
404, wrong state 409 naming the state; and `Idempotency-Key`: the first answer again, nothing changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


def fields(problem: dict[str, object]) -> list[object]:
    assert problem["type"] == "/problems/validation" and problem["status"] == 422
    return [error["field"] for error in problem["errors"]]  # type: ignore[attr-defined]


def test_malformed_json_is_400(api: Api, who: Customer) -> None:
    for body in (b"{", b"[1,", b"\xff\xfe", b"NaN", b'{"a": }'):
        problem = api.post("/v1/orders", 400, who=who, content=body, headers={"Content-Type": "application/json"})
        assert set(problem) == {"type", "title", "status", "detail"} and problem["type"] == "/problems/malformed-json"


def test_schema_violations_name_the_field(api: Api, world: World, who: Customer) -> None:
    body = api.order_body(world.sku_id)
    assert fields(api.place(who, {**body, "quantity": "1"}, 422)) == ["quantity"]
    assert fields(api.place(who, {**body, "plan": {"kind": "long", "months": 0}}, 422)) == ["plan.months"]
    assert fields(
        api.place(who, {**body, "plan": {"kind": "short", "start": "2026-03-05", "end": "2026-03-01"}}, 422)
    ) == ["plan.end"]
    assert fields(api.place(who, {**body, "address": {**body["address"], "phone": "x"}}, 422)) == ["address.phone"]
    assert fields(api.place(who, {**body, "colour": "red"}, 422)) == ["colour"]
    assert fields(api.place(who, {key: value for key, value in body.items() if key != "sku_id"}, 422)) == ["sku_id"]
    assert fields(api.place(who, [], 422)) == ["body"]


def test_money_is_a_string_with_at_most_two_places(api: Api, world: World, who: Customer) -> None:
    order = api.leasing(who, api.order_body(world.sku_id))
    path = f"/v1/orders/{order['id']}/payments"
    for amount in (12.5, 12, "12.345", "1e3", "-5.00", "12,50"):
        problem = api.post(path, 422, who=who, json={"purpose": "installments", "amount": amount})
        assert fields(problem) == ["amount"], amount
    assert api.post(path, 201, who=who, json={"purpose": "installments", "amount": "12.5"})["amount"] == "12.50"


def test_domain_rules_name_their_field(api: Api, world: World, who: Customer) -> None:
    body = api.order_body(world.sku_id)
    assert fields(api.place(who, {**body, "plan": {"kind": "long", "months": 24}}, 422)) == ["plan.months"]
    assert fields(api.place(who, {**body, "channel": "partner-x"}, 422)) == ["channel"]
    problem = api.put(
        "/v1/admin/config/billing",
        422,
        who=api.staff(Role.ADMIN),
        json={"timezone": "Mars/Olympus", "grace_days": -1, "late_fee": {}},
    )
    assert {"timezone", "grace_days", "late_fee.daily_rate"} <= set(fields(problem))


def test_unknown_ids_are_404_and_unknown_routes_and_methods_are_problems_too(api: Api, who: Customer) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    problem = api.get(f"/v1/orders/{missing}", 404, who=who)
    assert problem == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": f"order {missing} not found",
    }
    assert api.get(f"/v1/catalog/products/{missing}", 404)["detail"] == f"product {missing} not found"
    assert api.get(f"/v1/admin/audit/{missing}", 404, who=api.staff(Role.ADMIN))["type"] == "/problems/not-found"
    assert api.get("/v1/nothing", 404)["type"] == "/problems/not-found"
    assert api.call("DELETE", "/v1/orders", 405)["type"] == "/problems/method-not-allowed"
    assert fields(api.get("/v1/orders/not-an-id", 422, who=who)) == ["id"]


def test_a_command_refused_in_its_state_is_409_naming_the_state(api: Api, world: World, who: Customer) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    problem = api.post(f"/v1/orders/{order['id']}/receipt", 409, who=who)
    assert (problem["type"], problem["state"]) == ("/problems/invalid-state", "pending_payment")
    assert "pending_payment" in problem["detail"]
    signing = api.post(f"/v1/orders/{order['id']}/contract/sign", 409, who=who)
    assert signing["state"] == "pending_payment"


def test_a_repeated_idempotency_key_returns_the_first_answer_and_changes_nothing(
    api: Api, world: World, who: Customer
) -> None:
    body = api.order_body(world.sku_id)
    key = {"Idempotency-Key": "order-2026-0001"}
    first = api.http.post("/v1/orders", json=body, headers={**who.headers, **key})
    again = api.http.post("/v1/orders", json=body, headers={**who.headers, **key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert int(again.headers["X-Read-Position"]) >= int(first.headers["X-Read-Position"])
    after = {"X-Read-After": first.headers["X-Read-Position"]}
    assert len(api.get("/v1/orders", who=who, headers=after)) == 1
    assert api.get("/v1/me/credit-line", who=who, headers=after)["reserved"] == "2500.00"

    other = api.http.post("/v1/orders", json={**body, "quantity": 2}, headers={**who.headers, **key})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    elsewhere = api.http.post(f"/v1/orders/{first.json()['id']}/cancel", json={}, headers={**who.headers, **key})
    assert elsewhere.status_code == 422

    pay = {"purpose": "checkout"}
    path = f"/v1/orders/{first.json()['id']}/payments"
    payments = [api.post(path, 201, who=who, json=pay, headers={"Idempotency-Key": "pay-1"}) for _ in range(2)]
    assert payments[0] == payments[1]
    assert len(api.get(f"/v1/orders/{first.json()['id']}/payments", who=who)) == 1


def test_the_first_answer_is_kept_even_when_it_was_a_refusal(api: Api, world: World, who: Customer) -> None:
    order = api.place(who, api.order_body(world.sku_id))
    key = {"Idempotency-Key": "cancel-1"}
    first = api.post(f"/v1/orders/{order['id']}/cancel", 200, who=who, json={}, headers=key)
    again = api.post(f"/v1/orders/{order['id']}/cancel", 200, who=who, json={}, headers=key)
    assert first == again and first["status"] == "cancelled"
    refused = api.post(
        f"/v1/orders/{order['id']}/cancel", 409, who=who, json={}, headers={"Idempotency-Key": "cancel-2"}
    )
    assert refused["state"] == "cancelled"


def test_keys_belong_to_their_caller_and_are_checked(api: Api, world: World, who: Customer) -> None:
    other = api.customer()
    key = {"Idempotency-Key": "same-key"}
    a = api.post("/v1/orders", 201, who=who, json=api.order_body(world.sku_id), headers=key)
    b = api.post("/v1/orders", 201, who=other, json=api.order_body(world.sku_id), headers=key)
    assert a["id"] != b["id"]
    problem = api.post(
        "/v1/orders", 422, who=who, json=api.order_body(world.sku_id), headers={"Idempotency-Key": "a b"}
    )
    assert fields(problem) == ["Idempotency-Key"]


def test_the_test_clock_moves_forward_only(api: Api) -> None:
    now = api.get("/v1/sandbox/clock")["now"]
    assert now == "2026-01-31T02:00:00Z"
    problem = api.post("/v1/sandbox/clock", 422, json={"now": "2026-01-30T00:00:00+08:00"})
    assert fields(problem) == ["now"] and "never goes back" in problem["detail"]
    assert (
        api.post("/v1/sandbox/clock", json={"now": "2026-02-01T08:00:00+08:00"})["now"] == "2026-02-01T08:00:00+08:00"
    )
    assert fields(api.post("/v1/sandbox/clock", 422, json={"now": "2026-02-02T08:00:00"})) == ["now"]


def test_a_body_nested_a_thousand_deep_is_malformed_not_a_crash(api: Api, who: Customer) -> None:
    for body in (b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000):
        problem = api.post("/v1/orders", 400, who=who, content=body, headers={"Content-Type": "application/json"})
        assert problem["type"] == "/problems/malformed-json"
    problem = api.post("/v1/auth/otp", 400, content=b"[" * 5000, headers={"Content-Type": "application/json"})
    assert problem["status"] == 400


def test_names_and_addresses_refuse_control_characters_and_bidirectional_overrides_in_words(
    api: Api, world: World, who: Customer
) -> None:
    body = api.order_body(world.sku_id)
    for name in ("Han\u202eiemeM", "Han\u0007Meimei", "Han\u2066Meimei", "Han\u0085Meimei", "   "):
        problem = api.place(who, {**body, "address": {**body["address"], "name": name}}, 422)
        assert problem["errors"] == [
            {
                "field": "address.name",
                "message": "must not be blank, nor hold control characters or bidirectional overrides",
            }
        ], repr(name)
    accepted = api.place(who, {**body, "address": {**body["address"], "name": "韩梅梅 Meimei-Han"}})
    assert accepted["status"] == "pending_payment"


def test_a_negative_amount_says_so(api: Api, world: World, who: Customer) -> None:
    order = api.leasing(who, api.order_body(world.sku_id))
    problem = api.post(
        f"/v1/orders/{order['id']}/payments", 422, who=who, json={"purpose": "installments", "amount": "-5.00"}
    )
    assert problem["errors"] == [
        {"field": "amount", "message": "must not be below 0.00: an amount of money is never negative"}
    ]

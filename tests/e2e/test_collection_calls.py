"""Collection calls over HTTP: an operator records what came of a call on an overdue order (201, the call with who
made it), the order's audit keeps it and nothing owed changes; a promise names a day from today, a bad one is 422
naming the field, an order not paying rent is 409, and the same `Idempotency-Key` records it once."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, World, running
from tests.support import local

ROUTE = "/v1/admin/orders/{}/calls"


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world()


def test_an_operator_records_calls_on_an_overdue_order_and_its_audit_keeps_them(api: Api, world: World) -> None:
    who = api.customer()
    order_id = api.leasing(who, api.order_body(world.sku_id))["id"]
    api.move_clock(local(2026, 3, 9))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    operator = api.staff(Role.OPERATOR, username="ops-wang")
    before = api.get(f"/v1/admin/orders/{order_id}", who=operator)

    missed = api.post(ROUTE.format(order_id), 201, who=operator, json={"outcome": "no_answer", "notes": " rang twice "})
    assert {key: missed[key] for key in ("order_id", "outcome", "notes", "promised_on", "staff")} == {
        "order_id": order_id,
        "outcome": "no_answer",
        "notes": "rang twice",
        "promised_on": None,
        "staff": "ops-wang",
    }
    promise = {"outcome": "promised", "notes": "pays after payday", "promised_on": "2026-03-13"}
    key = {**operator, "Idempotency-Key": "call-2026-03-09-1"}
    first = api.post(ROUTE.format(order_id), 201, headers=key, json=promise)
    again = api.http.post(ROUTE.format(order_id), headers=key, json=promise)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.json() == first

    audit = api.get(f"/v1/admin/audit/{order_id}", who=api.staff(Role.ADMIN))
    calls = [event["fields"] for event in audit["events"] if event["type"].endswith("CallRecorded")]
    assert [(c["outcome"], c["notes"], c["promised_on"], c["staff"]) for c in calls] == [
        ("no_answer", "rang twice", None, "ops-wang"),
        ("promised", "pays after payday", "2026-03-13", "ops-wang"),
    ]
    after = api.get(f"/v1/admin/orders/{order_id}", who=operator)
    assert after["installments"] == before["installments"] and after["days_overdue"] == before["days_overdue"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "promised"}, "promised_on"),
        ({"outcome": "promised", "promised_on": "2026-03-08"}, "promised_on"),
        ({"outcome": "reached", "promised_on": "2026-03-13"}, "promised_on"),
        ({"outcome": "reached", "notes": "x" * 501}, "notes"),
        ({"outcome": "hung_up"}, "outcome"),
    ],
)
def test_a_call_that_breaks_a_rule_is_422_naming_its_field(
    api: Api, world: World, body: dict[str, str], field: str
) -> None:
    who = api.customer()
    order_id = api.leasing(who, api.order_body(world.sku_id))["id"]
    api.move_clock(local(2026, 3, 9))
    problem = api.post(ROUTE.format(order_id), 422, who=api.staff(Role.FINANCE), json=body)
    assert [error["field"] for error in problem["errors"]] == [field]


def test_no_call_is_recorded_on_an_order_not_paying_rent(api: Api, world: World) -> None:
    who = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    problem = api.post(ROUTE.format(order["id"]), 409, who=api.staff(Role.ADMIN), json={"outcome": "reached"})
    assert problem["state"] == "pending_payment"


def test_staff_send_a_reminder_of_what_is_overdue_once_per_installment(api: Api, world: World) -> None:
    who = api.customer()
    order_id = api.leasing(who, api.order_body(world.sku_id))["id"]
    route = "/v1/admin/orders/{}/reminders"
    operator = api.staff(Role.OPERATOR)
    assert api.post(route.format(order_id), 409, who=operator)["type"] == "/problems/refused"  # nothing overdue
    api.move_clock(local(2026, 3, 9))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    owed = api.get(f"/v1/admin/orders/{order_id}", who=operator)["installments"][1]["owed"]

    sent = api.post(route.format(order_id), 201, who=operator)
    assert (sent["order_id"], sent["kind"], sent["phone"]) == (order_id, "manual", who.phone)
    assert f"{owed} CNY is overdue by 6 day(s)" in sent["text"] and sent["text"].endswith("reply if you need help.")
    again = api.post(route.format(order_id), 409, who=api.staff(Role.FINANCE))
    assert "installment 2" in again["detail"]
    api.service.messages.dispatch()
    texts = [m["text"] for m in api.get("/v1/sandbox/sms", params={"phone": who.phone})]
    assert texts.count(sent["text"]) == 1
    listed = api.get("/v1/admin/messages", who=operator, params={"order_id": order_id})
    assert [(m["kind"], m["state"]) for m in listed if m["message_id"] == sent["message_id"]] == [("manual", "sent")]


def test_staff_send_a_failed_message_again_and_only_a_failed_one(api: Api, world: World) -> None:
    who = api.customer()
    order_id = api.leasing(who, api.order_body(world.sku_id))["id"]
    operator = api.staff(Role.OPERATOR)
    api.move_clock(local(2026, 3, 9))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    sandboxes = api.service.sandboxes
    assert sandboxes is not None
    sandboxes.sms.fail_phone(who.phone)
    sent = api.post(f"/v1/admin/orders/{order_id}/reminders", 201, who=operator)
    api.service.messages.dispatch()
    listed = api.get("/v1/admin/messages", who=operator, params={"order_id": order_id, "state": "failed"})
    assert sent["message_id"] in {m["message_id"] for m in listed}
    sandboxes.sms.restore_phone(who.phone)

    again = api.post(f"/v1/admin/messages/{sent['message_id']}/resend", 200, who=api.staff(Role.FINANCE))
    assert again["state"] == "sent" and again["detail"].startswith("sent again, asked by ")
    texts = [m["text"] for m in api.get("/v1/sandbox/sms", params={"phone": who.phone})]
    assert texts.count(sent["text"]) == 1
    refused = api.post(f"/v1/admin/messages/{sent['message_id']}/resend", 409, who=operator)
    assert refused["state"] == "sent"
    api.post(f"/v1/admin/messages/{uuid4()}/resend", 404, who=operator)

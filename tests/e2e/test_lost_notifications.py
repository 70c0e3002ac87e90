"""A running service records a payment whose notification was lost: its janitor asks the provider once the
payment is 5 minutes old, and the order moves on as the notification would have moved it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from tests.e2e.support import START, Api, Customer, World, running


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    with running(url) as api:
        yield api


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_running_services_janitor_records_a_payment_whose_notification_was_lost(api: Api) -> None:
    world: World = api.set_up_world()
    who: Customer = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    payment = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "checkout"})
    assert api.service.sandboxes is not None
    api.service.sandboxes.payments.settle_unnotified(payment["payment_id"], "success")
    api.service.start()
    time.sleep(0.2)
    assert api.order(who, order["id"])["status"] == "pending_payment"

    api.move_clock(START + timedelta(minutes=5))

    assert eventually(lambda: api.order(who, order["id"])["status"] == "pending_contract")
    api.move_clock(START + timedelta(days=2))
    time.sleep(0.2)
    lease_events = [type(event).__name__ for event in api.service.app.events.get(UUID(order["id"]))]
    payment_events = [type(event).__name__ for event in api.service.app.events.get(UUID(payment["payment_id"]))]
    assert (lease_events.count("CheckoutPaid"), payment_events) == (1, ["Requested", "Succeeded"])

"""`confirm_delivery`: the carrier's word that a parcel was signed for confirms receipt once, however often it is
said, and whether or not the customer said so first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from api.bootstrap import application
from leasecore.clock import SettableClock
from leasecore.lease.lease import Lease, LeaseStatus
from tests.support import START, World, build_world, close


@pytest.fixture
def world() -> Iterator[World]:
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    try:
        yield build_world(app, clock)
    finally:
        close(app)


def shipped(world: World) -> UUID:
    app = world.app
    order_id = app.place_order(world.customer(), world.request())
    app.pay_checkout(order_id, "checkout", app.lease(order_id).due_now, world.clock.now())
    if app.lease(order_id).status is LeaseStatus.PENDING_REVIEW:
        app.approve(order_id, "reviewer", "ok")
    app.record_contract(order_id, "contract")
    app.ship(order_id, list(app.units_held(order_id)), "顺丰速运", f"SF{order_id.int % 10**10}")
    return order_id


def test_a_delivery_confirms_receipt_once(world: World) -> None:
    order_id = shipped(world)
    world.clock.advance(timedelta(days=1))
    assert world.app.confirm_delivery(order_id) is True
    lease = world.app.lease(order_id)
    assert (lease.status, lease.start) == (LeaseStatus.LEASING, lease.local_date(world.clock.now()))
    version = lease.version

    assert world.app.confirm_delivery(order_id) is False
    assert world.app.lease(order_id).version == version
    events = world.app.repository.event_store.get(order_id)
    assert [type(event) for event in events].count(Lease.Delivered) == 1


def test_a_delivery_after_the_customer_confirmed_changes_nothing(world: World) -> None:
    order_id = shipped(world)
    world.app.confirm_receipt(order_id)
    version = world.app.lease(order_id).version
    assert world.app.confirm_delivery(order_id) is False
    assert world.app.lease(order_id).version == version

"""In memory a command also uses the aggregates it keeps without a query, and its save checks them under the lock
every save takes: an event stored beside the application's own saves (as another writer would) is a conflict."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal as D

import pytest

from api.bootstrap import application
from leasecore.catalog import Product
from leasecore.clock import SettableClock
from leasecore.values import DepositMode
from tests.support import START, World, build_world, close, phone_sku


@pytest.fixture
def world() -> Iterator[World]:
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    try:
        yield build_world(app, clock, units=4)
    finally:
        close(app)


def reprice_beside(world: World, deposit: D) -> None:
    """Store a reprice without the application's save, so the copy it keeps is not brought up to date."""
    app = world.app
    product = app.repository.get(world.product_id)
    assert isinstance(product, Product)
    product.reprice_sku(replace(phone_sku(world.sku_id), deposit=deposit), world.clock.now())
    app.events.put(product.collect_events())


def test_an_order_on_a_kept_product_changed_beside_it_runs_again_at_the_new_price(world: World) -> None:
    app = world.app
    customer = world.customer()
    assert app.lease(app.place_order(customer, world.request(mode=DepositMode.FULL))).deposit == D("3000.00")
    kept = app.repository.cache.get(world.product_id) if app.repository.cache else None
    assert kept is not None

    reprice_beside(world, D("3300.00"))
    conflicts, stale = app.conflicts, app.stale_reads
    order = app.place_order(customer, world.request(mode=DepositMode.FULL))

    assert app.lease(order).deposit == D("3300.00")
    assert (app.conflicts, app.stale_reads) == (conflicts + 1, stale + 1)


def test_a_save_brings_the_kept_copies_of_what_it_wrote_up_to_date(world: World) -> None:
    app = world.app
    customer = world.customer()
    app.place_order(customer, world.request(mode=DepositMode.FULL))
    conflicts = app.conflicts

    for _ in range(3):
        app.place_order(customer, world.request(mode=DepositMode.FULL))

    assert app.conflicts == conflicts and len(app.customer(customer).orders) == 4

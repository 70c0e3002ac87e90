"""The stock index (`ViewsStockIndex.free_units`) offers exactly the units free over the dates asked, whatever mix of
long-term leases (held until returned), short-term bookings and cancellations the SKU has seen: it looks among units
no order holds first and then among held ones, so it must never offer a held unit for dates it is held over, nor
miss a free one when asked for more than there are. Checked against the units and bookings the stock read model
lists, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bootstrap import Platform, bootstrap
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, StockUnit
from leasecore.clock import SettableClock
from leasecore.errors import Unavailable
from leasecore.values import DepositMode, LongTerm, ShortTerm
from projections import stock
from projections.stock import ViewsStockIndex
from tests.support import START, World, build_world, phone_sku

TODAY = date(2026, 1, 31)

long_term = st.tuples(st.just("long"), st.integers(0, 0), st.integers(0, 0))
short_term = st.tuples(st.just("short"), st.integers(1, 20), st.integers(3, 12))
cancel = st.tuples(st.just("cancel"), st.integers(0, 30), st.integers(0, 0))
operations = st.lists(st.one_of(long_term, short_term, cancel), min_size=1, max_size=14)
windows = st.lists(st.tuples(st.integers(1, 30), st.one_of(st.none(), st.integers(0, 15))), min_size=1, max_size=4)


@contextmanager
def platform(url: str) -> Iterator[tuple[Platform, World]]:
    clock = SettableClock(START)
    running = bootstrap(url, clock=clock)
    try:
        yield running, build_world(running.app, clock, units=1)
    finally:
        running.close()


def new_sku(world: World, units: int) -> tuple[World, list[str]]:
    """A product of its own for one example, so examples share the database but not the stock."""
    sku = phone_sku()
    category_id = world.app.add_category(f"Phones {sku.id.hex[:6]}")
    world.app.list_product(
        ProductDetails(category_id, "Phone S", "TestBrand", channels=("app",)),
        LongTermOffer((6, 12)),
        ShortTermOffer(3, 30),
        Protection(True, False, Decimal("10.00"), Decimal("1.00"), Decimal("300.00")),
        [sku],
    )
    serials = [f"S{sku.id.hex[:6]}-{n}" for n in range(units)]
    world.app.receive_units(sku.id, serials)
    return World(world.app, world.clock, world.product_id, sku.id, serials), serials


@contextmanager
def stocked(url: str, units: int) -> Iterator[tuple[Platform, World, list[str], UUID]]:
    """A platform with a SKU of `units` units of its own and a customer, its stock index caught up."""
    with platform(url) as (running, base):
        world, serials = new_sku(base, units)
        customer = base.customer()
        running.runner.catch_up()
        yield running, world, serials, customer


def free_by_hand(running: Platform, world: World, start: date, end: date | None) -> set[str]:
    """Units in stock with no booking over the dates, from the read model's own listing of units and bookings."""
    return {
        unit.serial
        for unit in stock.units(running.views, world.sku_id)
        if unit.status in ("in_stock", "leased")
        and not any(
            (end is None or booking.start <= end) and (booking.end is None or start <= booking.end)
            for booking in unit.bookings
        )
    }


def check(url: str) -> None:
    with platform(url) as (running, base):
        customer = base.customer()
        index = ViewsStockIndex(running.views)

        @settings(max_examples=12)
        @given(operations, windows)
        def offers_exactly_the_free_units(
            steps: list[tuple[str, int, int]], asked: list[tuple[int, int | None]]
        ) -> None:
            world, serials = new_sku(base, units=5)
            placed: list[UUID] = []
            for kind, first, length in steps:
                if kind == "cancel":
                    if placed:
                        order_id = placed.pop(first % len(placed))
                        running.app.cancel(order_id)
                    continue
                plan = (
                    LongTerm(12)
                    if kind == "long"
                    else ShortTerm(TODAY + timedelta(days=first), TODAY + timedelta(days=first + length))
                )
                try:
                    placed.append(running.app.place_order(customer, world.request(plan, mode=DepositMode.FULL)))
                except Unavailable:
                    pass
            running.runner.catch_up()
            for offset, days in asked:
                start = TODAY + timedelta(days=offset)
                end = None if days is None else start + timedelta(days=days)
                free = free_by_hand(running, world, start, end)
                everything = index.free_units(world.sku_id, start, end, len(serials) + 1)
                assert sorted(everything.serials) == sorted(free)
                assert len(set(everything.serials)) == len(everything.serials)
                few = index.free_units(world.sku_id, start, end, 2, besides=serials[:1])
                assert set(few.serials) <= free - {serials[0]}
                assert len(few.serials) == min(2, len(free - {serials[0]}))

        offers_exactly_the_free_units()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_stock_index_offers_exactly_the_units_free_over_the_dates(
    backend: str, request: pytest.FixtureRequest
) -> None:
    check(request.getfixturevalue(f"{backend}_url"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_unit_this_process_booked_and_another_let_go_is_booked_again_from_a_caught_up_index(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """A process passes over the units it booked itself only while the index has not read their bookings: here
    another process lets go of one, and once the index has read that, this process books it again."""
    url = request.getfixturevalue(f"{backend}_url")
    with platform(url) as (running, base):
        world, serials = new_sku(base, units=2)
        customer = base.customer()
        app = running.app
        first = app.place_order(customer, world.request(mode=DepositMode.FULL))
        second = app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert sorted(app.units_held(first) + app.units_held(second)) == sorted(serials)
        other = bootstrap(url, clock=world.clock)
        try:
            other.app.cancel(first)
        finally:
            other.close()
        running.runner.catch_up()
        third = app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert app.units_held(third) == app.units_held(first)
        running.runner.catch_up()
        with pytest.raises(Unavailable):
            app.place_order(customer, world.request(mode=DepositMode.FULL))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_index_behind_by_every_booking_still_costs_each_order_one_unit_load(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index has read none of this process's bookings (a busy writer outruns the runner): it offers every unit
    as free, most of them taken here. Each order still loads one unit, the free one, up to the SKU's last unit,
    because the process passes over the units it booked after the index's position (and asks the index to leave
    them out once an offer held one); and once the index reads those bookings the process forgets them, so what
    it remembers stays the size of the lag, not of the SKU's history."""
    with stocked(request.getfixturevalue(f"{backend}_url"), units=40) as (running, world, serials, customer):
        app = running.app
        loads: list[str] = []
        load = app._free_unit

        def counted(sku_id: UUID, serial: str, start: date, end: date | None) -> object:
            loads.append(serial)
            return load(sku_id, serial, start, end)

        monkeypatch.setattr(app, "_free_unit", counted)
        held: list[str] = []
        for n in range(len(serials)):
            loads.clear()
            order_id = app.place_order(customer, world.request(mode=DepositMode.FULL))
            assert loads == list(app.units_held(order_id)), f"order {n + 1} loaded {loads}"
            held += loads
        assert sorted(held) == sorted(serials)
        assert len(app._booked_here[world.sku_id]) == len(serials)
        running.runner.catch_up()
        with pytest.raises(Unavailable):
            app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert app._booked_here[world.sku_id] == {}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_orders_try_the_units_an_earlier_offer_held_before_asking_the_index_again(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An offer holds more units than an order takes; the next orders of the process try those first, so the index
    is asked once for ten orders here, and a kept unit another process booked meanwhile is found taken on its
    aggregate and passed by for the next kept one."""
    url = request.getfixturevalue(f"{backend}_url")
    with stocked(url, units=40) as (running, world, _, customer):
        app = running.app
        assert app.stock_index is not None
        asked: list[int] = []
        offer = app.stock_index.free_units

        def counted(*args: Any, **kwargs: Any) -> Any:
            asked.append(1)
            return offer(*args, **kwargs)

        monkeypatch.setattr(app.stock_index, "free_units", counted)
        held = [app.units_held(app.place_order(customer, world.request(mode=DepositMode.FULL)))[0] for _ in range(10)]
        assert len(set(held)) == 10
        assert len(asked) == 1
        kept = [serial for _, serial in app._spares[world.sku_id]]
        assert len(kept) == 16 - 9 and not set(kept) & set(held)
        taken_elsewhere = kept[-1]  # the one this process tries next
        other = bootstrap(url, clock=world.clock)
        try:
            unit = other.app.stock_unit(world.sku_id, taken_elsewhere)
            unit.book(uuid4(), TODAY, None, world.clock.now())
            other.app.save(unit)
        finally:
            other.close()
        order = app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert app.units_held(order)[0] not in {taken_elsewhere, *held}
        assert len(asked) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_units_an_offer_holds_are_loaded_in_one_query_not_one_per_order(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index offers seventeen units; the order books one and the next orders book the others it kept, all
    loaded by the one query that followed the offer, and each booked as loaded (none was taken meanwhile)."""
    with stocked(request.getfixturevalue(f"{backend}_url"), units=40) as (running, world, serials, customer):
        app = running.app
        recorder: Any = app.recorder
        one_by_one: list[UUID] = []
        at_once: list[list[UUID]] = []
        load_one, load_many = recorder.select_with_snapshot, recorder.select_many_with_snapshots

        def one(aggregate_id: UUID, snapshots: Any) -> Any:
            one_by_one.append(aggregate_id)
            return load_one(aggregate_id, snapshots)

        def many(aggregate_ids: list[UUID], snapshots: Any) -> Any:
            at_once.append(list(aggregate_ids))
            return load_many(aggregate_ids, snapshots)

        monkeypatch.setattr(recorder, "select_with_snapshot", one)
        monkeypatch.setattr(recorder, "select_many_with_snapshots", many)
        held = [app.units_held(app.place_order(customer, world.request(mode=DepositMode.FULL)))[0] for _ in range(10)]
        units = {StockUnit.create_id(world.sku_id, serial): serial for serial in serials}
        assert [len(loaded) for loaded in at_once] == [17]
        assert set(held) <= {units[unit_id] for unit_id in at_once[0]}
        assert not set(one_by_one) & units.keys()
        assert app.stale_reads == 0

"""Real threads against one credit line and one last unit: optimistic concurrency with retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import application, bootstrap
from leasecore.clock import SettableClock
from leasecore.credit.credit_line import CreditLine
from leasecore.errors import Unavailable
from leasecore.values import DepositMode, ShortTerm
from tests.support import START, World, build_world, close

THREADS = 8


def all_at_once(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run `work(i)` on `threads` real threads released together; results or exceptions, in order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return results


class ConcurrencyBehaviour:
    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def world(self, database_url: str) -> Iterator[World]:
        clock = SettableClock(START)
        app = application(database_url, clock=clock, retries=30)
        try:
            yield build_world(app, clock, units=THREADS + 2)
        finally:
            close(app)

    def test_orders_placed_at_once_never_over_commit_the_credit_line_and_none_is_lost(self, world: World) -> None:
        app = world.app
        customer = world.customer(score=650)  # level B: quota 5000.00; band 600–699 waives 1000.00 an order
        results = all_at_once(lambda _: app.place_order(customer, world.request()))

        assert [r for r in results if not isinstance(r, UUID)] == []
        orders = [app.lease(order) for order in results]
        line = app.credit_line(customer)
        reserved = [e for e in app.events.get(line.id) if isinstance(e, CreditLine.WaiverReserved)]
        assert line.reserved_total == sum((lease.waiver for lease in orders), D(0)) == D("5000.00")
        assert sorted(lease.waiver for lease in orders) == [D("0")] * 3 + [D("1000.00")] * 5
        assert {e.order_id for e in reserved} == {lease.id for lease in orders if lease.waiver}
        assert set(app.customer(customer).orders) == set(results)
        held = [app.units_held(order) for order in results]
        assert all(len(serials) == 1 for serials in held) and len({serials[0] for serials in held}) == len(results)

    def test_the_last_unit_for_overlapping_dates_has_exactly_one_winner(self, world: World) -> None:
        app = world.app
        for serial in world.serials[1:]:
            app.retire_unit(world.sku_id, serial)
        customers = [world.customer(score=None) for _ in range(THREADS)]

        def book(i: int) -> UUID:
            dates = ShortTerm(date(2026, 3, 1 + i % 3), date(2026, 3, 5 + i % 3))
            return app.place_order(customers[i], world.request(dates, mode=DepositMode.FULL))

        results = all_at_once(book)
        winners = [r for r in results if isinstance(r, UUID)]
        assert len(winners) == 1
        assert all(isinstance(r, Unavailable) for r in results if not isinstance(r, UUID))
        assert app.units_held(winners[0]) == (world.serials[0],)

    def test_orders_for_one_sku_at_once_take_different_units_and_rarely_collide(self, database_url: str) -> None:
        """Each unit is its own aggregate and an order tries the free units the stock index offers in a random
        order: eight customers ordering one SKU at once get eight units, with fewer conflicts than if they all
        went for the same unit (then every round of the race leaves all but one to retry: 7 at the least)."""
        clock = SettableClock(START)
        platform = bootstrap(database_url, clock=clock)
        try:
            world = build_world(platform.app, clock, units=THREADS * 4)
            customers = [world.customer(score=None) for _ in range(THREADS)]
            platform.runner.catch_up()
            app = platform.app
            before = app.conflicts
            results = all_at_once(lambda i: app.place_order(customers[i], world.request(mode=DepositMode.FULL)))
            assert [r for r in results if not isinstance(r, UUID)] == []
            held = {serial: order for order in results for serial in app.units_held(order)}
            assert len(held) == THREADS
            assert all(app.stock_unit(world.sku_id, serial).holds(order) for serial, order in held.items())
            assert app.conflicts - before < THREADS - 1
        finally:
            platform.close()


class TestOnSQLite(ConcurrencyBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ConcurrencyBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

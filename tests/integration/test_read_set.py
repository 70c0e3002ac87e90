"""A command uses the aggregates it keeps in memory without asking the store for newer events, and its save
checks that none it read has changed: two processes on one database (two applications here), one changing what
the other decides on, which must conflict and decide again on the state now stored, never on the kept copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal as D
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import application
from leasecore.application import LeaseApplication
from leasecore.catalog import Product
from leasecore.clock import SettableClock
from leasecore.errors import LeaseError, Unavailable
from leasecore.lease.lease import Lease, LeaseStatus
from leasecore.values import DepositMode
from tests.support import START, World, build_world, close, phone_sku, two_processes


class ReadSetBehaviour:
    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def worlds(self, database_url: str) -> Iterator[tuple[World, LeaseApplication]]:
        with two_processes(database_url, units=2) as worlds:
            yield worlds

    def test_an_order_is_quoted_at_the_price_another_process_set_after_this_one_kept_the_product(
        self, worlds: tuple[World, LeaseApplication]
    ) -> None:
        world, other = worlds
        app = world.app
        customer = world.customer()
        first = app.lease(app.place_order(customer, world.request(mode=DepositMode.FULL)))
        assert first.deposit == D("3000.00")

        other.reprice_sku(world.product_id, replace(phone_sku(world.sku_id), deposit=D("3500.00")))
        conflicts, stale = app.conflicts, app.stale_reads
        later = app.lease(app.place_order(customer, world.request(mode=DepositMode.FULL)))

        assert later.deposit == D("3500.00")
        assert (app.conflicts, app.stale_reads) == (conflicts + 1, stale + 1)

    def test_an_order_for_a_product_another_process_retired_is_refused(
        self, worlds: tuple[World, LeaseApplication]
    ) -> None:
        world, other = worlds
        app = world.app
        customer = world.customer()
        app.place_order(customer, world.request(mode=DepositMode.FULL))
        orders = set(app.customer(customer).orders)

        other.retire_product(world.product_id)
        with pytest.raises(LeaseError):
            app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert set(app.customer(customer).orders) == orders

    def test_a_refusal_for_want_of_stock_is_decided_again_when_another_process_received_units(
        self, worlds: tuple[World, LeaseApplication]
    ) -> None:
        world, other = worlds
        app = world.app
        customers = [world.customer() for _ in range(3)]
        for customer in customers[:2]:
            app.place_order(customer, world.request(mode=DepositMode.FULL))
        with pytest.raises(Unavailable):
            app.place_order(customers[2], world.request(mode=DepositMode.FULL))

        other.receive_units(world.sku_id, ["IMEI9001"])
        stale = app.stale_reads
        order = app.place_order(customers[2], world.request(mode=DepositMode.FULL))

        assert app.units_held(order) == ("IMEI9001",)
        assert app.stale_reads == stale + 1

    def test_a_command_that_saves_nothing_answers_on_the_state_another_process_stored(
        self, worlds: tuple[World, LeaseApplication]
    ) -> None:
        world, other = worlds
        app = world.app
        order = app.place_order(world.customer(), world.request(mode=DepositMode.FULL))
        app.pay_checkout(order, f"checkout-{order}", app.lease(order).due_now, world.clock.now())
        if app.lease(order).status is LeaseStatus.PENDING_REVIEW:
            app.approve(order, "reviewer", "ok")
        app.record_contract(order, f"contract-{order}")

        other.ship(order, list(other.units_held(order)), "SF Express", "SF0000000001")
        stale = app.stale_reads

        assert app.confirm_delivery(order) is True
        assert app.lease(order).status is LeaseStatus.LEASING
        assert app.stale_reads == stale + 1

    def test_orders_on_kept_aggregates_ask_the_store_for_no_events(
        self, worlds: tuple[World, LeaseApplication], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        world, _ = worlds
        app = world.app
        customer = world.customer()
        app.place_order(customer, world.request(mode=DepositMode.FULL))
        loads: list[tuple[object, dict[str, object]]] = []
        select_events = app.recorder.select_events
        monkeypatch.setattr(
            app.recorder, "select_events", lambda *a, **k: loads.append((a, k)) or select_events(*a, **k)
        )

        app.place_order(customer, world.request(mode=DepositMode.FULL))

        assert [kwargs for _, kwargs in loads if kwargs.get("gt") is not None] == []  # no fast-forward
        assert len(loads) <= 1  # at most the unit the first order did not try, loaded whole

    def test_an_aggregate_not_kept_loads_from_its_latest_snapshot_and_the_events_after_it_in_one_query(
        self, worlds: tuple[World, LeaseApplication], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        world, other = worlds
        app = world.app
        for n in range(55):  # a snapshot every 50 events
            app.reprice_sku(world.product_id, replace(phone_sku(world.sku_id), deposit=D(3000 + n)))
        assert app.snapshots is not None and app.snapshots.recorder.select_events(world.product_id, desc=True, limit=1)
        statements: list[str] = []
        rows = other.recorder.reads.rows  # type: ignore[attr-defined]
        monkeypatch.setattr(
            other.recorder.reads,  # type: ignore[attr-defined]
            "rows",
            lambda sql, parameters: statements.append(sql) or rows(sql, parameters),
        )

        loaded = other.product(world.product_id)

        assert len(statements) == 1
        assert loaded.version == app.product(world.product_id).version
        assert loaded.sku(world.sku_id).deposit == D(3054)


class TestOnSQLite(ReadSetBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ReadSetBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


DEPOSITS = st.integers(min_value=30, max_value=40).map(lambda hundreds: D(hundreds * 100).quantize(D("0.01")))
STEPS = st.lists(
    st.tuples(st.booleans(), st.one_of(st.just("order"), st.just("cancel"), DEPOSITS)), min_size=1, max_size=14
)


class TestInterleavedOnSQLite:
    """Two applications on one SQLite file take turns at random: every order in the log carries the SKU's
    deposit in force just before it in the log (no order was quoted on a kept, stale product), and each
    aggregate either application keeps in memory equals a fresh replay of the log to its version."""

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=STEPS)
    def test_interleaved_commands_act_on_the_state_in_force(
        self, steps: list[tuple[bool, object]], tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        url = f"sqlite:///{tmp_path_factory.mktemp('interleaved') / 'events.db'}"
        clock = SettableClock(START)
        app, other = application(url, clock=clock), application(url, clock=clock)
        fresh = None
        try:
            world = build_world(app, clock, units=6)
            customers = [world.customer() for _ in range(2)]
            orders: list[UUID] = []
            refused = 0
            for n, (here, step) in enumerate(steps):
                acting = app if here else other
                try:
                    if step == "order":
                        request = world.request(mode=DepositMode.FULL)
                        orders.append(acting.place_order(customers[n % 2], request))
                    elif step == "cancel" and orders:
                        acting.cancel(orders.pop(0))
                    elif isinstance(step, D):
                        acting.reprice_sku(world.product_id, replace(phone_sku(world.sku_id), deposit=step))
                except LeaseError:
                    refused += step == "order"

            deposit, placed = D("3000.00"), 0
            for notification in app.recorder.select_notifications(1, 100_000):
                event = app.mapper.to_domain_event(notification)
                if isinstance(event, Product.SkuRepriced):
                    deposit = event.sku.deposit
                elif isinstance(event, Lease.OrderPlaced):
                    assert event.deposit == deposit
                    placed += 1
            assert placed == sum(step == "order" for _, step in steps) - refused

            fresh = application(url, clock=clock)
            for keeper in (app, other):
                cache = keeper.repository.cache
                assert cache is not None
                for aggregate_id, link in list(cache.cache.items()):
                    kept = link[3]
                    replayed = fresh.repository.get(aggregate_id, version=kept.version)
                    assert state(kept) == state(replayed), aggregate_id
        finally:
            close(app)
            close(other)
            if fresh is not None:
                close(fresh)


def state(aggregate: Aggregate) -> dict[str, object]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}

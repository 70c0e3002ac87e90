"""Events are forever: events stored by an earlier version of the code load and replay identically.

Provenance: `tests/fixtures/events_v1.json` holds the raw stored events (notification log order, topics
and bytes as written) of 39 aggregates, and each aggregate's replayed state, recorded on SQLite by
`tests/fixtures/capture.py` at commit `captured_from` (a `SettableClock` from `tests.support.START`).
`tests/fixtures/views_v1.json` holds every `*_view` table that `tests/fixtures/views.py` built from those
events at the same commit. Both scripts run only on the code they captured: never regenerate the
fixtures to make this test pass; moved or renamed event classes need topic aliases instead.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from sqlalchemy import Table, inspect, select, text
from sqlalchemy.dialects import sqlite

import projections.orders
import projections.stock
from api.bootstrap import Platform, application, bootstrap
from api.replays import jsonable
from leasecore.application import LeaseApplication
from leasecore.audit import state_of
from leasecore.catalog import StockUnit, UnitStatus
from leasecore.clock import SettableClock
from leasecore.credit.customer import IdentityCheck
from leasecore.lease import Lease, LeaseStatus
from leasecore.lease.quote import OrderRequest
from leasecore.values import Address, DepositMode, LongTerm
from tests.support import START, build_world, close

FIXTURES = Path(__file__).parent.parent / "fixtures"
EVENTS: dict[str, Any] = json.loads((FIXTURES / "events_v1.json").read_text(encoding="utf-8"))
VIEWS: dict[str, list[dict[str, Any]]] = json.loads((FIXTURES / "views_v1.json").read_text(encoding="utf-8"))
TOPICS = sorted({record["topic"] for record in EVENTS["records"]})

RENAMED_AGGREGATES = {"Operator": {"Operator", "StaffAccount"}}
ADDED_BY_UPCASTERS: dict[str, dict[str, Any]] = {"Lease": {"booked_units": []}}
"""State an upcaster gives an old aggregate (`Lease.OrderPlaced` v2: the units the order booked were kept on
the SKU's inventory under stock v1)."""
ADDED_TO_SIGNED_LEASES: dict[str, Any] = {"contract_document_id": "", "contract_sha256": ""}
"""What `Lease.ContractSigned` v2's upcaster gives a contract signed before the signed document was kept: no
document id and no hash."""
ADDED_VIEWS: dict[str, str] = {
    "customers_view": "the customers read model (contract 1.1) came after the capture",
    "customer_links_view": "the customers read model (contract 1.1) came after the capture",
    "order_deposits_view": "the orders read model's deposits (for the settlement statement) came after the capture",
    "adjustments_view": "finance's adjustments (contract 1.1) came after the capture; no earlier event makes one",
    "auto_debits_view": "auto-debit (contract 1.1) came after the capture; no earlier event makes one",
    "auto_debit_attempts_view": "auto-debit (contract 1.1) came after the capture; no earlier event makes one",
    "unit_counts_view": "the stock read model's counts per SKU and state came after the capture",
    "credit_totals_view": "the credit lines' kept totals came after the capture",
    "order_counts_view": "the orders read model's counts per status came after the capture",
    "order_serials_view": "the orders read model's serials (staff find an order by a unit) came after the capture",
    "conversations_view": "customer service (contract 1.1) came after the capture; no earlier event makes one",
    "conversation_messages_view": "customer service (contract 1.1) came after the capture; no earlier event makes one",
    "staff_view": "the staff accounts' read model came after the capture (built from the old accounts' events)",
    "freeze_movements_view": "deposit pre-authorization came after the capture; no earlier event makes one",
}
"""Read models' tables the capture's code did not have, with why; built from the old events like the others."""
UNCAPTURED: dict[str, str] = {
    f"StockUnit.{name}": "stock v2 (a unit per aggregate) came after the capture; test_stock_v1_* below"
    for name in ("Received", "TakenOver", "Booked", "Shipped", "Released", "Sold", "Retired")
} | {"Reminder.Queued": "reminders came after the capture (contract 1.1); no earlier event makes one"}
UNCAPTURED |= {
    f"Lease.{name}": "finance's adjustments came after the capture (contract 1.1); tested with the ledger"
    for name in ("LateFeeWaived", "GoodwillCredited")
}
UNCAPTURED["Lease.CallRecorded"] = "collection calls came after the capture; no earlier event makes one"
UNCAPTURED |= {
    f"Lease.{name}": "sign flows at the e-signature provider came after the capture; no earlier event makes one"
    for name in ("SigningStarted", "SigningAbandoned")
}
UNCAPTURED |= {
    f"Conversation.{name}": "customer service came after the capture (contract 1.1); no earlier event makes one"
    for name in ("Opened", "CustomerWrote", "StaffAnswered", "Closed")
}
UNCAPTURED |= {
    f"StaffAccount.{name}": "disabling staff accounts came after the capture; no earlier event makes one"
    for name in ("Disabled", "Enabled")
}
UNCAPTURED |= {
    f"Deposit.{name}": "deposit pre-authorization came after the capture (contract 1.1); tested in test_preauth"
    for name in (
        "FreezeRequired",
        "FreezeRequested",
        "Frozen",
        "TakeFromFreezeRequested",
        "UnfreezeRequested",
        "TakenFromFreeze",
        "Unfrozen",
    )
}
UNCAPTURED |= {
    name: "erasure of personal data (PIPL) came after the capture; tests/integration/test_personal_data.py"
    for name in (
        "Customer.PersonalDataErased",
        "Customer.RegisteredAgain",
        "Lease.PersonalDataErased",
        "Conversation.PersonalDataErased",
    )
}
ADDED_TO_DEPOSITS: dict[str, dict[str, Any]] = {
    "Deposit": {"to_freeze": "0.00", "freeze_requests": {}, "freezes": {}, "securing": None, "operations": {}}
}
"""What a deposit holds of a pre-authorization (contract 1.1): nothing frozen for a deposit paid or waived."""
UNCAPTURED |= {
    f"AutoDebit.{name}": "auto-debit came after the capture (contract 1.1); no earlier event makes one"
    for name in (
        "Opened",
        "SigningRequested",
        "Signed",
        "Cancelled",
        "ChargeAttempted",
        "ChargeSucceeded",
        "ChargeFailed",
    )
}
ADDED_TO_LEDGERS: dict[str, Any] = {
    "goodwill": {"rent": "0.00", "protection": "0.00", "fees": "0.00", "credit": "0.00"},
}
ADDED_TO_BALANCES: dict[str, Any] = {"fee_waived": "0.00", "credited": "0.00"}
"""Figures a lease's ledger gained with finance's adjustments (contract 1.1), zero for an order that never had
one: what goodwill credits paid, and each installment's fees waived and goodwill credited. Each balance also
gained the first day it is overdue if unpaid (its due date and the grace days of the lease's terms)."""


def as_replayed_today(kind: str, state: dict[str, Any]) -> dict[str, Any]:
    """A recorded state with what upcasters give an old aggregate and the ledger's figures added since."""
    state = {**state, **ADDED_BY_UPCASTERS.get(kind, {}), **ADDED_TO_DEPOSITS.get(kind, {})}
    if kind == "Lease" and state.get("contract_id") is not None:
        state.update(ADDED_TO_SIGNED_LEASES)
    if kind == "Lease":
        ledger = state["ledger"]
        grace = timedelta(days=state["terms"]["late_fee"]["grace_days"] + 1)
        balances = [
            {**balance, **ADDED_TO_BALANCES, "overdue_from": str(date.fromisoformat(balance["due_date"]) + grace)}
            for balance in ledger["balances"]
        ]
        state["ledger"] = {**ledger, **ADDED_TO_LEDGERS, "balances": balances}
    return state


def stored(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=base64.b64decode(record["state"]),
    )


def subclasses(cls: type) -> Iterator[type]:
    subclass: type
    for subclass in cls.__subclasses__():
        yield subclass
        yield from subclasses(subclass)


def recordable_events(aggregate: type[Aggregate]) -> set[type]:
    """An aggregate's nested event classes, less its base `Event` and the default `Created` it does not use."""
    events = {
        value
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and value is not aggregate.Event
    }
    if len({event for event in events if issubclass(event, Aggregate.Created)}) > 1:
        events.discard(aggregate.Created)
    return events


def current_event_classes() -> set[type]:
    """Every event class of every aggregate defined under the leasecore package."""
    aggregates = {cls for cls in subclasses(Aggregate) if cls.__module__.partition(".")[0] == "leasecore"}
    return {event for aggregate in aggregates for event in recordable_events(aggregate)}


def in_order(rows: Iterable[Mapping[Any, Any]]) -> list[Any]:
    return sorted((jsonable(dict(row)) for row in rows), key=lambda row: json.dumps(row, sort_keys=True))


def view_columns(platform: Platform) -> dict[str, Table]:
    return {table.name: table for projection in platform.runner.projections.values() for table in projection.tables}


def view_tables(platform: Platform, *, typed: bool) -> dict[str, list[Any]]:
    """Every `*_view` table's rows as JSON, sorted: as stored (exactly as tests/fixtures/views.py dumped them),
    or `typed`, read through the read models' own columns."""
    columns = view_columns(platform)
    with platform.views.read() as connection:
        names = [name for name in sorted(inspect(connection).get_table_names()) if name.endswith("_view")]
        return {
            name: in_order(
                connection.execute(select(columns[name]) if typed else text(f"select * from {name}")).mappings()
            )
            for name in names
        }


def read_on_sqlite(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of values as SQLite stored them, read back through the table's column types."""
    dialect = sqlite.dialect()
    values = {}
    for name, value in row.items():
        read = table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        values[name] = value if read is None else read(value)
    return values


def fixture_views(platform: Platform, *, typed: bool) -> dict[str, list[Any]]:
    """The fixture's rows as SQLite stored them, or `typed`, read through the read models' own columns."""
    if not typed:
        return VIEWS
    columns = view_columns(platform)
    return {name: in_order(read_on_sqlite(columns[name], row) for row in rows) for name, rows in VIEWS.items()}


@pytest.fixture
def reader() -> Iterator[Platform]:
    """A platform, as reads the store: topics resolve as they resolve for it (not thanks to an earlier test)."""
    platform = bootstrap("memory:")
    yield platform
    platform.close()


@pytest.mark.usefixtures("reader")
def test_every_stored_topic_resolves_to_a_current_event_class() -> None:
    """A topic in the store must name an event class of today's aggregates (a moved class needs an alias)."""
    current = current_event_classes()
    resolved = {topic: resolve_topic(topic) for topic in TOPICS}
    assert {topic: cls for topic, cls in resolved.items() if cls not in current} == {}


@pytest.mark.usefixtures("reader")
def test_the_fixture_records_every_event_class_but_the_listed_ones() -> None:
    """Every current event class is in the fixture, unless listed (with why) in UNCAPTURED."""
    captured = {resolve_topic(topic) for topic in TOPICS}
    missing = {event.__qualname__: get_topic(event) for event in current_event_classes() - captured}
    assert set(missing) == set(UNCAPTURED), missing


class StoredEventsBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    typed = False

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def platform(self, database_url: str) -> Iterator[Platform]:
        platform = bootstrap(database_url, clock=SettableClock(datetime.now(UTC)))
        try:
            records = sorted(EVENTS["records"], key=lambda record: record["id"])
            platform.app.recorder.insert_events([stored(record) for record in records])
            yield platform
        finally:
            platform.close()

    def test_the_store_numbers_the_records_as_they_were(self, platform: Platform) -> None:
        """Written in order, the old records get their old notification ids, topics and bytes."""
        notifications = platform.app.recorder.select_notifications(0, len(EVENTS["records"]) + 1)
        assert [
            (n.id, str(n.originator_id), n.originator_version, n.topic, base64.b64encode(n.state).decode())
            for n in notifications
        ] == [(r["id"], r["originator_id"], r["originator_version"], r["topic"], r["state"]) for r in EVENTS["records"]]

    def test_every_aggregate_replays_to_its_recorded_state(self, platform: Platform) -> None:
        """Each aggregate loads as the same type (or an allowed rename) with the same state."""
        for aggregate_id, expected in EVENTS["aggregates"].items():
            aggregate: Aggregate = platform.app.repository.get(UUID(aggregate_id))
            allowed = RENAMED_AGGREGATES.get(expected["type"], {expected["type"]})
            assert type(aggregate).__name__ in allowed, aggregate_id
            assert jsonable(state_of(aggregate)) == as_replayed_today(expected["type"], expected["state"]), aggregate_id

    def test_the_read_models_rebuild_identically(self, platform: Platform) -> None:
        """Today's projections, caught up on the old events, fill every view with the recorded rows: every column
        the old code had holds what it held (columns added since are not in the fixture)."""
        platform.runner.catch_up()
        tables, expected = view_tables(platform, typed=self.typed), fixture_views(platform, typed=self.typed)
        assert sorted(set(tables) - set(ADDED_VIEWS)) == sorted(expected)
        for table, rows in expected.items():
            columns = set(rows[0]) if rows else set()
            kept = [{name: row[name] for name in columns} for row in tables[table]]
            assert sorted(kept, key=canonical) == sorted(rows, key=canonical), table

    def test_stock_v1_an_order_holding_its_unit_on_the_register_ships_returns_and_frees_it(
        self, platform: Platform
    ) -> None:
        """An order placed under stock v1 (an `OrderPlaced` v1, its booking an `Inventory.UnitsBooked` on the
        SKU's register) is carried on by stock v2: its unit takes over its state once, no other order gets
        it meanwhile, and it ships, comes back and is free again, in the aggregates and in the stock view."""
        app, views = platform.app, platform.views
        earlier = app.lease(FIXTURE_ORDER)
        customer = app.register_customer("13900000077")
        app.record_identity(customer, IdentityCheck("Wang Fang", "11010519491231002X", verified=True))
        app.grant_credit(customer, 720, "test", {})
        request = OrderRequest(
            sku_id=earlier.sku_id,
            quantity=1,
            plan=earlier.plan,
            protection=False,
            deposit_mode=DepositMode.FULL,
            channel="app",
            address=Address("Wang Fang", "13900000077", "9 Fixture Road, Shanghai"),
        )
        order = stock_v1_order(app, customer, request, serial="IMEI0005")
        assert app.units_held(order) == ("IMEI0005",)

        platform.runner.catch_up()
        others = [app.place_order(customer, request) for _ in range(3)]
        assert "IMEI0005" not in {serial for other in others for serial in app.units_held(other)}

        lease = app.lease(order)
        app.pay_checkout(order, "v1-checkout", lease.due_now, app.clock.now())
        app.record_contract(order, "v1-contract")
        app.ship(order, ["IMEI0005"], "SF Express", "SF-V1")
        unit = app.stock_unit(earlier.sku_id, "IMEI0005")
        assert (unit.status, unit.leased_to) == (UnitStatus.LEASED, order)
        assert [type(e) for e in app.events.get(unit.id)] == [
            StockUnit.Received,
            StockUnit.TakenOver,
            StockUnit.Shipped,
        ]
        platform.runner.catch_up()
        (row,) = [u for u in projections.stock.units(views, earlier.sku_id) if u.serial == "IMEI0005"]
        assert (row.status, row.leased_to, [b.shipped for b in row.bookings]) == ("leased", order, [True])

        app.confirm_receipt(order)
        lease = app.lease(order)
        assert isinstance(app.clock, SettableClock) and lease.ends_on is not None
        app.pay_installments(
            order, "v1-rent", lease.owed(app.clock.now()) + sum(i.amount for i in lease.schedule[1:]), app.clock.now()
        )
        app.clock.set(datetime.combine(lease.ends_on, time(2), UTC))
        app.request_return(order, "SF-V1-BACK")
        app.record_return(order)
        unit = app.stock_unit(earlier.sku_id, "IMEI0005")
        assert unit.status is UnitStatus.IN_STOCK and unit.is_free(app.local_today(), None)
        platform.runner.catch_up()
        (row,) = [u for u in projections.stock.units(views, earlier.sku_id) if u.serial == "IMEI0005"]
        assert (row.status, row.leased_to, row.bookings) == ("in_stock", None, ())


    def test_a_contract_signed_as_v1_loads_signed_without_a_document_and_ships(self, platform: Platform) -> None:
        """`Lease.ContractSigned` stored at class version 1 (no document id, no hash), as the code before sign
        flows wrote it: the order loads signed, with an empty document id and hash, in the read model too, and
        ships as any signed order."""
        app, views = platform.app, platform.views
        earlier = app.lease(FIXTURE_ORDER)
        customer = app.register_customer("13900000078")
        app.record_identity(customer, IdentityCheck("Wang Fang", "11010519491231002X", verified=True))
        app.grant_credit(customer, 720, "test", {})
        request = OrderRequest(
            sku_id=earlier.sku_id,
            quantity=1,
            plan=earlier.plan,
            protection=False,
            deposit_mode=DepositMode.FULL,
            channel="app",
            address=Address("Wang Fang", "13900000078", "9 Fixture Road, Shanghai"),
        )
        order = app.place_order(customer, request)
        app.pay_checkout(order, "v1-contract-checkout", app.lease(order).due_now, app.clock.now())
        if app.lease(order).status is LeaseStatus.PENDING_REVIEW:
            app.approve(order, "reviewer", "ok")
        store_contract_signed_v1(app, order, "v1-signed-contract")

        lease = app.lease(order)
        assert (lease.status, lease.contract_id) == (LeaseStatus.PENDING_SHIPMENT, "v1-signed-contract")
        assert (lease.contract_document_id, lease.contract_sha256) == ("", "")
        platform.runner.catch_up()
        view = projections.orders.order(views, order)
        assert (view.contract_id, view.contract_document_id, view.contract_sha256) == ("v1-signed-contract", "", "")
        app.ship(order, list(app.units_held(order)), "SF Express", "SF-V1-CONTRACT")
        assert app.lease(order).status is LeaseStatus.SHIPPED


FIXTURE_ORDER = UUID("14e5e47d-4b38-4e2c-aebf-146d34167720")


def store_contract_signed_v1(app: LeaseApplication, order: UUID, contract_id: str) -> None:
    """A `Lease.ContractSigned` as class version 1 stored it: the contract's id alone."""
    lease = app.lease(order)
    lease.sign_contract(contract_id, app.clock.now())
    (signed,) = lease.collect_events()
    stored_event = app.mapper.to_stored_event(signed)
    state = app.mapper.transcoder.decode(stored_event.state)
    assert state["class_version"] == 2
    del state["class_version"], state["document_id"], state["sha256"]
    app.recorder.insert_events([dataclasses.replace(stored_event, state=app.mapper.transcoder.encode(state))])


def stock_v1_order(app: LeaseApplication, customer: UUID, request: OrderRequest, serial: str) -> UUID:
    """An order as stock v1 stored it: `Lease.OrderPlaced` at class version 1 (no `booked_units`) and its unit
    booked on the SKU's register by an `Inventory.UnitsBooked`."""
    order = uuid4()
    now = app.clock.now()
    lease, *others = app._prepare_order(order, customer, request, now)
    others = [aggregate for aggregate in others if not isinstance(aggregate, StockUnit)]
    (placed,) = lease.collect_events()
    stored_event = app.mapper.to_stored_event(placed)
    state = app.mapper.transcoder.decode(stored_event.state)
    del state["class_version"], state["booked_units"]
    app.recorder.insert_events([dataclasses.replace(stored_event, state=app.mapper.transcoder.encode(state))])
    register = app.inventory(request.sku_id)
    register._booked(order, (serial,), lease.local_date(now), None, timestamp=now)
    app.save(register, *others)
    return order


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


class TestOnMemory(StoredEventsBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(StoredEventsBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(StoredEventsBehaviour):
    """PostgreSQL stores native types where the fixture has SQLite's (hex ids, text instants, 0/1, REAL money),
    so both sides of the views are read through the read models' columns."""

    typed = True

    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


def test_lease_events_store_facts_and_replay_assesses_the_ledger_they_lead_to() -> None:
    """Checkout, delivery, the daily assessment and a late payment store what happened (a receipt, a schedule,
    the day assessed), never the ledger: replay assesses it, to the figures the commands saw."""
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    try:
        world = build_world(app, clock)
        order = world.leasing(world.customer(), world.request(LongTerm(6)))
        clock.advance(timedelta(days=40))
        app.run_daily()
        overdue = app.lease(order).ledger
        assert overdue.is_overdue and overdue.fees > 0
        app.pay_installments(order, "late-rent", app.lease(order).owed(clock.now()), clock.now())
        stored = app.recorder.select_events(order)
        kinds = {record.topic.rpartition(".")[2] for record in stored}
        assert {"CheckoutPaid", "Delivered", "OverdueAssessed", "InstallmentPaid"} <= kinds
        assert [r.topic for r in stored if "ledger" in app.mapper.transcoder.decode(r.state)] == []
        replayed = functools.reduce(lambda lease, event: event.mutate(lease), app.events.get(order), None)
        assert isinstance(replayed, Lease) and replayed.ledger == app.lease(order).ledger
        assert not replayed.ledger.is_overdue and replayed.ledger.fees == overdue.fees
    finally:
        close(app)

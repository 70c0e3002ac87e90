"""Stock and bookings: every unit (serial / IMEI) of every SKU, who holds it, and for which dates."""

from __future__ import annotations

import functools
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    Select,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    true,
)

from leasecore.catalog import Inventory, StockUnit, Unit, UnitStatus
from leasecore.lease import LeaseStatus
from leasecore.ports import FreeUnits
from projections.orders import orders_view
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Projection,
    Row,
    blank,
    is_new,
    on,
)
from projections.runner import tracking
from projections.store import Instant, ViewStore, metadata

stock_view = Table(
    "stock_view",
    metadata,
    Column("inventory_id", Uuid, primary_key=True),
    Column("sku_id", Uuid, nullable=False, unique=True),
    Column("product_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

units_view = Table(
    "units_view",
    metadata,
    Column("unit_id", Uuid, primary_key=True),
    Column("sku_id", Uuid, nullable=False),
    Column("serial", String(64), nullable=False),
    Column("inventory_id", Uuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("leased_to", Uuid),
    Column("sold_to", Uuid),
    Column("retired", Boolean, nullable=False),
    Column("held", Integer, nullable=False),
    Column("held_open", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_units_view_serial", "sku_id", "serial", unique=True),
    Index("ix_units_view_inventory", "inventory_id"),
    Index("ix_units_view_free", "sku_id", "held_open", "held", "unit_id"),
)
"""One row per unit; `held` is how many orders hold it (booked or shipped), `held_open` how many of those hold it
with no end date (a long-term lease, until returned); `version` is its `StockUnit`'s (0 while a unit received under
stock v1 has not taken over its state from the SKU's register). The index on `held_open`, `held` and `unit_id` lets
the stock index find free units in a few rows however many the SKU has held before (`ViewsStockIndex`)."""

unit_counts_view = Table(
    "unit_counts_view",
    metadata,
    Column("sku_id", Uuid, primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("units", Integer, nullable=False),
)
"""Per SKU, how many units are in each `UNIT_STATES`, kept as units change, so a count over all stock reads a
few rows a SKU instead of every unit."""

UNIT_STATES = ("available", "booked", "leased", "sold", "retired")
"""A unit's state for counting: in stock and held by no order, in stock and held (booked, not shipped yet), with a
customer, bought out, retired."""

bookings_view = Table(
    "bookings_view",
    metadata,
    Column("sku_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Column("order_id", Uuid, primary_key=True),
    Column("inventory_id", Uuid, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("shipped", Boolean, nullable=False),
    Index("ix_bookings_view_inventory", "inventory_id"),
    Index("ix_bookings_view_order", "order_id"),
)


REGISTER_EVENTS = (
    Inventory.Opened,
    Inventory.UnitsReceived,
    Inventory.UnitsBooked,
    Inventory.UnitsShipped,
    Inventory.UnitsReleased,
    Inventory.UnitsSold,
    Inventory.UnitRetired,
)
UNIT_EVENTS = (
    StockUnit.Received,
    StockUnit.TakenOver,
    StockUnit.Booked,
    StockUnit.Shipped,
    StockUnit.Released,
    StockUnit.Sold,
    StockUnit.Retired,
)


class StockProjection(Projection):
    """Units per SKU with their status and current order; bookings with their date ranges.

    The SKU's register (`Inventory`) adds units; each unit's own events (`StockUnit`) change its row and
    its bookings. Events stored under stock v1, when the register kept every booking, still apply."""

    name = "stock"
    version = 5
    tables = (stock_view, units_view, bookings_view, unit_counts_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        stock = batch.rows(stock_view, "inventory_id")
        stock.prefetch(event.originator_id for event in events if isinstance(event, REGISTER_EVENTS))
        wanted = {event.originator_id for event in events if isinstance(event, UNIT_EVENTS)}
        for event in events:
            row = stock.one(event.originator_id) if isinstance(event, REGISTER_EVENTS) else None
            if row is not None:
                wanted.update(StockUnit.create_id(row["sku_id"], serial) for serial in _serials(event))
        units = batch.rows(units_view, "unit_id")
        units.prefetch(wanted)
        skus = {event.sku_id for event in events if isinstance(event, StockUnit.Received)}
        registers = (stock.one(event.originator_id) for event in events if isinstance(event, REGISTER_EVENTS))
        skus.update(row["sku_id"] for row in registers if row is not None)
        skus.update(row["sku_id"] for row in (units.one(unit_id) for unit_id in wanted) if row is not None)
        batch.rows(unit_counts_view, "sku_id").prefetch(skus)
        batch.rows(bookings_view, "order_id").prefetch(event.order_id for event in events if hasattr(event, "order_id"))

    @on(Inventory.Opened)
    def opened(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(stock_view, "inventory_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            stock_view,
            inventory_id=event.originator_id,
            sku_id=event.sku_id,
            product_id=event.product_id,
            version=event.originator_version,
            units=0,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(Inventory.UnitsReceived, Inventory.UnitsBooked, Inventory.UnitsShipped, Inventory.UnitsReleased)
    @on(Inventory.UnitsSold, Inventory.UnitRetired)
    def registered(self, batch: Batch, event: Event) -> None:
        stock = batch.rows(stock_view, "inventory_id").one(event.originator_id)
        if stock is None or not is_new(stock, event):
            return
        stock["version"], stock["updated_at"] = event.originator_version, event.timestamp
        shelf = _Shelf(batch, stock["sku_id"])
        if isinstance(event, Inventory.UnitsReceived):
            stock["units"] += len(event.serials)
            for serial in event.serials:
                shelf.receive(serial, event.originator_id, version=0)
        elif isinstance(event, Inventory.UnitsBooked):
            for serial in event.serials:
                shelf.book(shelf.unit(serial), event.order_id, event.start, event.end)
        elif isinstance(event, Inventory.UnitsShipped):
            shelf.release_order(event.order_id)
            for serial in event.serials:
                shelf.ship(shelf.unit(serial), event.order_id, event.start, event.end)
        elif isinstance(event, Inventory.UnitsReleased):
            shelf.release_order(event.order_id)
        elif isinstance(event, Inventory.UnitsSold):
            for serial in event.serials:
                shelf.sell(shelf.unit(serial), event.order_id)
        else:
            shelf.unit(event.serial)["retired"] = True
        shelf.restate()

    @on(StockUnit.Received)
    def received(self, batch: Batch, event: Event) -> None:
        shelf = _Shelf(batch, event.sku_id)
        row = batch.rows(units_view, "unit_id").one(event.originator_id)
        if row is None:
            shelf.receive(event.serial, Inventory.create_id(event.sku_id), version=event.originator_version)
            shelf.restate()
        elif is_new(row, event):
            row["version"] = event.originator_version

    @on(StockUnit.TakenOver, StockUnit.Booked, StockUnit.Shipped, StockUnit.Released, StockUnit.Sold)
    @on(StockUnit.Retired)
    def unit_changed(self, batch: Batch, event: Event) -> None:
        unit = batch.rows(units_view, "unit_id").one(event.originator_id)
        if unit is None or not is_new(unit, event):
            return
        unit["version"] = event.originator_version
        shelf = _Shelf(batch, unit["sku_id"])
        shelf.touch(unit)
        if isinstance(event, StockUnit.TakenOver):
            shelf.take_over(unit, event.unit)
        elif isinstance(event, StockUnit.Booked):
            shelf.book(unit, event.order_id, event.start, event.end)
        elif isinstance(event, StockUnit.Shipped):
            shelf.ship(unit, event.order_id, event.start, event.end)
        elif isinstance(event, StockUnit.Released):
            shelf.release(unit, event.order_id)
        elif isinstance(event, StockUnit.Sold):
            shelf.sell(unit, event.order_id)
        else:
            unit["retired"] = True
        shelf.restate()


def _serials(event: Event) -> tuple[str, ...]:
    if hasattr(event, "serials"):
        return tuple(event.serials)
    return (event.serial,) if hasattr(event, "serial") else ()


class _Shelf:
    """The unit rows and bookings of one SKU that an event changes."""

    def __init__(self, batch: Batch, sku_id: UUID) -> None:
        self.batch, self.sku_id = batch, sku_id
        self.units = batch.rows(units_view, "unit_id")
        self.bookings = batch.rows(bookings_view, "order_id")
        self.counts = batch.rows(unit_counts_view, "sku_id")
        self.touched: list[Row] = []
        self.before: dict[UUID, str | None] = {}

    def touch(self, row: Row) -> Row:
        """A unit this event changes, its state before noted for the counts."""
        if row["unit_id"] not in self.before:
            self.before[row["unit_id"]] = _state(row)
            self.touched.append(row)
        return row

    def unit(self, serial: str) -> Row:
        row = self.units.one(StockUnit.create_id(self.sku_id, serial))
        if row is None:
            raise LookupError(f"unit {serial} of SKU {self.sku_id} was never received")
        return self.touch(row)

    def receive(self, serial: str, inventory_id: UUID, *, version: int) -> None:
        unit_id = StockUnit.create_id(self.sku_id, serial)
        if self.units.one(unit_id) is not None:
            return
        row = blank(
            units_view,
            unit_id=unit_id,
            sku_id=self.sku_id,
            serial=serial,
            inventory_id=inventory_id,
            status=UnitStatus.IN_STOCK.value,
            retired=False,
            held=0,
            held_open=0,
            version=version,
        )
        self.units.put(unit_id, [row])
        self.before[unit_id] = None
        self.touched.append(row)

    def book(self, unit: Row, order_id: UUID, start: date, end: date | None, *, shipped: bool = False) -> None:
        booking = blank(
            bookings_view,
            sku_id=self.sku_id,
            serial=unit["serial"],
            order_id=order_id,
            inventory_id=unit["inventory_id"],
            starts_on=start,
            ends_on=end,
            shipped=shipped,
        )
        held = self.bookings.get(order_id)
        others = [row for row in held if row["serial"] != unit["serial"]]
        replaced = next((row for row in held if row["serial"] == unit["serial"]), None)
        if replaced is None:
            unit["held"] += 1
        unit["held_open"] += (end is None) - (replaced is not None and replaced["ends_on"] is None)
        self.bookings.put(order_id, [*others, booking])

    def ship(self, unit: Row, order_id: UUID, start: date, end: date | None) -> None:
        self.book(unit, order_id, start, end, shipped=True)
        unit["leased_to"] = order_id

    def release(self, unit: Row, order_id: UUID) -> None:
        """The order lets go of this unit: its booking goes, and its lease if it had one."""
        held = self.bookings.get(order_id)
        kept = [row for row in held if row["serial"] != unit["serial"]]
        for released in (row for row in held if row["serial"] == unit["serial"]):
            unit["held"] -= 1
            unit["held_open"] -= released["ends_on"] is None
        self.bookings.put(order_id, kept)
        if unit["leased_to"] == order_id:
            unit["leased_to"] = None

    def release_order(self, order_id: UUID) -> None:
        """Stock v1: the order lets go of every unit of the SKU it held."""
        for row in list(self.bookings.get(order_id)):
            if row["sku_id"] == self.sku_id:
                self.release(self.unit(row["serial"]), order_id)

    def sell(self, unit: Row, order_id: UUID) -> None:
        self.release(unit, order_id)
        unit["sold_to"] = order_id

    def take_over(self, row: Row, unit: Unit) -> None:
        """A stock v1 unit's state, as its register kept it, now kept by the unit itself."""
        row["leased_to"], row["sold_to"], row["retired"] = unit.leased_to, unit.sold_to, unit.retired
        for booking in unit.bookings:
            self.book(row, booking.order_id, booking.start, booking.end, shipped=booking.order_id == unit.leased_to)

    def restate(self) -> None:
        """Each changed unit's status, and the SKU's counts moved from its state before to its state now."""
        for unit in self.touched:
            unit["status"] = _status(unit).value
            before, after = self.before[unit["unit_id"]], _state(unit)
            if before != after:
                self._count(unit["sku_id"], before, -1)
                self._count(unit["sku_id"], after, +1)
        self.touched, self.before = [], {}

    def _count(self, sku_id: UUID, state: str | None, change: int) -> None:
        if state is None:
            return
        rows = self.counts.get(sku_id)
        row = next((row for row in rows if row["state"] == state), None)
        if row is None:
            self.counts.put(sku_id, [*rows, {"sku_id": sku_id, "state": state, "units": change}])
        else:
            row["units"] += change


def _state(unit: Row) -> str:
    status = _status(unit)
    if status is UnitStatus.IN_STOCK:
        return "booked" if unit["held"] else "available"
    return {UnitStatus.LEASED: "leased", UnitStatus.SOLD: "sold", UnitStatus.RETIRED: "retired"}[status]


def _status(unit: Row) -> UnitStatus:
    if unit["sold_to"] is not None:
        return UnitStatus.SOLD
    if unit["retired"]:
        return UnitStatus.RETIRED
    return UnitStatus.IN_STOCK if unit["leased_to"] is None else UnitStatus.LEASED


# Queries.


@dataclass(frozen=True)
class StockLevel:
    """A SKU's units: how many are free from a day on (as a long-term order needs them), and by status."""

    sku_id: UUID
    product_id: UUID
    units: int
    available: int
    in_stock: int
    leased: int
    sold: int
    retired: int


@dataclass(frozen=True)
class Booking:
    order_id: UUID
    start: date
    end: date | None
    shipped: bool


@dataclass(frozen=True)
class UnitView:
    sku_id: UUID
    serial: str
    status: str
    leased_to: UUID | None
    sold_to: UUID | None
    bookings: tuple[Booking, ...]


def stock(views: ViewStore, on: date, *, sku_ids: Iterable[UUID] | None = None) -> list[StockLevel]:
    """Units per SKU; `available` counts those free from `on` onwards."""
    units, bookings = units_view.c, bookings_view.c
    blocked = (  # units held from `on` on, joined once rather than looked up unit by unit
        select(bookings.sku_id, bookings.serial)
        .where(or_(bookings.ends_on.is_(None), bookings.ends_on >= on))
        .group_by(bookings.sku_id, bookings.serial)
        .subquery()
    )
    free = and_(units.retired == false(), units.sold_to.is_(None), blocked.c.serial.is_(None))

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query: Select[Any] = (
        select(
            stock_view.c.sku_id,
            stock_view.c.product_id,
            func.count(units.serial),
            count(free),
            count(units.status == "in_stock"),
            count(units.status == "leased"),
            count(units.status == "sold"),
            count(units.status == "retired"),
        )
        .select_from(
            stock_view.outerjoin(units_view, units.inventory_id == stock_view.c.inventory_id).outerjoin(
                blocked, and_(blocked.c.sku_id == units.sku_id, blocked.c.serial == units.serial)
            )
        )
        .group_by(stock_view.c.sku_id, stock_view.c.product_id)
        .order_by(stock_view.c.sku_id)
    )
    if sku_ids is not None:
        query = query.where(stock_view.c.sku_id.in_(list(sku_ids)))
    with views.read() as connection:
        return [StockLevel(*row[:2], *(int(value) for value in row[2:])) for row in connection.execute(query)]


def unit_counts(views: ViewStore) -> dict[str, int]:
    """Every SKU's units added up by state (`UNIT_STATES`): a few rows a SKU, however many units."""
    found = {state: int(units or 0) for state, units in _UNIT_COUNTS.tuples(views)}
    return {state: found.get(state, 0) for state in UNIT_STATES}


_UNIT_COUNTS = Prepared(
    select(unit_counts_view.c.state, func.sum(unit_counts_view.c.units)).group_by(unit_counts_view.c.state)
)


def units(views: ViewStore, sku_id: UUID) -> list[UnitView]:
    """Every unit of a SKU with its bookings, by serial."""
    with views.read() as connection:
        unit_rows = connection.execute(
            select(units_view).where(units_view.c.sku_id == sku_id).order_by(units_view.c.serial)
        ).mappings()
        booking_rows = connection.execute(
            select(bookings_view)
            .where(bookings_view.c.sku_id == sku_id)
            .order_by(bookings_view.c.serial, bookings_view.c.starts_on, bookings_view.c.order_id)
        ).mappings()
        held: dict[str, list[Booking]] = {}
        for row in booking_rows:
            held.setdefault(row["serial"], []).append(
                Booking(row["order_id"], row["starts_on"], row["ends_on"], row["shipped"])
            )
        return [
            UnitView(
                row["sku_id"],
                row["serial"],
                row["status"],
                row["leased_to"],
                row["sold_to"],
                tuple(held.get(row["serial"], ())),
            )
            for row in unit_rows
        ]


@dataclass(frozen=True)
class UnitState:
    """A unit as the warehouse sees it: `available`, `booked` (held by an order not shipped yet), `leased`,
    `returning`, `inspecting` (back at the warehouse, its order not inspected yet), `retired` or `sold`
    (bought out); with the order it is with, where there is one."""

    serial: str
    status: str
    order_id: UUID | None


def unit_states(views: ViewStore, sku_id: UUID) -> list[UnitState]:
    """Every unit of a SKU by serial, its state from its own row and bookings and from the status of the order
    that holds it (the order list's)."""
    found = units(views, sku_id)
    held = {unit.leased_to for unit in found if unit.leased_to is not None}
    held.update(booking.order_id for unit in found for booking in unit.bookings)
    orders = orders_view.c
    query = select(orders.id, orders.status, orders.unit_serials).where(
        or_(orders.id.in_(sorted(held)), and_(orders.sku_id == sku_id, orders.status == LeaseStatus.INSPECTING.value))
    )
    with views.read() as connection:
        rows = connection.execute(query).all()
    statuses = {order_id: status for order_id, status, _ in rows}
    inspecting = {
        serial: order_id
        for order_id, status, serials in rows
        if status == LeaseStatus.INSPECTING.value
        for serial in serials
    }
    return [_unit_state(unit, statuses, inspecting) for unit in found]


def _unit_state(unit: UnitView, statuses: dict[UUID, str], inspecting: dict[str, UUID]) -> UnitState:
    if unit.sold_to is not None:
        return UnitState(unit.serial, "sold", unit.sold_to)
    if unit.status == UnitStatus.RETIRED.value:
        return UnitState(unit.serial, "retired", None)
    if unit.leased_to is not None:
        returning = statuses.get(unit.leased_to) == LeaseStatus.RETURNING.value
        return UnitState(unit.serial, "returning" if returning else "leased", unit.leased_to)
    if unit.serial in inspecting:
        return UnitState(unit.serial, "inspecting", inspecting[unit.serial])
    waiting = [booking for booking in unit.bookings if not booking.shipped]
    if waiting:
        return UnitState(unit.serial, "booked", min(waiting, key=lambda booking: booking.start).order_id)
    return UnitState(unit.serial, "available", None)


class ViewsStockIndex:
    """The application's stock index (`leasecore.ports.StockIndex`): free units of a SKU from this read
    model, with the log position it had reached, read first so the units are at least that fresh."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views

    def free_units(
        self, sku_id: UUID, start: date, end: date | None, limit: int, besides: Collection[str] = ()
    ) -> FreeUnits:
        """Units no order holds first, a run of them from a random point of the SKU's units (so concurrent orders
        take different ones); then, if those are too few, held units whose bookings leave the dates free: for an
        open-ended request only units held for dates alone can be, so neither query reads the SKU's long-term
        bookings, and the cost does not grow with the SKU's history.

        The statements are compiled once (`Prepared`: an order asks this on every placement, and building the
        statement took SQLAlchemy longer than the database took to answer). Units in `besides` are left out by the
        database for the units no order holds (a `NOT IN` list of a fixed size, padded: a process passes over the
        units it booked that this read model has not read yet, hundreds behind a busy writer, which fetching and
        dropping would cost an order that many rows), and by asking for as many more of the held ones."""
        excluded = _excluded(besides)
        wanted = limit + (len(besides) if excluded is None else 0)
        pivot = UUID(int=random.getrandbits(128))
        size = _list_size(0 if excluded is None else len(excluded))
        leaving_out = dict.fromkeys((f"not_{n}" for n in range(size)), "")  # padded: no unit's serial is empty
        leaving_out.update((f"not_{n}", serial) for n, serial in enumerate(excluded or ()))
        with self.views.read() as connection:
            position = _POSITION.values(connection)[1][0][0]
            rows: list[tuple[Any, ...]] = []
            for side in (">=", "<"):
                if len(rows) < wanted:
                    query = _never_held(side, size)
                    limit_now = wanted - len(rows)
                    rows += query.values(connection, sku_id=sku_id, pivot=pivot, limit=limit_now, **leaving_out)[1]
            if len(rows) < wanted:
                held = _HELD_FREE_OPEN if end is None else _HELD_FREE_DATED
                dates = {"start": start} if end is None else {"start": start, "end": end}
                more = wanted - len(rows) + (0 if excluded is None else len(besides))
                rows += held.values(connection, sku_id=sku_id, limit=more, **dates)[1]
        serials = [serial for (serial,) in rows if serial not in besides]
        return FreeUnits(serials[:limit], position)


EXCLUDED_SIZES = (64, 256, 1024, 4096)
"""The sizes of the `NOT IN` lists the free-units statements are written with; fewer units than the smallest are
fetched and dropped, more than the largest too."""
_SHORT = 16


def _excluded(besides: Collection[str]) -> list[str] | None:
    """The units the database should leave out, or None to fetch them and drop them here (a few, or very many)."""
    if len(besides) <= _SHORT or len(besides) > EXCLUDED_SIZES[-1]:
        return None
    return list(besides)


def _list_size(excluded: int) -> int:
    """The `NOT IN` list written for this many serials: the smallest of `EXCLUDED_SIZES` that holds them (none: 0)."""
    return next(size for size in EXCLUDED_SIZES if size >= excluded) if excluded else 0


@functools.cache
def _never_held(side: str, size: int) -> Prepared:
    """A run of the SKU's units no order holds from the pivot (`>=`) or before it (`<`), leaving out the serials
    of the parameters `not_0`… (`size` of them, none: 0); compiled once per side and size."""
    units = units_view.c
    pivot = bindparam("pivot", type_=Uuid)
    conditions = [
        _shelf(),
        units.held_open == 0,
        units.held == 0,
        units.unit_id >= pivot if side == ">=" else units.unit_id < pivot,
    ]
    if size:
        conditions.append(units.serial.not_in([bindparam(f"not_{n}", type_=String) for n in range(size)]))
    query = select(units.serial).where(*conditions).order_by(units.unit_id).limit(bindparam("limit", type_=Integer))
    return Prepared(query)


def _no_booking_over(open_ended: bool) -> Any:
    """The unit (of `units_view`) has no booking over the dates from the parameters `start` and, unless
    open-ended, `end`."""
    bookings = bookings_view.c
    return ~(
        select(bookings.serial)
        .where(
            bookings.sku_id == units_view.c.sku_id,
            bookings.serial == units_view.c.serial,
            or_(bookings.ends_on.is_(None), bookings.ends_on >= bindparam("start", type_=Date)),
            true() if open_ended else bookings.starts_on <= bindparam("end", type_=Date),
        )
        .exists()
    )


def _shelf() -> Any:
    """The units of the SKU of the parameter `sku_id` that are neither retired nor sold."""
    units = units_view.c
    return and_(units.sku_id == bindparam("sku_id", type_=Uuid), units.retired == false(), units.sold_to.is_(None))


def _free_units_queries() -> tuple[Prepared, Prepared, Prepared]:
    units = units_view.c
    read = select(tracking.c.position).where(tracking.c.name == StockProjection.name).scalar_subquery()
    position = Prepared(select(func.coalesce(read, 0)))
    held = select(units.serial).where(_shelf(), units.held > 0).order_by(func.random())
    held = held.limit(bindparam("limit", type_=Integer))
    held_open = Prepared(held.where(units.held_open == 0, _no_booking_over(open_ended=True)))
    held_dated = Prepared(held.where(_no_booking_over(open_ended=False)))
    return position, held_open, held_dated


_POSITION, _HELD_FREE_OPEN, _HELD_FREE_DATED = _free_units_queries()

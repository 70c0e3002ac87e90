"""Stock and bookings: every unit (serial / IMEI) of every SKU, who holds it, and for which dates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    case,
    exists,
    false,
    func,
    or_,
    select,
)

from leasecore.catalog import Inventory, UnitStatus
from projections.projection import (
    Batch,
    Event,
    Projection,
    Row,
    blank,
    is_new,
    on,
)
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
    Column("sku_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Column("inventory_id", Uuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("leased_to", Uuid),
    Column("sold_to", Uuid),
    Column("retired", Boolean, nullable=False),
    Index("ix_units_view_inventory", "inventory_id"),
)

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


class StockProjection(Projection):
    """Units per SKU with their status and current order; bookings with their date ranges.

    An event touches only the units it names and the bookings of its order, never the whole stock."""

    name = "stock"
    version = 2
    tables = (stock_view, units_view, bookings_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(stock_view, "inventory_id").prefetch(event.originator_id for event in events)
        orders = {event.order_id for event in events if hasattr(event, "order_id")}
        bookings = batch.rows(bookings_view, "order_id")
        bookings.prefetch(orders)
        wanted = {(event.originator_id, serial) for event in events for serial in _serials(event)}
        for order_id in orders:
            wanted.update((row["inventory_id"], row["serial"]) for row in bookings.get(order_id))
        batch.rows(units_view, UNIT).prefetch(wanted)

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
    def changed(self, batch: Batch, event: Event) -> None:
        stock = batch.rows(stock_view, "inventory_id").one(event.originator_id)
        if stock is None or not is_new(stock, event):
            return
        stock["version"], stock["updated_at"] = event.originator_version, event.timestamp
        shelf = _Shelf(batch, stock)
        if isinstance(event, Inventory.UnitsReceived):
            shelf.receive(event.serials)
        elif isinstance(event, Inventory.UnitsBooked):
            shelf.book(event.order_id, event.serials, event, shipped=False)
        elif isinstance(event, Inventory.UnitsShipped):
            shelf.release(event.order_id)
            shelf.book(event.order_id, event.serials, event, shipped=True)
        elif isinstance(event, Inventory.UnitsReleased):
            shelf.release(event.order_id)
        elif isinstance(event, Inventory.UnitsSold):
            shelf.release(event.order_id, event.serials)
            for serial in event.serials:
                shelf.unit(serial)["sold_to"] = event.order_id
        else:
            shelf.unit(event.serial)["retired"] = True
        shelf.restate()


UNIT = ("inventory_id", "serial")


def _serials(event: Event) -> tuple[str, ...]:
    if hasattr(event, "serials"):
        return tuple(event.serials)
    return (event.serial,) if hasattr(event, "serial") else ()


class _Shelf:
    """The units and bookings one event changes, as `Inventory` changes them."""

    def __init__(self, batch: Batch, stock: Row) -> None:
        self.batch, self.stock = batch, stock
        self.inventory_id: UUID = stock["inventory_id"]
        self.units = batch.rows(units_view, UNIT)
        self.touched: list[Row] = []

    def unit(self, serial: str) -> Row:
        row = self.units.one((self.inventory_id, serial))
        if row is None:
            raise LookupError(f"unit {serial} of inventory {self.inventory_id} was never received")
        self.touched.append(row)
        return row

    def receive(self, serials: Sequence[str]) -> None:
        for serial in serials:
            row = blank(
                units_view,
                sku_id=self.stock["sku_id"],
                serial=serial,
                inventory_id=self.inventory_id,
                status=UnitStatus.IN_STOCK.value,
                retired=False,
            )
            self.units.put((self.inventory_id, serial), [row])
            self.touched.append(row)
        self.stock["units"] += len(serials)

    def book(self, order_id: UUID, serials: Sequence[str], event: Event, *, shipped: bool) -> None:
        bookings = self.batch.rows(bookings_view, "order_id")
        added = [
            blank(
                bookings_view,
                sku_id=self.stock["sku_id"],
                serial=serial,
                order_id=order_id,
                inventory_id=self.inventory_id,
                starts_on=event.start,
                ends_on=event.end,
                shipped=shipped,
            )
            for serial in serials
        ]
        bookings.put(order_id, [*bookings.get(order_id), *added])
        if shipped:
            for serial in serials:
                self.unit(serial)["leased_to"] = order_id

    def release(self, order_id: UUID, serials: Sequence[str] | None = None) -> None:
        """The order lets go of its bookings and leases (on these units, or on all of them)."""
        bookings = self.batch.rows(bookings_view, "order_id")
        kept = []
        for row in bookings.get(order_id):
            if serials is not None and row["serial"] not in serials:
                kept.append(row)
                continue
            unit = self.unit(row["serial"])
            if unit["leased_to"] == order_id:
                unit["leased_to"] = None
        bookings.put(order_id, kept)

    def restate(self) -> None:
        for unit in self.touched:
            unit["status"] = _status(unit).value


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
    blocked = exists().where(
        bookings.sku_id == units.sku_id,
        bookings.serial == units.serial,
        or_(bookings.ends_on.is_(None), bookings.ends_on >= on),
    )
    free = and_(units.retired == false(), units.sold_to.is_(None), ~blocked)

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
        .select_from(stock_view.outerjoin(units_view, units.inventory_id == stock_view.c.inventory_id))
        .group_by(stock_view.c.sku_id, stock_view.c.product_id)
        .order_by(stock_view.c.sku_id)
    )
    if sku_ids is not None:
        query = query.where(stock_view.c.sku_id.in_(list(sku_ids)))
    with views.read() as connection:
        return [StockLevel(*row[:2], *(int(value) for value in row[2:])) for row in connection.execute(query)]


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

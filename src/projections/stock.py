"""Stock and bookings: every unit (serial / IMEI) of every SKU, who holds it, and for which dates."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from leasecore.catalog import Inventory, UnitStatus
from projections.projection import Batch, Event, Projection, Row, blank, is_new, on
from projections.tables import bookings_view, stock_view, units_view


class StockProjection(Projection):
    """Units per SKU with their status and current order; bookings with their date ranges."""

    name = "stock"
    tables = (stock_view, units_view, bookings_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        ids = {event.originator_id for event in events}
        for table in self.tables:
            batch.rows(table, "inventory_id").prefetch(ids)

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
            shelf.sell(event.order_id, event.serials)
        else:
            shelf.units[event.serial]["retired"] = True
        shelf.put()
        stock["units"] = len(shelf.units)


class _Shelf:
    """The units and bookings of one SKU while an event changes them, as `Inventory` does."""

    def __init__(self, batch: Batch, stock: Row) -> None:
        self.batch, self.stock = batch, stock
        self.inventory_id: UUID = stock["inventory_id"]
        self.units = {row["serial"]: row for row in batch.rows(units_view, "inventory_id").get(self.inventory_id)}
        self.bookings = list(batch.rows(bookings_view, "inventory_id").get(self.inventory_id))

    def receive(self, serials: Sequence[str]) -> None:
        for serial in serials:
            self.units[serial] = blank(
                units_view,
                sku_id=self.stock["sku_id"],
                serial=serial,
                inventory_id=self.inventory_id,
                status=UnitStatus.IN_STOCK.value,
                retired=False,
            )

    def book(self, order_id: UUID, serials: Sequence[str], event: Event, *, shipped: bool) -> None:
        for serial in serials:
            self.bookings.append(
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
            )
            if shipped:
                self.units[serial]["leased_to"] = order_id

    def release(self, order_id: UUID, serials: Sequence[str] | None = None) -> None:
        """The order lets go of its bookings and leases (on these units, or on all)."""
        self.bookings = [
            row
            for row in self.bookings
            if row["order_id"] != order_id or (serials is not None and row["serial"] not in serials)
        ]
        for serial, unit in self.units.items():
            if unit["leased_to"] == order_id and (serials is None or serial in serials):
                unit["leased_to"] = None

    def sell(self, order_id: UUID, serials: Sequence[str]) -> None:
        self.release(order_id, serials)
        for serial in serials:
            self.units[serial]["sold_to"] = order_id

    def put(self) -> None:
        for unit in self.units.values():
            unit["status"] = _status(unit).value
        self.batch.rows(units_view, "inventory_id").put(self.inventory_id, list(self.units.values()))
        self.batch.rows(bookings_view, "inventory_id").put(self.inventory_id, self.bookings)


def _status(unit: Row) -> UnitStatus:
    if unit["sold_to"] is not None:
        return UnitStatus.SOLD
    if unit["retired"]:
        return UnitStatus.RETIRED
    return UnitStatus.IN_STOCK if unit["leased_to"] is None else UnitStatus.LEASED

"""Stock: the register of a SKU's serials, and each unit (serial / IMEI) with who holds it for which dates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.copies import CopiedBySharing
from leasecore.errors import InvalidInput, InvalidState, Unavailable
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import Plan, ShortTerm, derived_id


class UnitStatus(Enum):
    IN_STOCK = "in_stock"
    LEASED = "leased"
    SOLD = "sold"
    RETIRED = "retired"


@dataclass(frozen=True)
class Booking:
    """A unit held for an order from `start` to `end` inclusive; no end while leased long-term."""

    order_id: UUID
    start: date
    end: date | None = None

    def overlaps(self, start: date, end: date | None) -> bool:
        return (self.end is None or start <= self.end) and (end is None or self.start <= end)


@dataclass(frozen=True)
class Unit:
    serial: str
    bookings: tuple[Booking, ...] = field(default=())
    leased_to: UUID | None = None
    retired: bool = False
    sold_to: UUID | None = None

    @property
    def status(self) -> UnitStatus:
        if self.sold_to is not None:
            return UnitStatus.SOLD
        if self.retired:
            return UnitStatus.RETIRED
        return UnitStatus.IN_STOCK if self.leased_to is None else UnitStatus.LEASED

    def is_free(self, start: date, end: date | None) -> bool:
        in_stock = not self.retired and self.sold_to is None
        return in_stock and not any(b.overlaps(start, end) for b in self.bookings)

    def without(self, order_id: UUID) -> Unit:
        kept = tuple(b for b in self.bookings if b.order_id != order_id)
        leased_to = None if self.leased_to == order_id else self.leased_to
        return replace(self, bookings=kept, leased_to=leased_to)


class Inventory(Aggregate):
    """The register of one SKU's units (serial / IMEI): which serials were received, so none is received
    twice. It grows with the stock, never with orders: each unit is its own `StockUnit`.

    Until units became aggregates of their own (stock v1), this aggregate also kept every booking, and
    its stored `UnitsBooked`, `UnitsShipped`, `UnitsReleased`, `UnitsSold` and `UnitRetired` events still
    replay into `units`. That state is read once per unit, when the unit takes it over
    (`StockUnit.take_over`), and never written again."""

    Snapshot = TaggedSnapshot

    @staticmethod
    def create_id(sku_id: UUID) -> UUID:
        return derived_id("inventory", sku_id)

    class Opened(Aggregate.Created):
        sku_id: UUID
        product_id: UUID

    @event(Opened)
    def __init__(self, sku_id: UUID, product_id: UUID, timestamp: datetime) -> None:
        self.sku_id, self.product_id = sku_id, product_id
        self.units: dict[str, Unit] = {}

    @property
    def serials(self) -> list[str]:
        """Every serial ever received, in the order received."""
        return list(self.units)

    def receive(self, serials: list[str], now: datetime) -> tuple[str, ...]:
        """New serials join the register; a serial received before is refused."""
        cleaned = [serial.strip() for serial in serials]
        if not cleaned or any(not serial for serial in cleaned):
            raise InvalidInput("serials", "give at least one non-empty serial")
        repeated = sorted({s for s in cleaned if s in self.units or cleaned.count(s) > 1})
        if repeated:
            raise InvalidInput("serials", f"already in stock or given twice: {', '.join(repeated)}")
        self._received(tuple(cleaned), timestamp=now)
        return tuple(cleaned)

    def booked_before_units(self, order_id: UUID) -> tuple[str, ...]:
        """The units an order placed under stock v1 holds, as this register kept them."""
        return tuple(unit.serial for unit in self.units.values() if any(b.order_id == order_id for b in unit.bookings))

    class UnitsReceived(Aggregate.Event):
        serials: tuple[str, ...]

    @event(UnitsReceived)
    def _received(self, serials: tuple[str, ...], timestamp: datetime) -> None:
        for serial in serials:
            self.units[serial] = Unit(serial)

    # Stock v1: events stored before each unit was an aggregate; replayed, never raised again.

    class UnitsBooked(Aggregate.Event):
        order_id: UUID
        serials: tuple[str, ...]
        start: date
        end: date | None

    @event(UnitsBooked)
    def _booked(
        self, order_id: UUID, serials: tuple[str, ...], start: date, end: date | None, timestamp: datetime
    ) -> None:
        for serial in serials:
            unit = self.units[serial]
            self.units[serial] = replace(unit, bookings=(*unit.bookings, Booking(order_id, start, end)))

    class UnitsShipped(Aggregate.Event):
        order_id: UUID
        serials: tuple[str, ...]
        start: date
        end: date | None

    @event(UnitsShipped)
    def _shipped(
        self, order_id: UUID, serials: tuple[str, ...], start: date, end: date | None, timestamp: datetime
    ) -> None:
        for serial, unit in list(self.units.items()):
            unit = unit.without(order_id)
            if serial in serials:
                unit = replace(unit, bookings=(*unit.bookings, Booking(order_id, start, end)), leased_to=order_id)
            self.units[serial] = unit

    class UnitsReleased(Aggregate.Event):
        order_id: UUID

    @event(UnitsReleased)
    def _released(self, order_id: UUID, timestamp: datetime) -> None:
        for serial, unit in list(self.units.items()):
            self.units[serial] = unit.without(order_id)

    class UnitsSold(Aggregate.Event):
        order_id: UUID
        serials: tuple[str, ...]

    @event(UnitsSold)
    def _sold(self, order_id: UUID, serials: tuple[str, ...], timestamp: datetime) -> None:
        for serial in serials:
            self.units[serial] = replace(self.units[serial].without(order_id), sold_to=order_id)

    class UnitRetired(Aggregate.Event):
        serial: str

    @event(UnitRetired)
    def _unit_retired(self, serial: str, timestamp: datetime) -> None:
        self.units[serial] = replace(self.units[serial], retired=True)


class StockUnit(CopiedBySharing, Aggregate):
    """One unit (serial / IMEI) of a SKU and the orders that hold it: never two orders on it for
    overlapping dates. Its history grows with the orders this one device serves, not with the SKU's,
    so orders for one SKU touch different aggregates and rarely conflict. Its state is one frozen `Unit`,
    replaced by each event, so its copy shares it."""

    Snapshot = TaggedSnapshot

    @staticmethod
    def create_id(sku_id: UUID, serial: str) -> UUID:
        return derived_id("unit", sku_id, serial)

    class Received(Aggregate.Created):
        sku_id: UUID
        product_id: UUID
        serial: str

    @event(Received)
    def __init__(self, sku_id: UUID, product_id: UUID, serial: str, timestamp: datetime) -> None:
        self.sku_id, self.product_id = sku_id, product_id
        self.unit = Unit(serial)

    @classmethod
    def receive(cls, sku_id: UUID, product_id: UUID, serial: str, now: datetime) -> StockUnit:
        return cls(sku_id, product_id, serial, timestamp=now)

    @classmethod
    def take_over(cls, inventory: Inventory, serial: str, now: datetime) -> StockUnit:
        """A unit received under stock v1: it takes over its bookings and status from the SKU's register."""
        if serial not in inventory.units:
            raise InvalidInput("unit_serial", f"{serial} is not a unit of this SKU")
        stock_unit = cls.receive(inventory.sku_id, inventory.product_id, serial, now)
        stock_unit._taken_over(inventory.units[serial], timestamp=now)
        return stock_unit

    @property
    def serial(self) -> str:
        return self.unit.serial

    @property
    def status(self) -> UnitStatus:
        return self.unit.status

    @property
    def bookings(self) -> tuple[Booking, ...]:
        return self.unit.bookings

    @property
    def leased_to(self) -> UUID | None:
        return self.unit.leased_to

    def is_free(self, start: date, end: date | None) -> bool:
        return self.unit.is_free(start, end)

    def holds(self, order_id: UUID) -> bool:
        return any(booking.order_id == order_id for booking in self.unit.bookings)

    def book(self, order_id: UUID, start: date, end: date | None, now: datetime) -> None:
        """Hold the unit for the order over the dates; end None holds it until returned."""
        if self.holds(order_id):
            return
        if not self.is_free(start, end):
            raise Unavailable(f"unit {self.serial} is held by another order for those dates")
        self._booked(order_id, start, end, timestamp=now)

    def ship(self, order_id: UUID, start: date, end: date | None, now: datetime) -> None:
        """The unit goes out for the order: booked for it already, or free over its dates."""
        if self.leased_to == order_id:
            return
        if not self.holds(order_id) and not self.is_free(start, end):
            raise InvalidInput("unit_serial", f"{self.serial} is held by another order for those dates")
        self._shipped(order_id, start, end, timestamp=now)

    def release(self, order_id: UUID, now: datetime) -> None:
        """Cancelled, rejected, returned or shipped on another unit: the order lets go of it (once)."""
        if self.holds(order_id) or self.leased_to == order_id:
            self._released(order_id, timestamp=now)

    def sell(self, order_id: UUID, now: datetime) -> None:
        """Bought out: the unit leaves the stock for good."""
        if self.leased_to == order_id:
            self._sold(order_id, timestamp=now)

    def retire(self, now: datetime) -> None:
        if self.status is not UnitStatus.IN_STOCK:
            raise InvalidState(f"unit {self.serial}", self.status.value, "retire it")
        self._retired(timestamp=now)

    class TakenOver(Aggregate.Event):
        unit: Unit

    @event(TakenOver)
    def _taken_over(self, unit: Unit, timestamp: datetime) -> None:
        self.unit = unit

    class Booked(Aggregate.Event):
        order_id: UUID
        start: date
        end: date | None

    @event(Booked)
    def _booked(self, order_id: UUID, start: date, end: date | None, timestamp: datetime) -> None:
        self.unit = replace(self.unit, bookings=(*self.unit.bookings, Booking(order_id, start, end)))

    class Shipped(Aggregate.Event):
        order_id: UUID
        start: date
        end: date | None

    @event(Shipped)
    def _shipped(self, order_id: UUID, start: date, end: date | None, timestamp: datetime) -> None:
        unit = self.unit.without(order_id)
        self.unit = replace(unit, bookings=(*unit.bookings, Booking(order_id, start, end)), leased_to=order_id)

    class Released(Aggregate.Event):
        order_id: UUID

    @event(Released)
    def _released(self, order_id: UUID, timestamp: datetime) -> None:
        self.unit = self.unit.without(order_id)

    class Sold(Aggregate.Event):
        order_id: UUID

    @event(Sold)
    def _sold(self, order_id: UUID, timestamp: datetime) -> None:
        self.unit = replace(self.unit.without(order_id), sold_to=order_id)

    class Retired(Aggregate.Event):
        pass

    @event(Retired)
    def _retired(self, timestamp: datetime) -> None:
        self.unit = replace(self.unit, retired=True)


def plan_dates(plan: Plan, today: date) -> tuple[date, date | None]:
    """The dates a plan holds its units: short-term its days, long-term from today until returned."""
    if isinstance(plan, ShortTerm):
        return plan.start, plan.end
    return today, None

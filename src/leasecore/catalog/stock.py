"""Stock: the units (serial / IMEI) of one SKU and who holds them for which dates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState, NotFound, Unavailable
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
    """The stock units (serial / IMEI) of one SKU and who holds them when: never two orders
    on one unit for overlapping dates."""

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

    def receive(self, serials: list[str], now: datetime) -> None:
        """New serials join the stock; a serial already in stock is refused."""
        cleaned = [serial.strip() for serial in serials]
        if not cleaned or any(not serial for serial in cleaned):
            raise InvalidInput("serials", "give at least one non-empty serial")
        repeated = sorted({s for s in cleaned if s in self.units or cleaned.count(s) > 1})
        if repeated:
            raise InvalidInput("serials", f"already in stock or given twice: {', '.join(repeated)}")
        self._received(tuple(cleaned), timestamp=now)

    def free_units(self, start: date, end: date | None) -> list[str]:
        return [unit.serial for unit in self.units.values() if unit.is_free(start, end)]

    def available_count(self, on: date) -> int:
        """Units free from `on` onwards, as a long-term order would need them."""
        return len(self.free_units(on, None))

    def book(self, order_id: UUID, quantity: int, start: date, end: date | None, now: datetime) -> tuple[str, ...]:
        """Hold `quantity` units for the order over the dates; end None holds them until returned."""
        if self.booked_for(order_id):
            return self.booked_for(order_id)
        free = self.free_units(start, end)
        if len(free) < quantity:
            raise Unavailable(f"only {len(free)} unit(s) free for those dates, {quantity} asked")
        serials = tuple(sorted(free)[:quantity])
        self._booked(order_id, serials, start, end, timestamp=now)
        return serials

    def booked_for(self, order_id: UUID) -> tuple[str, ...]:
        return tuple(unit.serial for unit in self.units.values() if any(b.order_id == order_id for b in unit.bookings))

    def assign(self, order_id: UUID, serials: list[str], now: datetime) -> None:
        """Ship these units for the order: each must be booked for it or free over its dates."""
        held = self.booked_for(order_id)
        if not held:
            raise InvalidState(f"order {order_id}", "not holding stock", "ship it")
        booking = next(b for b in self.units[held[0]].bookings if b.order_id == order_id)
        if len(serials) != len(held) or len(set(serials)) != len(serials):
            raise InvalidInput("unit_serial", f"ship exactly {len(held)} distinct unit(s)")
        for serial in serials:
            unit = self.units.get(serial)
            if unit is None:
                raise InvalidInput("unit_serial", f"{serial} is not a unit of this SKU")
            if serial not in held and not unit.is_free(booking.start, booking.end):
                raise InvalidInput("unit_serial", f"{serial} is held by another order for those dates")
        self._shipped(order_id, tuple(serials), booking.start, booking.end, timestamp=now)

    def release(self, order_id: UUID, now: datetime) -> None:
        """Cancel, reject or return: the order's units are free again (once)."""
        if self.booked_for(order_id):
            self._released(order_id, timestamp=now)

    def sell(self, order_id: UUID, now: datetime) -> None:
        """Bought out: the order's units leave the stock for good."""
        sold = tuple(unit.serial for unit in self.units.values() if unit.leased_to == order_id)
        if sold:
            self._sold(order_id, sold, timestamp=now)

    def retire_unit(self, serial: str, now: datetime) -> None:
        unit = self.units.get(serial)
        if unit is None:
            raise NotFound("unit", serial)
        if unit.status is not UnitStatus.IN_STOCK:
            raise InvalidState(f"unit {serial}", unit.status.value, "retire it")
        self._unit_retired(serial, timestamp=now)

    class UnitsReceived(Aggregate.Event):
        serials: tuple[str, ...]

    @event(UnitsReceived)
    def _received(self, serials: tuple[str, ...], timestamp: datetime) -> None:
        for serial in serials:
            self.units[serial] = Unit(serial)

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


def plan_dates(plan: Plan, today: date) -> tuple[date, date | None]:
    """The dates a plan holds its units: short-term its days, long-term from today until returned."""
    if isinstance(plan, ShortTerm):
        return plan.start, plan.end
    return today, None

"""The catalog the operator edits: a category tree, products with SKUs and plans, stock units."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState, NotFound, Unavailable
from leasecore.values import LongTerm, Plan, ShortTerm, derived_id

CATEGORY_TREE_ID = derived_id("category-tree")


@dataclass(frozen=True)
class Category:
    id: UUID
    name: str
    parent_id: UUID | None = None
    retired: bool = False


class CategoryTree(Aggregate):
    """Device categories (设备类型) as a tree the operator edits; one tree per platform."""

    @staticmethod
    def create_id() -> UUID:
        return CATEGORY_TREE_ID

    @event("Planted")
    def __init__(self, timestamp: datetime) -> None:
        self.nodes: dict[UUID, Category] = {}

    def add(self, category_id: UUID, name: str, parent_id: UUID | None, now: datetime) -> None:
        """A new category goes under a live parent, or at the root."""
        if category_id in self.nodes:
            raise InvalidInput("id", f"category {category_id} exists already")
        if parent_id is not None:
            self._live(parent_id, "parent_id")
        self._added(category_id, _name(name), parent_id, timestamp=now)

    def rename(self, category_id: UUID, name: str, now: datetime) -> None:
        self._live(category_id, "id")
        self._renamed(category_id, _name(name), timestamp=now)

    def move(self, category_id: UUID, parent_id: UUID | None, now: datetime) -> None:
        """A category may move anywhere except under itself or its own descendants."""
        self._live(category_id, "id")
        if parent_id is not None:
            self._live(parent_id, "parent_id")
            if category_id in self.ancestry(parent_id):
                raise InvalidInput("parent_id", "a category cannot move under itself or its descendants")
        self._moved(category_id, parent_id, timestamp=now)

    def retire(self, category_id: UUID, now: datetime) -> None:
        """A retired category takes no new products; its children are retired with it."""
        self._live(category_id, "id")
        for node_id in self.subtree(category_id):
            if not self.nodes[node_id].retired:
                self._retired(node_id, timestamp=now)

    def ancestry(self, category_id: UUID) -> list[UUID]:
        """The category and its ancestors up to the root."""
        chain: list[UUID] = []
        current: UUID | None = category_id
        while current is not None:
            chain.append(current)
            current = self.nodes[current].parent_id
        return chain

    def subtree(self, category_id: UUID) -> list[UUID]:
        return [node for node in self.nodes if category_id in self.ancestry(node)]

    def is_live(self, category_id: UUID) -> bool:
        return category_id in self.nodes and not self.nodes[category_id].retired

    def _live(self, category_id: UUID, field_name: str) -> Category:
        node = self.nodes.get(category_id)
        if node is None:
            raise NotFound("category", category_id)
        if node.retired:
            raise InvalidInput(field_name, f"category {category_id} is retired")
        return node

    @event("CategoryAdded")
    def _added(self, category_id: UUID, name: str, parent_id: UUID | None, timestamp: datetime) -> None:
        self.nodes[category_id] = Category(category_id, name, parent_id)

    @event("CategoryRenamed")
    def _renamed(self, category_id: UUID, name: str, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, name, node.parent_id, node.retired)

    @event("CategoryMoved")
    def _moved(self, category_id: UUID, parent_id: UUID | None, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, node.name, parent_id, node.retired)

    @event("CategoryRetired")
    def _retired(self, category_id: UUID, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, node.name, node.parent_id, True)


@dataclass(frozen=True)
class LongTermOffer:
    """The terms in months the operator offers long-term (长租)."""

    terms: tuple[int, ...]


@dataclass(frozen=True)
class ShortTermOffer:
    """Short-term (短租) leases of min_days to max_days, both included."""

    min_days: int
    max_days: int


@dataclass(frozen=True)
class Protection:
    """Accident protection (意外保障): priced per month or per day; liability capped at the excess."""

    offered: bool
    mandatory: bool
    monthly: Decimal
    daily: Decimal
    damage_excess: Decimal


NO_PROTECTION = Protection(False, False, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


@dataclass(frozen=True)
class TermPrice:
    """A SKU's monthly rent for a term, and its buyout price at that term's end."""

    months: int
    monthly_rent: Decimal
    buyout_price: Decimal


@dataclass(frozen=True)
class Sku:
    """A product variant (specs such as colour and storage) with its prices."""

    id: UUID
    specs: dict[str, str]
    market_value: Decimal
    deposit: Decimal
    term_prices: tuple[TermPrice, ...] = ()
    renewal_monthly_rent: Decimal | None = None
    daily_rent: Decimal | None = None

    def term_price(self, months: int) -> TermPrice | None:
        return next((price for price in self.term_prices if price.months == months), None)


@dataclass(frozen=True)
class ProductDetails:
    """What the customer sees of a product, and where it is sold."""

    category_id: UUID
    name: str
    brand: str
    description: str = ""
    images: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


class Product(Aggregate):
    """A product the platform rents out, its plans, its protection and its SKUs."""

    id: UUID

    @event("Listed")
    def __init__(
        self,
        details: ProductDetails,
        long_term: LongTermOffer | None,
        short_term: ShortTermOffer | None,
        protection: Protection,
        timestamp: datetime,
    ) -> None:
        self.details, self.long_term, self.short_term = details, long_term, short_term
        self.protection = protection
        self.skus: dict[UUID, Sku] = {}
        self.retired = False

    @classmethod
    def list(
        cls,
        details: ProductDetails,
        long_term: LongTermOffer | None,
        short_term: ShortTermOffer | None,
        protection: Protection,
        now: datetime,
        product_id: UUID | None = None,
    ) -> Product:
        """A product is offered long-term, short-term or both, never neither."""
        _check_plans(long_term, short_term)
        _check_protection(protection)
        return cls(  # type: ignore[call-arg]
            id=product_id or uuid4(),
            details=details,
            long_term=long_term,
            short_term=short_term,
            protection=protection,
            timestamp=now,
        )

    @property
    def channels(self) -> tuple[str, ...]:
        return self.details.channels

    def revise(self, details: ProductDetails, protection: Protection, now: datetime) -> None:
        self._require_live("revise")
        _check_protection(protection)
        self._revised(details, protection, timestamp=now)

    def change_plans(self, long_term: LongTermOffer | None, short_term: ShortTermOffer | None, now: datetime) -> None:
        """New terms apply to new orders; every SKU must still be priced for every long term."""
        self._require_live("change plans")
        _check_plans(long_term, short_term)
        for sku in self.skus.values():
            _check_sku_prices(sku, long_term, short_term)
        self._plans_changed(long_term, short_term, timestamp=now)

    def add_sku(self, sku: Sku, now: datetime) -> None:
        """A SKU is priced for every plan its product offers."""
        self._require_live("add a SKU")
        if sku.id in self.skus:
            raise InvalidInput("id", f"SKU {sku.id} exists already")
        _check_sku_prices(sku, self.long_term, self.short_term)
        self._sku_added(sku, timestamp=now)

    def reprice_sku(self, sku: Sku, now: datetime) -> None:
        self._require_live("reprice a SKU")
        if sku.id not in self.skus:
            raise NotFound("sku", sku.id)
        _check_sku_prices(sku, self.long_term, self.short_term)
        self._sku_repriced(sku, timestamp=now)

    def retire(self, now: datetime) -> None:
        """A retired product can no longer be ordered; its orders keep their terms."""
        if not self.retired:
            self._retired(timestamp=now)

    def sku(self, sku_id: UUID) -> Sku:
        try:
            return self.skus[sku_id]
        except KeyError:
            raise NotFound("sku", sku_id) from None

    def check_orderable(self, plan: Plan, channel: str) -> None:
        """The product is live, sold in the channel and offers the plan as asked."""
        self._require_live("order it")
        if self.channels and channel not in self.channels:
            allowed = ", ".join(self.channels)
            raise InvalidInput("channel", f"{self.details.name} is not sold in channel {channel!r} (only {allowed})")
        if isinstance(plan, LongTerm):
            if self.long_term is None:
                raise InvalidInput("plan.kind", f"{self.details.name} is not offered long-term")
            if plan.months not in self.long_term.terms:
                terms = ", ".join(map(str, self.long_term.terms))
                raise InvalidInput("plan.months", f"the terms offered are {terms} months")
        else:
            if self.short_term is None:
                raise InvalidInput("plan.kind", f"{self.details.name} is not offered short-term")
            low, high = self.short_term.min_days, self.short_term.max_days
            if not low <= plan.days <= high:
                raise InvalidInput("plan.end", f"a short-term lease lasts {low} to {high} days, not {plan.days}")

    def _require_live(self, action: str) -> None:
        if self.retired:
            raise InvalidState(f"product {self.details.name}", "retired", action)

    @event("Revised")
    def _revised(self, details: ProductDetails, protection: Protection, timestamp: datetime) -> None:
        self.details, self.protection = details, protection

    @event("PlansChanged")
    def _plans_changed(
        self, long_term: LongTermOffer | None, short_term: ShortTermOffer | None, timestamp: datetime
    ) -> None:
        self.long_term, self.short_term = long_term, short_term

    @event("SkuAdded")
    def _sku_added(self, sku: Sku, timestamp: datetime) -> None:
        self.skus[sku.id] = sku

    @event("SkuRepriced")
    def _sku_repriced(self, sku: Sku, timestamp: datetime) -> None:
        self.skus[sku.id] = sku

    @event("Retired")
    def _retired(self, timestamp: datetime) -> None:
        self.retired = True


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    return name.strip()


def _check_plans(long_term: LongTermOffer | None, short_term: ShortTermOffer | None) -> None:
    if long_term is None and short_term is None:
        raise InvalidInput("long_term", "a product is offered long-term, short-term or both")
    if long_term is not None:
        if not long_term.terms:
            raise InvalidInput("long_term.terms", "name at least one term")
        if any(months < 1 for months in long_term.terms) or len(set(long_term.terms)) != len(long_term.terms):
            raise InvalidInput("long_term.terms", "terms are distinct whole months ≥ 1")
    if short_term is not None:
        if short_term.min_days < 1:
            raise InvalidInput("short_term.min_days", "must be ≥ 1")
        if short_term.max_days < short_term.min_days:
            raise InvalidInput("short_term.max_days", "must be ≥ min_days")


def _check_protection(protection: Protection) -> None:
    if protection.mandatory and not protection.offered:
        raise InvalidInput("protection.mandatory", "protection that is not offered cannot be mandatory")


def _check_sku_prices(sku: Sku, long_term: LongTermOffer | None, short_term: ShortTermOffer | None) -> None:
    if long_term is not None:
        for months in long_term.terms:
            if sku.term_price(months) is None:
                raise InvalidInput("monthly_rent", f"SKU {sku.id} has no monthly rent for {months} months")
        if sku.renewal_monthly_rent is None:
            raise InvalidInput("renewal_monthly_rent", "a long-term SKU needs a renewal rent")
    if short_term is not None and sku.daily_rent is None:
        raise InvalidInput("daily_rent", "a short-term SKU needs a daily rent")


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

    @staticmethod
    def create_id(sku_id: UUID) -> UUID:
        return derived_id("inventory", sku_id)

    @event("Opened")
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

    @event("UnitsReceived")
    def _received(self, serials: tuple[str, ...], timestamp: datetime) -> None:
        for serial in serials:
            self.units[serial] = Unit(serial)

    @event("UnitsBooked")
    def _booked(
        self, order_id: UUID, serials: tuple[str, ...], start: date, end: date | None, timestamp: datetime
    ) -> None:
        for serial in serials:
            unit = self.units[serial]
            self.units[serial] = replace(unit, bookings=(*unit.bookings, Booking(order_id, start, end)))

    @event("UnitsShipped")
    def _shipped(
        self, order_id: UUID, serials: tuple[str, ...], start: date, end: date | None, timestamp: datetime
    ) -> None:
        for serial, unit in list(self.units.items()):
            unit = unit.without(order_id)
            if serial in serials:
                unit = replace(unit, bookings=(*unit.bookings, Booking(order_id, start, end)), leased_to=order_id)
            self.units[serial] = unit

    @event("UnitsReleased")
    def _released(self, order_id: UUID, timestamp: datetime) -> None:
        for serial, unit in list(self.units.items()):
            self.units[serial] = unit.without(order_id)

    @event("UnitsSold")
    def _sold(self, order_id: UUID, serials: tuple[str, ...], timestamp: datetime) -> None:
        for serial in serials:
            self.units[serial] = replace(self.units[serial].without(order_id), sold_to=order_id)

    @event("UnitRetired")
    def _unit_retired(self, serial: str, timestamp: datetime) -> None:
        self.units[serial] = replace(self.units[serial], retired=True)


def plan_dates(plan: Plan, today: date) -> tuple[date, date | None]:
    """The dates a plan holds its units: short-term its days, long-term from today until returned."""
    if isinstance(plan, ShortTerm):
        return plan.start, plan.end
    return today, None

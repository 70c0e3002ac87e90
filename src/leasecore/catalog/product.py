"""Products the operator lists: details, plans, accident protection and SKUs with their prices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState, NotFound
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import LongTerm, Plan


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

    Snapshot = TaggedSnapshot

    id: UUID

    class Listed(Aggregate.Created):
        details: ProductDetails
        long_term: LongTermOffer | None
        short_term: ShortTermOffer | None
        protection: Protection

    @event(Listed)
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

    class Revised(Aggregate.Event):
        details: ProductDetails
        protection: Protection

    @event(Revised)
    def _revised(self, details: ProductDetails, protection: Protection, timestamp: datetime) -> None:
        self.details, self.protection = details, protection

    class PlansChanged(Aggregate.Event):
        long_term: LongTermOffer | None
        short_term: ShortTermOffer | None

    @event(PlansChanged)
    def _plans_changed(
        self, long_term: LongTermOffer | None, short_term: ShortTermOffer | None, timestamp: datetime
    ) -> None:
        self.long_term, self.short_term = long_term, short_term

    class SkuAdded(Aggregate.Event):
        sku: Sku

    @event(SkuAdded)
    def _sku_added(self, sku: Sku, timestamp: datetime) -> None:
        self.skus[sku.id] = sku

    class SkuRepriced(Aggregate.Event):
        sku: Sku

    @event(SkuRepriced)
    def _sku_repriced(self, sku: Sku, timestamp: datetime) -> None:
        self.skus[sku.id] = sku

    class Retired(Aggregate.Event):
        """No more than that it happened."""

    @event(Retired)
    def _retired(self, timestamp: datetime) -> None:
        self.retired = True


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

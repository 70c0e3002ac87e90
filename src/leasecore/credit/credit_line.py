"""The revolving credit line: a quota of deposit waivers granted once and reused (一次授信, 循环可用)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.copies import CopiedBySharing
from leasecore.errors import InvalidInput, Overdue, QuotaExceeded
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import ZERO, derived_id, total


class CreditLine(CopiedBySharing, Aggregate):
    """A customer's revolving deposit-waiver quota; every unsettled order occupies its waiver. Its events
    reassign its attributes (a new `reserved` mapping each time), so its copy out of the cache shares them."""

    Snapshot = TaggedSnapshot

    @staticmethod
    def create_id(customer_id: UUID) -> UUID:
        return derived_id("credit-line", customer_id)

    class Granted(Aggregate.Created):
        customer_id: UUID
        quota: Decimal
        level: str | None

    @event(Granted)
    def __init__(self, customer_id: UUID, quota: Decimal, level: str | None, timestamp: datetime) -> None:
        self.customer_id, self.quota, self.level = customer_id, quota, level
        self.reserved: dict[UUID, Decimal] = {}
        self.overdue_orders: frozenset[UUID] = frozenset()

    @classmethod
    def grant(cls, customer_id: UUID, quota: Decimal, level: str | None, now: datetime) -> CreditLine:
        """A line opens with the quota of the customer's level (0 until a score is evaluated)."""
        _check_quota(quota)
        return cls(customer_id, quota, level, timestamp=now)

    @property
    def reserved_total(self) -> Decimal:
        return total(self.reserved.values())

    @property
    def available(self) -> Decimal:
        """What new orders may still take; never below zero, even after the quota is lowered."""
        return max(ZERO, self.quota - self.reserved_total)

    @property
    def is_blocked(self) -> bool:
        return bool(self.overdue_orders)

    def adjust(self, quota: Decimal, level: str | None, now: datetime) -> None:
        """A new evaluation sets a new quota; reservations already made stand."""
        _check_quota(quota)
        if (quota, level) != (self.quota, self.level):
            self._adjusted(quota, level, timestamp=now)

    def reserve(self, order_id: UUID, amount: Decimal, now: datetime) -> None:
        """An order may occupy at most what is still available, and nothing while one is overdue."""
        if order_id in self.reserved:
            raise InvalidInput("order_id", f"order {order_id} already holds a waiver")
        if amount <= ZERO:
            raise InvalidInput("waiver", "a reservation is more than 0")
        if self.is_blocked:
            raise Overdue("the credit line takes no new waivers while an order is overdue")
        if amount > self.available:
            raise QuotaExceeded(self.id, amount, self.available)
        self._reserved(order_id, amount, timestamp=now)

    def release(self, order_id: UUID, now: datetime) -> Decimal:
        """Settling, cancelling or rejecting frees the order's waiver, exactly once."""
        amount = self.reserved.get(order_id, ZERO)
        if order_id in self.reserved:
            self._released(order_id, amount, timestamp=now)
        return amount

    def mark_overdue(self, order_id: UUID, now: datetime) -> None:
        if order_id not in self.overdue_orders:
            self._overdue_marked(order_id, timestamp=now)

    def clear_overdue(self, order_id: UUID, now: datetime) -> None:
        if order_id in self.overdue_orders:
            self._overdue_cleared(order_id, timestamp=now)

    class QuotaAdjusted(Aggregate.Event):
        quota: Decimal
        level: str | None

    @event(QuotaAdjusted)
    def _adjusted(self, quota: Decimal, level: str | None, timestamp: datetime) -> None:
        self.quota, self.level = quota, level

    class WaiverReserved(Aggregate.Event):
        order_id: UUID
        amount: Decimal

    @event(WaiverReserved)
    def _reserved(self, order_id: UUID, amount: Decimal, timestamp: datetime) -> None:
        self.reserved = {**self.reserved, order_id: amount}

    class WaiverReleased(Aggregate.Event):
        order_id: UUID
        amount: Decimal

    @event(WaiverReleased)
    def _released(self, order_id: UUID, amount: Decimal, timestamp: datetime) -> None:
        self.reserved = {held: kept for held, kept in self.reserved.items() if held != order_id}

    class OverdueMarked(Aggregate.Event):
        order_id: UUID

    @event(OverdueMarked)
    def _overdue_marked(self, order_id: UUID, timestamp: datetime) -> None:
        self.overdue_orders = self.overdue_orders | {order_id}

    class OverdueCleared(Aggregate.Event):
        order_id: UUID

    @event(OverdueCleared)
    def _overdue_cleared(self, order_id: UUID, timestamp: datetime) -> None:
        self.overdue_orders = self.overdue_orders - {order_id}


def _check_quota(quota: Decimal) -> None:
    if quota < ZERO:
        raise InvalidInput("quota", "must be ≥ 0")

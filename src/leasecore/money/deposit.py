"""The security deposit of one order: required, paid, deducted, refunded (押金)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState
from leasecore.values import ZERO, derived_id


class Deposit(Aggregate):
    """An order's deposit: what was required after the waiver, paid, kept and given back.

    Refunded + deducted never exceed what was paid, so nothing ever goes negative.
    """

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return derived_id("deposit", order_id)

    class Required(Aggregate.Created):
        order_id: UUID
        amount: Decimal
        waived: Decimal

    @event(Required)
    def __init__(self, order_id: UUID, amount: Decimal, waived: Decimal, timestamp: datetime) -> None:
        self.order_id, self.amount, self.waived = order_id, amount, waived
        self.paid = self.deducted = self.refunded = ZERO

    @classmethod
    def require(cls, order_id: UUID, amount: Decimal, waived: Decimal, now: datetime) -> Deposit:
        """The deposit of the order; the waived part (信用免押) is never paid."""
        if amount < ZERO or not ZERO <= waived <= amount:
            raise InvalidInput("waiver", f"must lie between 0 and the deposit {amount}")
        return cls(order_id, amount, waived, timestamp=now)

    @property
    def due(self) -> Decimal:
        return self.amount - self.waived

    @property
    def held(self) -> Decimal:
        return self.paid - self.deducted - self.refunded

    def toward(self, amount: Decimal) -> Decimal:
        """What the deposit held puts toward an amount owed or a price: all of it, never more than it holds."""
        return min(amount, self.held)

    def pay(self, amount: Decimal, ref: str, now: datetime) -> None:
        """The part not waived is paid once, in full, at checkout."""
        if self.paid:
            raise InvalidState(f"deposit of order {self.order_id}", "paid", "pay it again")
        if amount != self.due:
            raise InvalidInput("amount", f"the deposit due is {self.due}, not {amount}")
        if amount:
            self._paid(amount, ref, timestamp=now)

    def deduct(self, amount: Decimal, reason: str, now: datetime) -> None:
        """Damage, unpaid rent or a buyout come out of the deposit held, never more than it."""
        if amount <= ZERO or amount > self.held:
            raise InvalidInput("amount", f"a deduction lies between 0 and the {self.held} held")
        self._deducted(amount, reason, timestamp=now)

    def refund(self, reason: str, now: datetime) -> Decimal:
        """Everything still held goes back to the customer; returns how much."""
        amount = self.held
        if amount > ZERO:
            self._refunded(amount, reason, timestamp=now)
        return amount

    class Paid(Aggregate.Event):
        amount: Decimal
        ref: str

    @event(Paid)
    def _paid(self, amount: Decimal, ref: str, timestamp: datetime) -> None:
        self.paid += amount

    class Deducted(Aggregate.Event):
        amount: Decimal
        reason: str

    @event(Deducted)
    def _deducted(self, amount: Decimal, reason: str, timestamp: datetime) -> None:
        self.deducted += amount

    class Refunded(Aggregate.Event):
        amount: Decimal
        reason: str

    @event(Refunded)
    def _refunded(self, amount: Decimal, reason: str, timestamp: datetime) -> None:
        self.refunded += amount

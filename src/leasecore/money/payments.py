"""Payments collected through a provider: requested with a server-computed amount, then settled
by the provider's verified notification."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState


class PaymentPurpose(Enum):
    CHECKOUT = "checkout"
    INSTALLMENTS = "installments"
    BUYOUT = "buyout"
    DAMAGE = "damage"


class PaymentStatus(Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Payment(Aggregate):
    """Money asked of the customer for one purpose of one order, and the provider's answer."""

    id: UUID

    class Requested(Aggregate.Created):
        order_id: UUID
        customer_id: UUID
        purpose: PaymentPurpose
        amount: Decimal
        provider: str

    @event(Requested)
    def __init__(
        self,
        order_id: UUID,
        customer_id: UUID,
        purpose: PaymentPurpose,
        amount: Decimal,
        provider: str,
        timestamp: datetime,
    ) -> None:
        self.order_id, self.customer_id, self.purpose = order_id, customer_id, purpose
        self.amount, self.provider = amount, provider
        self.status = PaymentStatus.PENDING
        self.transaction_id: str | None = None
        self.paid_amount: Decimal | None = None
        self.paid_at: datetime | None = None
        self.failure: str | None = None

    @classmethod
    def request(
        cls,
        order_id: UUID,
        customer_id: UUID,
        purpose: PaymentPurpose,
        amount: Decimal,
        provider: str,
        now: datetime,
        payment_id: UUID | None = None,
    ) -> Payment:
        """A payment asks for more than nothing, through a named provider."""
        if amount <= 0:
            raise InvalidInput("amount", "must be above 0")
        if not provider.strip():
            raise InvalidInput("provider", "must be named")
        return cls(  # type: ignore[call-arg]
            id=payment_id or uuid4(),
            order_id=order_id,
            customer_id=customer_id,
            purpose=purpose,
            amount=amount,
            provider=provider,
            timestamp=now,
        )

    def succeed(self, transaction_id: str, amount: Decimal, paid_at: datetime, now: datetime) -> bool:
        """The provider's success, once; a repeat of the same transaction changes nothing (False)."""
        if self.status is PaymentStatus.SUCCEEDED:
            if transaction_id == self.transaction_id:
                return False
            raise InvalidState(f"payment {self.id}", "succeeded", f"record transaction {transaction_id} too")
        if self.status is PaymentStatus.FAILED:
            raise InvalidState(f"payment {self.id}", "failed", "record a success")
        self._succeeded(transaction_id, amount, paid_at, timestamp=now)
        return True

    def fail(self, reason: str, now: datetime) -> None:
        """A payment the provider closed unpaid; failing twice is a no-op."""
        if self.status is PaymentStatus.SUCCEEDED:
            raise InvalidState(f"payment {self.id}", "succeeded", "record a failure")
        if self.status is PaymentStatus.PENDING:
            self._failed(reason, timestamp=now)

    class Succeeded(Aggregate.Event):
        transaction_id: str
        amount: Decimal
        paid_at: datetime

    @event(Succeeded)
    def _succeeded(self, transaction_id: str, amount: Decimal, paid_at: datetime, timestamp: datetime) -> None:
        self.status = PaymentStatus.SUCCEEDED
        self.transaction_id, self.paid_amount, self.paid_at = transaction_id, amount, paid_at

    class Failed(Aggregate.Event):
        reason: str

    @event(Failed)
    def _failed(self, reason: str, timestamp: datetime) -> None:
        self.status, self.failure = PaymentStatus.FAILED, reason

"""Refund instructions: every refund the domain records (`Deposit.Refunded`, the `refund` of
`Lease.Cancelled`, `Lease.ReviewRejected` and `Lease.Settled`, `Lease.StrayPaymentRefunded`) made
into instructions against the order's succeeded payments, exactly once (`leasecore.money.refunds`
says which payment each part goes back to); and each order's payments with what was refunded of them.

Each instruction's id is derived from its event, so sending it again is harmless; what the
providers answered is kept by the process that sends them (`api.processes.refunds`), apart from
this read model, so a rebuild never forgets what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, Index, Integer, Numeric, String, Table, Text, Uuid, bindparam, select

from leasecore.lease import Lease
from leasecore.money.deposit import Deposit
from leasecore.money.payments import Payment, PaymentStatus
from leasecore.money.refunds import Refundable, allocate, refund_id
from leasecore.topics import stored_topics
from leasecore.values import ZERO
from projections.prepared import Prepared
from projections.projection import Batch, Event, Projection, Row, blank, build, on
from projections.store import Instant, ViewStore, metadata, money

refund_payments_view = Table(
    "refund_payments_view",
    metadata,
    Column("payment_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("provider", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),
    money("amount"),
    Column("status", String(16), nullable=False),
    Column("transaction_id", String(128)),
    Column("paid_amount", Numeric(14, 2)),
    Column("paid_at", Instant),
    money("refunded"),
    Column("requested_at", Instant, nullable=False),
    Column("seq", Integer, nullable=False),
    Index("ix_refund_payments_view_order", "order_id"),
)

refund_index_view = Table(
    "refund_index_view",
    metadata,
    Column("aggregate_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
)

refunds_view = Table(
    "refunds_view",
    metadata,
    Column("refund_id", String(64), primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("payment_id", Uuid),
    Column("provider", String(64)),
    money("amount"),
    Column("reason", Text, nullable=False),
    Column("source", String(80), nullable=False),
    Column("created_at", Instant, nullable=False),
    Index("ix_refunds_view_order", "order_id", "created_at"),
)


_REFUNDING = (Deposit.Refunded, Lease.Cancelled, Lease.ReviewRejected, Lease.Settled, Lease.StrayPaymentRefunded)
MAKING_REFUNDS = tuple(topic for event_class in _REFUNDING for topic in stored_topics(event_class))
"""The topics of the events that make refund instructions (`refunds_view` rows): those the dispatcher waits for."""


class RefundsProjection(Projection):
    """Each order's payments and the refund instructions its refund events make of them."""

    name = "refunds"
    tables = (refund_payments_view, refund_index_view, refunds_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        index = batch.rows(refund_index_view, "aggregate_id")
        index.prefetch(event.originator_id for event in events)
        orders = {getattr(event, "order_id", None) for event in events} | {
            event.originator_id for event in events if isinstance(event, Lease.Event)
        }
        orders.update(row["order_id"] for event in events for row in index.get(event.originator_id))
        orders.discard(None)
        batch.rows(refund_payments_view, "order_id").prefetch(orders)
        batch.rows(refunds_view, "order_id").prefetch(orders)

    @on(Payment.Requested)
    def requested(self, batch: Batch, event: Event) -> None:
        payments = batch.rows(refund_payments_view, "order_id")
        rows = payments.get(event.order_id)
        if any(row["payment_id"] == event.originator_id for row in rows):
            return
        row = blank(
            refund_payments_view,
            payment_id=event.originator_id,
            order_id=event.order_id,
            customer_id=event.customer_id,
            version=event.originator_version,
            provider=event.provider,
            purpose=event.purpose.value,
            amount=event.amount,
            status=PaymentStatus.PENDING.value,
            refunded=ZERO,
            requested_at=event.timestamp,
            seq=len(rows) + 1,
        )
        payments.put(event.order_id, [*rows, row])
        self._index(batch, event.originator_id, event.order_id, "payment")

    @on(Payment.Succeeded, Payment.Failed)
    def settled(self, batch: Batch, event: Event) -> None:
        order_id = self._order_of(batch, event.originator_id)
        rows = batch.rows(refund_payments_view, "order_id").get(order_id) if order_id else []
        row = next((row for row in rows if row["payment_id"] == event.originator_id), None)
        if row is None or event.originator_version <= row["version"]:
            return
        row["version"] = event.originator_version
        if isinstance(event, Payment.Succeeded):
            row.update(
                status=PaymentStatus.SUCCEEDED.value,
                transaction_id=event.transaction_id,
                paid_amount=event.amount,
                paid_at=event.paid_at,
            )
        else:
            row["status"] = PaymentStatus.FAILED.value

    @on(Deposit.Required)
    def deposit_required(self, batch: Batch, event: Event) -> None:
        self._index(batch, event.originator_id, event.order_id, "deposit")

    @on(Deposit.Refunded)
    def deposit_refunded(self, batch: Batch, event: Event) -> None:
        order_id = self._order_of(batch, event.originator_id)
        if order_id is not None:
            self._refund(batch, event, order_id, event.amount, f"deposit refunded: {event.reason}")

    @on(Lease.Cancelled, Lease.ReviewRejected, Lease.Settled)
    def order_refunded(self, batch: Batch, event: Event) -> None:
        reason = {Lease.Cancelled: "rent refunded: cancelled", Lease.ReviewRejected: "rent refunded: rejected"}
        why = reason.get(type(event), "credit refunded at settlement")
        self._refund(
            batch, event, event.originator_id, event.refund, why, newest_first=isinstance(event, Lease.Settled)
        )

    @on(Lease.StrayPaymentRefunded)
    def stray(self, batch: Batch, event: Event) -> None:
        self._refund(batch, event, event.originator_id, event.amount, "stray payment refunded", prefer=event.ref)

    def _index(self, batch: Batch, aggregate_id: UUID, order_id: UUID, kind: str) -> None:
        index = batch.rows(refund_index_view, "aggregate_id")
        if index.one(aggregate_id) is None:
            index.put(aggregate_id, [blank(refund_index_view, aggregate_id=aggregate_id, order_id=order_id, kind=kind)])

    def _order_of(self, batch: Batch, aggregate_id: UUID) -> UUID | None:
        row = batch.rows(refund_index_view, "aggregate_id").one(aggregate_id)
        return row["order_id"] if row else None

    def _refund(
        self,
        batch: Batch,
        event: Event,
        order_id: UUID,
        amount: Decimal,
        reason: str,
        *,
        prefer: str | None = None,
        newest_first: bool = False,
    ) -> None:
        if amount <= ZERO:
            return
        source = f"{event.originator_id}/{event.originator_version}"
        refunds = batch.rows(refunds_view, "order_id")
        existing = refunds.get(order_id)
        if any(row["source"] == source for row in existing):
            return
        payments = {row["payment_id"]: row for row in batch.rows(refund_payments_view, "order_id").get(order_id)}
        made = []
        for index, (payment_id, part) in enumerate(
            allocate(_refundable(payments.values()), amount, prefer, newest_first)
        ):
            payment = payments[payment_id] if payment_id is not None else None
            if payment is not None:
                payment["refunded"] += part
            made.append(
                blank(
                    refunds_view,
                    refund_id=refund_id(source, index),
                    order_id=order_id,
                    payment_id=payment["payment_id"] if payment else None,
                    provider=payment["provider"] if payment else None,
                    amount=part,
                    reason=reason,
                    source=source,
                    created_at=event.timestamp,
                )
            )
        refunds.put(order_id, [*existing, *made])


def _refundable(payments: Iterable[Row]) -> list[Refundable]:
    return [
        Refundable(row["payment_id"], row["transaction_id"], row["seq"], (row["paid_amount"] or ZERO) - row["refunded"])
        for row in payments
        if row["status"] == PaymentStatus.SUCCEEDED.value
    ]


# Queries.


@dataclass(frozen=True)
class PaymentRecord:
    payment_id: UUID
    order_id: UUID
    customer_id: UUID
    purpose: str
    provider: str
    amount: Decimal
    status: str
    transaction_id: str | None
    paid_amount: Decimal | None
    paid_at: datetime | None
    refunded: Decimal
    requested_at: datetime


def payments(views: ViewStore, order_id: UUID) -> list[PaymentRecord]:
    """An order's payments, oldest first, with what has been refunded of each."""
    return [build(PaymentRecord, row) for row in _PAYMENTS.all(views, order_id=order_id)]


_PAYMENTS = Prepared(
    select(refund_payments_view)
    .where(refund_payments_view.c.order_id == bindparam("order_id"))
    .order_by(refund_payments_view.c.requested_at, refund_payments_view.c.payment_id)
)

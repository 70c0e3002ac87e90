"""Refunds that really go back through the payment provider.

A projection turns every refund the domain records (`Deposit.Refunded`, the `refund` of
`Lease.Cancelled`, `Lease.ReviewRejected` and `Lease.Settled`, `Lease.StrayPaymentRefunded`) into
refund instructions against the order's succeeded payments, exactly once (the runner's tracking);
each instruction's id is derived from its event, so asking the provider again is harmless. The
dispatcher claims each instruction in `api_refund_outcomes` (kept apart from the projection, so a
rebuild never forgets what was sent), calls `gateway.refund` and records the provider's answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import Column, Index, Integer, MetaData, Numeric, String, Table, Text, Uuid, and_, or_, select, update

from api.store import ApiStore, api_refund_outcomes, insert_ignore
from leasecore.lease import Lease
from leasecore.money.deposit import Deposit
from leasecore.money.payments import Payment, PaymentStatus
from leasecore.ports import PaymentGateway
from leasecore.values import NAMESPACE, ZERO
from projections.projection import Batch, Event, Projection, Row, blank, on
from projections.store import ViewStore
from projections.tables import Instant, money

log = logging.getLogger(__name__)
metadata = MetaData()

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
        payments = batch.rows(refund_payments_view, "order_id").get(order_id)
        made = []
        for index, (payment, part) in enumerate(allocate(payments, amount, prefer, newest_first)):
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


def allocate(
    payments: Sequence[Row], amount: Decimal, prefer: str | None = None, newest_first: bool = False
) -> list[tuple[Row | None, Decimal]]:
    """Split a refund over the succeeded payments still refundable: the one named by `prefer` (a
    transaction id) first, then in the order they were asked for (newest first when asked); what none
    can take is left unmatched (None)."""
    refundable = [
        row
        for row in payments
        if row["status"] == PaymentStatus.SUCCEEDED.value and (row["paid_amount"] or ZERO) > row["refunded"]
    ]
    refundable.sort(key=lambda row: row["seq"], reverse=newest_first)
    refundable.sort(key=lambda row: prefer is None or row["transaction_id"] != prefer)
    parts: list[tuple[Row | None, Decimal]] = []
    left = amount
    for row in refundable:
        if left <= ZERO:
            break
        part = min(left, row["paid_amount"] - row["refunded"])
        parts.append((row, part))
        left -= part
    if left > ZERO:
        parts.append((None, left))
    return parts


def refund_id(source: str, index: int) -> str:
    """A refund's id, the same whenever its event is processed (providers dedupe on it)."""
    return "rf" + uuid5(NAMESPACE, f"refund/{source}/{index}").hex


# Reading and dispatching.


@dataclass(frozen=True)
class RefundRecord:
    refund_id: str
    order_id: UUID
    payment_id: UUID | None
    provider: str | None
    amount: Decimal
    reason: str
    state: str
    detail: str | None
    attempts: int
    created_at: datetime


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
    table = refund_payments_view.c
    query = (
        select(refund_payments_view).where(table.order_id == order_id).order_by(table.requested_at, table.payment_id)
    )
    with views.read() as connection:
        return [
            PaymentRecord(**{name: row[name] for name in PaymentRecord.__dataclass_fields__})
            for row in connection.execute(query).mappings()
        ]


def refunds(views: ViewStore, *, order_id: UUID | None = None, limit: int = 100, offset: int = 0) -> list[RefundRecord]:
    """Refund instructions with what the provider answered, newest first."""
    query = _with_outcomes().order_by(refunds_view.c.created_at.desc(), refunds_view.c.refund_id)
    if order_id is not None:
        query = query.where(refunds_view.c.order_id == order_id)
    with views.read() as connection:
        return [_record(row) for row in connection.execute(query.limit(limit).offset(offset)).mappings()]


def _with_outcomes() -> Any:
    outcomes = api_refund_outcomes.c
    return select(
        refunds_view, outcomes.state, outcomes.detail, outcomes.attempts, outcomes.updated_at.label("sent_at")
    ).select_from(refunds_view.outerjoin(api_refund_outcomes, outcomes.refund_id == refunds_view.c.refund_id))


def _record(row: Any) -> RefundRecord:
    state = row["state"] or ("unmatched" if row["payment_id"] is None else "pending")
    return RefundRecord(
        refund_id=row["refund_id"],
        order_id=row["order_id"],
        payment_id=row["payment_id"],
        provider=row["provider"],
        amount=row["amount"],
        reason=row["reason"],
        state=state,
        detail=row["detail"],
        attempts=row["attempts"] or 0,
        created_at=row["created_at"],
    )


class RefundDispatcher:
    """Sends pending refund instructions to their providers; a failed call is tried again later."""

    def __init__(
        self,
        views: ViewStore,
        store: ApiStore,
        gateways: Mapping[str, PaymentGateway],
        *,
        retry_after: timedelta = timedelta(seconds=30),
        max_attempts: int = 8,
    ) -> None:
        self.views, self.store, self.gateways = views, store, gateways
        self.retry_after, self.max_attempts = retry_after, max_attempts
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def dispatch(self, limit: int = 100) -> int:
        """Send what is due now; returns how many instructions this call sent."""
        sent = 0
        with self._lock:
            for row in self._due(limit):
                if self._claim(row):
                    self._send(row)
                    sent += 1
        return sent

    def start(self, interval: float = 2.0) -> None:
        """Dispatch in the background every `interval` seconds too (instructions made by other processes)."""
        if self._thread is not None:
            return
        self._stopping.clear()

        def loop() -> None:
            while not self._stopping.wait(interval):
                try:
                    self.dispatch()
                except Exception as error:
                    log.warning("refund dispatch failed; retrying: %s", error)

        self._thread = threading.Thread(target=loop, name="leasecore-refunds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _due(self, limit: int) -> list[Any]:
        outcomes = api_refund_outcomes.c
        stale = datetime.now(UTC) - self.retry_after
        retry = and_(
            outcomes.state.in_(("sending", "failed")),
            outcomes.updated_at < stale,
            outcomes.attempts < self.max_attempts,
        )
        query = (
            _with_outcomes()
            .where(refunds_view.c.payment_id.is_not(None), or_(outcomes.refund_id.is_(None), retry))
            .order_by(refunds_view.c.created_at, refunds_view.c.refund_id)
            .limit(limit)
        )
        with self.views.read() as connection:
            return list(connection.execute(query).mappings())

    def _claim(self, row: Any) -> bool:
        now = datetime.now(UTC)
        outcomes = api_refund_outcomes.c
        with self.store.begin() as connection:
            if row["state"] is None:
                claimed = {"refund_id": row["refund_id"], "state": "sending", "attempts": 1, "updated_at": now}
                return insert_ignore(connection, api_refund_outcomes, claimed, ("refund_id",))
            moved = connection.execute(
                update(api_refund_outcomes)
                .where(
                    outcomes.refund_id == row["refund_id"],
                    outcomes.state == row["state"],
                    outcomes.attempts == row["attempts"],
                )
                .values(state="sending", attempts=row["attempts"] + 1, updated_at=now)
            )
            return moved.rowcount == 1

    def _send(self, row: Any) -> None:
        gateway = self.gateways.get(row["provider"])
        try:
            if gateway is None:
                raise LookupError(f"no payment provider {row['provider']!r} is configured")
            receipt = gateway.refund(str(row["payment_id"]), row["refund_id"], row["amount"])
            state, detail = ("accepted", None) if receipt.accepted else ("refused", receipt.reason)
        except Exception as error:
            log.warning("refund %s to %s failed: %s", row["refund_id"], row["provider"], error)
            state, detail = "failed", str(error) or type(error).__name__
        with self.store.begin() as connection:
            connection.execute(
                update(api_refund_outcomes)
                .where(api_refund_outcomes.c.refund_id == row["refund_id"])
                .values(state=state, detail=detail, updated_at=datetime.now(UTC))
            )

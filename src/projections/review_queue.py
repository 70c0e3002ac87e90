"""The manual review queue (role risk): orders automated review could not pass, with its reasons.

Every order has a row from placing on, in one of the states `placed`, `paid`, `queued`,
`approved`, `rejected`, `cancelled`; the queue is the `queued` ones, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    select,
)

from leasecore.lease import Lease
from projections.projection import (
    Batch,
    Event,
    Projection,
    blank,
    build,
    check_page,
    is_new,
    on,
)
from projections.store import Instant, ViewStore, metadata, money

review_queue_view = Table(
    "review_queue_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("sku_id", Uuid, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("deposit_mode", String(8), nullable=False),
    money("deposit"),
    money("waiver"),
    money("due_now"),
    Column("state", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("placed_at", Instant, nullable=False),
    Column("queued_at", Instant),
    Column("decided_at", Instant),
    Column("reviewer", String(64)),
    Column("decision_reason", Text),
    Index("ix_review_queue_view_state", "state", "queued_at"),
)

STATE_AFTER: dict[type, str] = {
    Lease.CheckoutPaid: "paid",
    Lease.ReviewQueued: "queued",
    Lease.ReviewApproved: "approved",
    Lease.ReviewRejected: "rejected",
    Lease.Cancelled: "cancelled",
}


class ReviewQueueProjection(Projection):
    """Who waits for a reviewer, since when and why; and who decided, when and why."""

    name = "review_queue"
    tables = (review_queue_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(review_queue_view, "order_id").prefetch(event.originator_id for event in events)

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(review_queue_view, "order_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            review_queue_view,
            order_id=event.originator_id,
            version=event.originator_version,
            customer_id=event.customer_id,
            sku_id=event.sku_id,
            channel=event.channel,
            deposit_mode=event.deposit_mode.value,
            deposit=event.deposit,
            waiver=event.waiver,
            due_now=event.deposit - event.waiver + event.schedule[0].amount,
            state="placed",
            reasons=[],
            placed_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(*STATE_AFTER)
    def moved(self, batch: Batch, event: Event) -> None:
        row = batch.rows(review_queue_view, "order_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["state"] = event.originator_version, STATE_AFTER[type(event)]
        if isinstance(event, Lease.ReviewQueued):
            row["reasons"], row["queued_at"] = list(event.reasons), event.timestamp
        elif isinstance(event, Lease.ReviewApproved | Lease.ReviewRejected):
            row["reviewer"], row["decision_reason"], row["decided_at"] = event.reviewer, event.reason, event.timestamp


# Queries.


@dataclass(frozen=True)
class ReviewItem:
    order_id: UUID
    customer_id: UUID
    sku_id: UUID
    channel: str
    deposit_mode: str
    deposit: Decimal
    waiver: Decimal
    due_now: Decimal
    reasons: tuple[str, ...]
    placed_at: datetime
    queued_at: datetime


def review_queue(views: ViewStore, *, limit: int = 100, offset: int = 0) -> list[ReviewItem]:
    """Orders waiting for a reviewer, oldest first."""
    check_page(limit, offset)
    table = review_queue_view.c
    query = (
        select(review_queue_view)
        .where(table.state == "queued")
        .order_by(table.queued_at, table.order_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [build(ReviewItem, row, reasons=tuple(row["reasons"])) for row in connection.execute(query).mappings()]

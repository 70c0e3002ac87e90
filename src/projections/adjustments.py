"""Finance's adjustments to orders: each late fee waived and goodwill credit granted, with its reason and who
made it. What they do to the ledger shows where the ledger does (installments, collections, finance)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    select,
)

from leasecore.lease import Lease
from projections.orders import LEDGER_EVENTS
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Projection,
    blank,
    build,
    on,
)
from projections.store import Instant, ViewStore, metadata, money

ADJUSTMENT_EVENTS: tuple[type, ...] = (Lease.LateFeeWaived, Lease.GoodwillCredited)
LEDGER_CHANGES: tuple[type, ...] = LEDGER_EVENTS
"""Every lease event after which its ledger may differ (`projections.orders.LEDGER_EVENTS`, adjustments included)."""

KINDS = {Lease.LateFeeWaived: "waive_late_fee", Lease.GoodwillCredited: "goodwill_credit"}

adjustments_view = Table(
    "adjustments_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("seq", Integer),
    money("amount"),
    Column("reason", Text, nullable=False),
    Column("staff", String(64), nullable=False),
    Column("made_at", Instant, nullable=False),
)
"""One row per adjustment, keyed by the order and the version of the lease event that made it."""


class AdjustmentsProjection(Projection):
    """Each order's adjustments in the order they were made."""

    name = "adjustments"
    tables = (adjustments_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(adjustments_view, "order_id").prefetch(event.originator_id for event in events)

    @on(*ADJUSTMENT_EVENTS)
    def adjusted(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(adjustments_view, "order_id")
        current = rows.get(event.originator_id)
        if any(row["version"] >= event.originator_version for row in current):
            return
        row = blank(
            adjustments_view,
            order_id=event.originator_id,
            version=event.originator_version,
            kind=KINDS[type(event)],
            seq=getattr(event, "seq", None),
            amount=event.amount,
            reason=event.reason,
            staff=event.staff,
            made_at=event.timestamp,
        )
        rows.put(event.originator_id, [*current, row])


# Queries.


@dataclass(frozen=True)
class AdjustmentView:
    """`seq` is the installment whose late fee was waived (None for a goodwill credit)."""

    kind: str
    seq: int | None
    amount: Decimal
    reason: str
    staff: str
    made_at: datetime


def adjustments(views: ViewStore, order_id: UUID) -> list[AdjustmentView]:
    """The order's adjustments, oldest first."""
    return [build(AdjustmentView, row) for row in _ADJUSTMENTS.all(views, order_id=order_id)]


_ADJUSTMENTS = Prepared(
    select(adjustments_view)
    .where(adjustments_view.c.order_id == bindparam("order_id"))
    .order_by(adjustments_view.c.version)
)

"""The manual review queue (role risk): orders automated review could not pass, with its reasons.

Every order has a row from placing on, in one of the states `placed`, `paid`, `queued`,
`approved`, `rejected`, `cancelled`; the queue is the `queued` ones, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from leasecore.lease import Lease
from projections.projection import Batch, Event, Projection, blank, is_new, on
from projections.tables import review_queue_view

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

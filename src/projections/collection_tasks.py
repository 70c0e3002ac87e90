"""Collections (催收) tasks: each order's collection stage, what is overdue, and whom to call."""

from __future__ import annotations

from collections.abc import Sequence

from leasecore.lease import Lease, LeaseStatus
from leasecore.lease.ledger import InstallmentStatus
from leasecore.values import ZERO, total
from projections.orders import LEDGER_EVENTS, STATUS_AFTER
from projections.projection import Batch, Event, Projection, blank, is_new, on
from projections.tables import collection_tasks_view


class CollectionTasksProjection(Projection):
    """An order's stage (sms, call, agency or none), days overdue, overdue amount and unpaid fees."""

    name = "collection_tasks"
    tables = (collection_tasks_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(collection_tasks_view, "order_id").prefetch(event.originator_id for event in events)

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(collection_tasks_view, "order_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            collection_tasks_view,
            order_id=event.originator_id,
            version=event.originator_version,
            customer_id=event.customer_id,
            contact_name=event.address.name,
            contact_phone=event.address.phone,
            order_status=LeaseStatus.PENDING_PAYMENT.value,
            days_overdue=0,
            overdue_amount=ZERO,
            late_fees=ZERO,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(*STATUS_AFTER, *LEDGER_EVENTS, Lease.CollectionStageChanged)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(collection_tasks_view, "order_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        status = STATUS_AFTER.get(type(event))
        if status is not None:
            row["order_status"] = status.value
        if isinstance(event, LEDGER_EVENTS):
            balances = event.ledger.balances
            overdue = [b for b in balances if b.status is InstallmentStatus.OVERDUE]
            row["days_overdue"] = event.ledger.days_overdue
            row["overdue_amount"] = total(b.owed for b in overdue)
            row["late_fees"] = total(b.late_fee - b.fee_paid for b in balances)
        if isinstance(event, Lease.CollectionStageChanged):
            if event.stage != row["stage"]:
                row["stage_since"] = event.timestamp if event.stage else None
            row["stage"], row["days_overdue"] = event.stage, event.days_overdue

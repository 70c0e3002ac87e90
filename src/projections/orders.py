"""The order list: one row per order, by customer and by status, with the fields of the API order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from leasecore.lease import Lease, LeaseStatus
from leasecore.values import ShortTerm, add_months
from projections.projection import Batch, Event, Projection, Row, blank, is_new, on
from projections.tables import orders_view

STATUS_AFTER: dict[type, LeaseStatus] = {
    Lease.CheckoutPaid: LeaseStatus.PENDING_REVIEW,
    Lease.ReviewApproved: LeaseStatus.PENDING_CONTRACT,
    Lease.ReviewRejected: LeaseStatus.REJECTED,
    Lease.Cancelled: LeaseStatus.CANCELLED,
    Lease.ContractSigned: LeaseStatus.PENDING_SHIPMENT,
    Lease.Shipped: LeaseStatus.SHIPPED,
    Lease.Delivered: LeaseStatus.LEASING,
    Lease.ReturnRequested: LeaseStatus.RETURNING,
    Lease.SwappedOut: LeaseStatus.RETURNING,
    Lease.DeviceReturned: LeaseStatus.INSPECTING,
    Lease.SettlementPending: LeaseStatus.PENDING_SETTLEMENT,
    Lease.BoughtOut: LeaseStatus.BOUGHT_OUT,
    Lease.Settled: LeaseStatus.SETTLED,
}
"""The status each event leaves an order in (events not listed leave it where it was)."""

LEDGER_EVENTS = (
    Lease.CheckoutPaid,
    Lease.Delivered,
    Lease.InstallmentPaid,
    Lease.OverdueAssessed,
    Lease.RenewalAgreed,
    Lease.BoughtOut,
    Lease.BalancePaid,
)


class OrdersProjection(Projection):
    """Orders as the API shows them: status, plan, deposit and waiver, units, collection stage."""

    name = "orders"
    tables = (orders_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(orders_view, "id").prefetch(event.originator_id for event in events)

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(orders_view, "id")
        if not is_new(rows.one(event.originator_id), event):
            return
        terms, plan = event.terms, event.terms.plan
        short = isinstance(plan, ShortTerm)
        rows.put(
            event.originator_id,
            [
                blank(
                    orders_view,
                    id=event.originator_id,
                    version=event.originator_version,
                    status=LeaseStatus.PENDING_PAYMENT.value,
                    customer_id=event.customer_id,
                    product_id=event.product_id,
                    sku_id=event.sku_id,
                    quantity=terms.quantity,
                    plan_kind=plan.kind.value,
                    plan_months=None if short else plan.months,
                    months=None if short else len(event.schedule),
                    plan_start=plan.start if short else None,
                    plan_end=plan.end if short else None,
                    protection=terms.damage_excess is not None,
                    deposit_mode=event.deposit_mode.value,
                    deposit=event.deposit,
                    waiver=event.waiver,
                    deposit_due=event.deposit - event.waiver,
                    due_now=event.deposit - event.waiver + event.schedule[0].amount,
                    unit_serials=[],
                    channel=event.channel,
                    swapped_from=event.swapped_from,
                    days_overdue=0,
                    created_at=event.timestamp,
                    updated_at=event.timestamp,
                )
            ],
        )

    @on(*STATUS_AFTER, Lease.ReviewQueued, Lease.CollectionStageChanged, Lease.InstallmentPaid)
    @on(Lease.OverdueAssessed, Lease.RenewalAgreed, Lease.BalancePaid, Lease.InspectionCompleted)
    @on(Lease.StrayPaymentRefunded)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(orders_view, "id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        status = STATUS_AFTER.get(type(event))
        if status is not None:
            row["status"] = status.value
        if isinstance(event, LEDGER_EVENTS):
            row["days_overdue"] = event.ledger.days_overdue
        _apply(row, event)


def _apply(row: Row, event: Event) -> None:
    if isinstance(event, Lease.Cancelled | Lease.ReviewRejected):
        row["reason"] = event.reason
    elif isinstance(event, Lease.ContractSigned):
        row["contract_id"] = event.contract_id
    elif isinstance(event, Lease.Shipped):
        row["unit_serials"] = list(event.unit_serials)
        row["carrier"], row["tracking_no"] = event.carrier, event.tracking_no
    elif isinstance(event, Lease.Delivered):
        if row["plan_kind"] == "long":
            row["plan_start"] = event.start
            row["months"] = len(event.schedule)
            row["plan_end"] = _long_term_end(row)
    elif isinstance(event, Lease.RenewalAgreed):
        row["months"] = (row["months"] or 0) + event.months
        row["plan_end"] = _long_term_end(row)
    elif isinstance(event, Lease.ReturnRequested):
        row["return_tracking_no"] = event.tracking_no
    elif isinstance(event, Lease.SwappedOut):
        row["swapped_to"] = event.new_order_id
        row["return_tracking_no"] = event.tracking_no
    elif isinstance(event, Lease.CollectionStageChanged):
        row["collection_stage"] = event.stage
        row["days_overdue"] = event.days_overdue


def _long_term_end(row: Row) -> date | None:
    """A long-term lease's last day: start + months − 1 day (renewals add months)."""
    if row["plan_start"] is None or row["months"] is None:
        return None
    return add_months(row["plan_start"], row["months"]) - timedelta(days=1)

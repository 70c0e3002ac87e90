"""The order list: one row per order, by customer and by status, with the fields of the API order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
)

from leasecore.lease import AUTOMATIC, STATUS_AFTER, Lease, LeaseStatus, status_after
from leasecore.values import ShortTerm, add_months
from projections.projection import (
    Batch,
    Event,
    Page,
    Projection,
    Row,
    blank,
    check_page,
    field_names,
    is_new,
    on,
)
from projections.store import Instant, ViewStore, metadata, money

orders_view = Table(
    "orders_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("product_id", Uuid, nullable=False),
    Column("sku_id", Uuid, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("plan_kind", String(8), nullable=False),
    Column("plan_months", Integer),
    Column("months", Integer),
    Column("plan_start", Date),
    Column("plan_end", Date),
    Column("protection", Boolean, nullable=False),
    Column("deposit_mode", String(8), nullable=False),
    money("deposit"),
    money("waiver"),
    money("deposit_due"),
    money("due_now"),
    Column("unit_serials", JSON, nullable=False),
    Column("carrier", String(64)),
    Column("tracking_no", String(64)),
    Column("return_tracking_no", String(64)),
    Column("contract_id", String(128)),
    Column("channel", String(32), nullable=False),
    Column("swapped_from", Uuid),
    Column("swapped_to", Uuid),
    Column("collection_stage", String(16)),
    Column("days_overdue", Integer, nullable=False),
    Column("reason", Text),
    Column("review_reasons", JSON, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_orders_view_customer", "customer_id", "created_at"),
    Index("ix_orders_view_status", "status", "created_at"),
    Index("ix_orders_view_customer_status", "customer_id", "status", "created_at"),
)

STATUS_EVENTS = tuple(getattr(Lease, name) for name in STATUS_AFTER)
"""The lease events that move an order's status (`leasecore.lease`'s state machine says where to)."""

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
    needs_ledgers = True
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
                    review_reasons=[],
                    channel=event.channel,
                    swapped_from=event.swapped_from,
                    days_overdue=0,
                    created_at=event.timestamp,
                    updated_at=event.timestamp,
                )
            ],
        )

    @on(*STATUS_EVENTS, Lease.ReviewQueued, Lease.CollectionStageChanged, Lease.InstallmentPaid)
    @on(Lease.OverdueAssessed, Lease.RenewalAgreed, Lease.BalancePaid, Lease.InspectionCompleted)
    @on(Lease.StrayPaymentRefunded)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(orders_view, "id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        status = status_after(event)
        if status is not None:
            row["status"] = status.value
        if isinstance(event, LEDGER_EVENTS):
            row["days_overdue"] = batch.ledger(event).days_overdue
        _apply(row, event)


def _apply(row: Row, event: Event) -> None:
    if isinstance(event, Lease.Cancelled | Lease.ReviewRejected):
        row["reason"] = event.reason
    elif isinstance(event, Lease.ReviewQueued):
        row["review_reasons"] = list(event.reasons)
    elif isinstance(event, Lease.ReviewApproved) and event.reviewer == AUTOMATIC:
        row["review_reasons"] = [event.reason]
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


# Queries.


@dataclass(frozen=True)
class PlanView:
    """`long` with its months (renewals included) or `short`; the lease's first and last day
    (a long-term lease has them from receipt on)."""

    kind: str
    months: int | None
    start: date | None
    end: date | None


@dataclass(frozen=True)
class OrderView:
    id: UUID
    status: str
    customer_id: UUID
    product_id: UUID
    sku_id: UUID
    quantity: int
    plan: PlanView
    protection: bool
    deposit_mode: str
    deposit: Decimal
    waiver: Decimal
    deposit_due: Decimal
    due_now: Decimal
    unit_serials: tuple[str, ...]
    channel: str
    carrier: str | None
    tracking_no: str | None
    return_tracking_no: str | None
    contract_id: str | None
    swapped_from: UUID | None
    swapped_to: UUID | None
    collection_stage: str | None
    days_overdue: int
    reason: str | None
    review_reasons: tuple[str, ...]
    """Why review was automatic, or why it was not (the reasons a reviewer saw)."""
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def unit_serial(self) -> str | None:
        return self.unit_serials[0] if self.unit_serials else None


def order(views: ViewStore, order_id: UUID) -> OrderView | None:
    with views.read() as connection:
        row = connection.execute(select(orders_view).where(orders_view.c.id == order_id)).mappings().first()
    return _order(row) if row else None


def orders(
    views: ViewStore,
    *,
    customer_id: UUID | None = None,
    status: LeaseStatus | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[OrderView]:
    """Newest first; by customer, by status, or both."""
    check_page(limit, offset)
    conditions = []
    if customer_id is not None:
        conditions.append(orders_view.c.customer_id == customer_id)
    if status is not None:
        conditions.append(orders_view.c.status == LeaseStatus(status).value)
    query = (
        select(orders_view)
        .where(*conditions)
        .order_by(orders_view.c.created_at.desc(), orders_view.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        items = [_order(row) for row in connection.execute(query).mappings()]
        total = connection.execute(select(func.count()).select_from(orders_view).where(*conditions)).scalar_one()
    return Page(items, int(total), limit, offset)


def _order(row: Any) -> OrderView:
    values = {name: row[name] for name in field_names(OrderView) if name in row}
    plan = PlanView(row["plan_kind"], row["months"], row["plan_start"], row["plan_end"])
    return OrderView(
        **{
            **values,
            "plan": plan,
            "unit_serials": tuple(row["unit_serials"]),
            "review_reasons": tuple(row["review_reasons"]),
        }
    )

"""Read models as the contract's answers: orders with their installments, credit lines, products."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import projections.adjustments
import projections.collection_tasks
import projections.customers
import projections.installments
import projections.orders
import projections.stock
from api.http.schemas.admin_orders import AdminOrderOut
from api.http.schemas.catalog import CategoryNode, ProductOut
from api.http.schemas.common import CENT, Row
from api.http.schemas.me import CreditLineOut
from api.http.schemas.orders import OrderOut
from leasecore.application import LeaseApplication
from leasecore.errors import LeaseError, NotFound
from leasecore.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.lease.ledger import Balance, InstallmentStatus
from leasecore.money.deposit import Deposit
from leasecore.values import total
from projections import catalog
from projections.adjustments import LEDGER_CHANGES
from projections.catalog import ProductView
from projections.collection_tasks import CollectionTask
from projections.credit_lines import CreditLineView
from projections.installments import InstallmentView, OverdueEntry
from projections.ledgers import LeaseLedgers
from projections.orders import OrderView
from projections.store import ViewStore


def order(app: LeaseApplication, views: ViewStore, order_id: UUID, customer_id: UUID | None = None) -> OrderOut:
    """The order with its installments; 404 when there is none, or it is another customer's."""
    found = projections.orders.order(views, order_id)
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise NotFound("order", order_id)
    return order_out(app, found, projections.installments.installments(views, order_id))


def order_as_saved(app: LeaseApplication, order_id: UUID) -> OrderOut:
    """The order as `order` will answer it once the read models have applied what is saved of it now, without
    waiting for them: its lease's and its deposit's events applied in memory by the read models' own handlers (a
    command's answer from what it just wrote). The events are this thread's last save where it created the
    aggregate (placing the order: its whole history), else read from the event store."""
    events = [*_history(app, order_id), *_history(app, Deposit.create_id(order_id))]
    ledgers = LeaseLedgers(app, 1).after(events) if any(isinstance(e, LEDGER_CHANGES) for e in events) else {}
    found = projections.orders.replayed(order_id, events, ledgers)
    if found is None:
        raise NotFound("order", order_id)
    return order_out(app, found, projections.installments.replayed(order_id, events, ledgers))


def _history(app: LeaseApplication, aggregate_id: UUID) -> list[Any]:
    """Every event of the aggregate: from this thread's last save if it holds them from the first (a save is
    contiguous), else from the event store."""
    saved = [event for event in app.saved_events() if event.originator_id == aggregate_id]
    if saved and saved[0].originator_version == 1:
        return saved
    return list(app.repository.event_store.get(aggregate_id))


def own(app: LeaseApplication, order_id: UUID, customer_id: UUID) -> None:
    """A command on the customer's own order: its lease says whose it is (the read models may not show an order
    placed a moment ago yet); another customer's answers 404."""
    if app.get(Lease, order_id, "order", to_change=False).customer_id != customer_id:
        raise NotFound("order", order_id)


def overdue_today(
    app: LeaseApplication, views: ViewStore, *, customer_id: UUID | None = None, limit: int = 100, offset: int = 0
) -> list[OverdueEntry]:
    """The overdue ledger as of the clock's day, even before the daily job has assessed it: installments the job
    marked overdue and those still unpaid past the grace days of the billing document in force, each brought to
    today by its lease (days overdue, late fee), as the payment routes assess them. An installment whose own
    lease, quoted under longer grace days, is not late yet is left out."""
    now = app.clock.now()
    today = app.local_today()
    try:
        grace = app.billing_policy().late_fee_rule.grace_days
    except LeaseError:
        grace = 0
    cutoff = today - timedelta(days=grace)
    rows = projections.installments.overdue(
        views, customer_id=customer_id, limit=limit, offset=offset, late_if_due_before=cutoff
    )
    assessed: dict[UUID, dict[int, Balance]] = {}
    current = []
    for row in rows:
        if row.order_id not in assessed:
            lease = app.get(Lease, row.order_id, "order", to_change=False)
            assessed[row.order_id] = {balance.seq: balance for balance in lease.assessed(now).balances}
        balance = assessed[row.order_id].get(row.seq)
        if balance is None or balance.days_overdue <= 0:
            continue
        current.append(replace(row, days_overdue=balance.days_overdue, late_fee=balance.late_fee))
    return current


def collection_tasks_today(
    app: LeaseApplication,
    views: ViewStore,
    stages: Sequence[str] = ("call", "agency"),
    *,
    limit: int = 100,
    offset: int = 0,
) -> list[CollectionTask]:
    """The orders at these collection stages (the stage is the daily job's to set), each with its days overdue,
    overdue amount and unpaid late fees as of today, assessed by its lease as a payment would be."""
    now = app.clock.now()
    current = []
    for task in projections.collection_tasks.collection_tasks(views, stages, limit=limit, offset=offset):
        ledger = app.get(Lease, task.order_id, "order", to_change=False).assessed(now)
        overdue = [b for b in ledger.balances if b.status is InstallmentStatus.OVERDUE]
        current.append(
            replace(
                task,
                days_overdue=ledger.days_overdue,
                overdue_amount=total(b.owed for b in overdue),
                late_fees=total(b.late_fee - b.fee_paid for b in ledger.balances),
            )
        )
    return current


def as_of_today(
    app: LeaseApplication, view: OrderView, installments: Sequence[InstallmentView]
) -> tuple[OrderView, Sequence[InstallmentView]]:
    """The order's days overdue and its installments' status, late fee and what is owed as of the clock's day,
    even before the daily job has assessed that day: the lease assesses them as the payment routes do, so the
    amount shown is the amount a payment asks for. Only when the read model shows the lease as it stands (its
    rows equal the lease's last ledger); otherwise, and for orders that pay no rent, as the read model has it."""
    if not installments or LeaseStatus(view.status) not in RENT_PAYABLE:
        return view, installments
    if view.days_overdue == 0 and view.days_overdue_on(app.local_today()) == 0:
        return view, installments  # nothing was overdue, nor is yet: no fee has accrued since
    lease = app.get(Lease, view.id, "order", to_change=False)
    shown = [(row.seq, row.owed, row.late_fee, row.days_overdue, row.status) for row in installments]
    stored = [(b.seq, b.owed, b.late_fee, b.days_overdue, b.status.value) for b in lease.ledger.balances]
    if shown != stored:
        return view, installments
    today = lease.assessed(app.clock.now())
    if today.balances == lease.ledger.balances:
        return view, installments
    by_seq = {balance.seq: balance for balance in today.balances}
    current = [
        replace(
            row,
            late_fee=by_seq[row.seq].late_fee,
            owed=by_seq[row.seq].owed,
            days_overdue=by_seq[row.seq].days_overdue,
            status=by_seq[row.seq].status.value,
        )
        for row in installments
    ]
    return replace(view, days_overdue=today.days_overdue), current


def admin_order(app: LeaseApplication, views: ViewStore, order_id: UUID) -> AdminOrderOut:
    """Any customer's order with its installments, its delivery address, who placed it and finance's adjustments."""
    found = projections.orders.order(views, order_id)
    if found is None:
        raise NotFound("order", order_id)
    person = projections.customers.customer(views, found.customer_id)
    customer = {
        "customer_id": found.customer_id,
        "name": person.name if person else None,
        "phone": person.phone if person else None,
    }
    found, installments = as_of_today(app, found, projections.installments.installments(views, order_id))
    adjustments = projections.adjustments.adjustments(views, order_id)
    return AdminOrderOut.model_validate(
        Row(found, installments=installments, customer=customer, adjustments=adjustments), from_attributes=True
    )


def owned(views: ViewStore, order_id: UUID, customer_id: UUID) -> OrderView:
    """The customer's own order as the read model has it; another customer's answers 404."""
    found = projections.orders.order(views, order_id)
    if found is None or found.customer_id != customer_id:
        raise NotFound("order", order_id)
    return found


def order_out(app: LeaseApplication, view: OrderView, installments: Sequence[InstallmentView]) -> OrderOut:
    """An order's row with its installments, which another read model holds, as of today (`as_of_today`)."""
    view, installments = as_of_today(app, view, installments)
    return OrderOut.model_validate(Row(view, installments=installments), from_attributes=True)


def credit_line_out(view: CreditLineView | None) -> CreditLineOut:
    """The customer's credit line; zeros before any evaluation."""
    if view is None:
        zero = CENT * 0
        return CreditLineOut(quota=zero, reserved=zero, available=zero)
    return CreditLineOut.model_validate(view, from_attributes=True)


def product_out(views: ViewStore, view: ProductView, start: date, end: date | None) -> ProductOut:
    """A product with each SKU's units free from `start` to `end` (open-ended: free from `start` on)."""
    free = available_units(views, [sku.id for sku in view.skus], start, end)
    skus = [Row(sku, product_id=view.id, available_units=free.get(sku.id, 0)) for sku in view.skus]
    return ProductOut.model_validate(Row(view, skus=skus), from_attributes=True)


def available_units(views: ViewStore, sku_ids: list[UUID], start: date, end: date | None) -> dict[UUID, int]:
    """Units of each SKU in stock and booked by nobody over the days (from `start` on when `end` is None)."""
    if end is None:
        return {level.sku_id: level.available for level in projections.stock.stock(views, start, sku_ids=sku_ids)}
    counts = {}
    for sku_id in sku_ids:
        counts[sku_id] = sum(
            1
            for unit in projections.stock.units(views, sku_id)
            if unit.status in ("in_stock", "leased")
            and not any(
                booking.start <= end and (booking.end is None or start <= booking.end) for booking in unit.bookings
            )
        )
    return counts


def category_tree(views: ViewStore) -> list[CategoryNode]:
    """The live categories as a tree, in the order they were added."""
    rows = catalog.categories(views)
    children: dict[UUID | None, list[catalog.CategoryView]] = {}
    live = {row.id for row in rows}
    for row in rows:
        children.setdefault(row.parent_id if row.parent_id in live else None, []).append(row)

    def build(parent: UUID | None) -> list[CategoryNode]:
        return [
            CategoryNode(id=row.id, name=row.name, parent_id=row.parent_id, children=build(row.id))
            for row in children.get(parent, [])
        ]

    return build(None)


def descendants(views: ViewStore, category_id: UUID) -> set[UUID]:
    """A category and every category under it."""
    rows = catalog.categories(views, include_retired=True)
    found, frontier = {category_id}, [category_id]
    while frontier:
        parent = frontier.pop()
        for row in rows:
            if row.parent_id == parent and row.id not in found:
                found.add(row.id)
                frontier.append(row.id)
    return found

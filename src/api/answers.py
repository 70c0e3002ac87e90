"""Read models as the contract's answers: orders with their installments, credit lines, products."""

from __future__ import annotations

from datetime import date
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from api import schemas
from leasecore.application import LeaseApplication
from leasecore.catalog import Sku
from leasecore.errors import LeaseError, NotFound
from projections import catalog, queries
from projections.catalog import ProductView
from projections.queries import CreditLineView, InstallmentView, OrderView
from projections.store import ViewStore


def order(views: ViewStore, order_id: UUID, customer_id: UUID | None = None) -> schemas.OrderOut:
    """The order with its installments; 404 when there is none, or it is another customer's."""
    found = queries.order(views, order_id)
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise NotFound("order", order_id)
    return order_out(found, queries.installments(views, order_id))


def owned(views: ViewStore, order_id: UUID, customer_id: UUID) -> OrderView:
    """The customer's own order as the read model has it; another customer's answers 404."""
    found = queries.order(views, order_id)
    if found is None or found.customer_id != customer_id:
        raise NotFound("order", order_id)
    return found


def order_out(view: OrderView, installments: list[InstallmentView]) -> schemas.OrderOut:
    plan = view.plan
    return schemas.OrderOut(
        id=view.id,
        status=cast(Any, view.status),
        customer_id=view.customer_id,
        product_id=view.product_id,
        sku_id=view.sku_id,
        quantity=view.quantity,
        plan=schemas.PlanOut(kind=cast(Any, plan.kind), months=plan.months, start=plan.start, end=plan.end),
        protection=view.protection,
        deposit_mode=cast(Any, view.deposit_mode),
        deposit=view.deposit,
        waiver=view.waiver,
        deposit_due=view.deposit_due,
        due_now=view.due_now,
        unit_serial=view.unit_serial,
        unit_serials=list(view.unit_serials),
        channel=view.channel,
        carrier=view.carrier,
        tracking_no=view.tracking_no,
        return_tracking_no=view.return_tracking_no,
        contract_id=view.contract_id,
        swapped_from=view.swapped_from,
        swapped_to=view.swapped_to,
        collection_stage=view.collection_stage,
        days_overdue=view.days_overdue,
        reason=view.reason,
        installments=[installment_out(item) for item in installments],
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def installment_out(item: InstallmentView) -> schemas.InstallmentOut:
    return schemas.InstallmentOut(
        seq=item.seq,
        due_date=item.due_date,
        amount=item.amount,
        rent=item.rent,
        protection=item.protection,
        paid=item.paid,
        late_fee=item.late_fee,
        fee_paid=item.fee_paid,
        owed=item.owed,
        days_overdue=item.days_overdue,
        status=cast(Any, item.status),
    )


def credit_line_out(view: CreditLineView | None) -> schemas.CreditLineOut:
    if view is None:
        zero = schemas.CENT * 0
        return schemas.CreditLineOut(quota=zero, reserved=zero, available=zero)
    return schemas.CreditLineOut(
        quota=view.quota, reserved=view.reserved, available=view.available, level=view.level, blocked=view.blocked
    )


def product_out(views: ViewStore, view: ProductView, start: date, end: date | None) -> schemas.ProductOut:
    """A product with each SKU's units free from `start` to `end` (open-ended: free from `start` on)."""
    free = available_units(views, [sku.id for sku in view.skus], start, end)
    details = view.details
    return schemas.ProductOut(
        id=view.id,
        category_id=details.category_id,
        name=details.name,
        brand=details.brand,
        description=details.description,
        images=list(details.images),
        channels=list(details.channels),
        long_term=schemas.LongTermOut(terms=list(view.long_term.terms)) if view.long_term else None,
        short_term=(
            schemas.ShortTermOut(min_days=view.short_term.min_days, max_days=view.short_term.max_days)
            if view.short_term
            else None
        ),
        protection=schemas.ProtectionOut(
            offered=view.protection.offered,
            mandatory=view.protection.mandatory,
            monthly=view.protection.monthly,
            daily=view.protection.daily,
            damage_excess=view.protection.damage_excess,
        ),
        skus=[sku_out(view.id, sku, free.get(sku.id, 0)) for sku in view.skus],
        retired=view.retired,
    )


def sku_out(product_id: UUID, sku: Sku, available: int) -> schemas.SkuOut:
    return schemas.SkuOut(
        id=sku.id,
        product_id=product_id,
        specs=dict(sku.specs),
        market_value=sku.market_value,
        deposit=sku.deposit,
        monthly_rent={str(price.months): price.monthly_rent for price in sku.term_prices},
        buyout_price={str(price.months): price.buyout_price for price in sku.term_prices},
        renewal_monthly_rent=sku.renewal_monthly_rent,
        daily_rent=sku.daily_rent,
        available_units=available,
    )


def available_units(views: ViewStore, sku_ids: list[UUID], start: date, end: date | None) -> dict[UUID, int]:
    """Units of each SKU in stock and booked by nobody over the days (from `start` on when `end` is None)."""
    if end is None:
        return {level.sku_id: level.available for level in queries.stock(views, start, sku_ids=sku_ids)}
    counts = {}
    for sku_id in sku_ids:
        counts[sku_id] = sum(
            1
            for unit in queries.units(views, sku_id)
            if unit.status in ("in_stock", "leased")
            and not any(
                booking.start <= end and (booking.end is None or start <= booking.end) for booking in unit.bookings
            )
        )
    return counts


def category_tree(views: ViewStore) -> list[schemas.CategoryNode]:
    """The live categories as a tree, in the order they were added."""
    rows = catalog.categories(views)
    children: dict[UUID | None, list[catalog.CategoryView]] = {}
    live = {row.id for row in rows}
    for row in rows:
        children.setdefault(row.parent_id if row.parent_id in live else None, []).append(row)

    def build(parent: UUID | None) -> list[schemas.CategoryNode]:
        return [
            schemas.CategoryNode(id=row.id, name=row.name, parent_id=row.parent_id, children=build(row.id))
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


def today(app: LeaseApplication) -> date:
    """Today in the billing timezone (Asia/Shanghai until billing is configured)."""
    try:
        return app.billing_policy().late_fee_rule.local_date(app.clock.now())
    except LeaseError:
        return app.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()

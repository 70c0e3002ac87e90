"""What the HTTP layer reads: orders, installments, the overdue ledger, credit lines, finance,
the review queue, stock and collection tasks; and the daily job's work list (`ViewsDailyWork`).

Every function takes the `ViewStore` and returns frozen dataclasses of domain types (UUID,
Decimal, date, timezone-aware datetime). Lists are paged by `limit` (1–500) and `offset`.
Money is added up in Decimal, never in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, and_, case, exists, false, func, or_, select, true

from leasecore.lease import LeaseStatus
from leasecore.values import ZERO
from projections.store import ViewStore
from projections.tables import (
    bookings_view,
    collection_tasks_view,
    credit_lines_view,
    finance_deposits_view,
    finance_view,
    installments_view,
    orders_view,
    review_queue_view,
    stock_view,
    units_view,
)

T = TypeVar("T")
MAX_LIMIT = 500
FINAL = tuple(status.value for status in LeaseStatus if status.is_final)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with how many there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int


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
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def unit_serial(self) -> str | None:
        return self.unit_serials[0] if self.unit_serials else None


@dataclass(frozen=True)
class InstallmentView:
    order_id: UUID
    seq: int
    due_date: date
    rent: Decimal
    protection: Decimal
    amount: Decimal
    paid: Decimal
    late_fee: Decimal
    fee_paid: Decimal
    owed: Decimal
    days_overdue: int
    status: str
    collection_stage: str | None


@dataclass(frozen=True)
class OverdueEntry:
    """A row of the overdue ledger, as `GET /v1/admin/overdue` answers it."""

    order_id: UUID
    customer_id: UUID
    seq: int
    due_date: date
    days_overdue: int
    amount: Decimal
    late_fee: Decimal
    stage: str | None


@dataclass(frozen=True)
class CreditLineView:
    customer_id: UUID
    quota: Decimal
    reserved: Decimal
    available: Decimal
    level: str | None
    reservations: int
    blocked: bool
    updated_at: datetime


@dataclass(frozen=True)
class FinanceFigures:
    """Money moved over a day or a range; `deposits_held` is the balance at its end."""

    payments_received: Decimal
    deposits_received: Decimal
    deposits_deducted: Decimal
    deposits_refunded: Decimal
    deposits_held: Decimal
    rent: Decimal
    protection: Decimal
    fees: Decimal
    damage: Decimal
    late_return: Decimal
    buyouts: Decimal
    credit: Decimal
    stray: Decimal
    other_refunds: Decimal

    @property
    def refunds(self) -> Decimal:
        return self.deposits_refunded + self.other_refunds

    @property
    def revenue(self) -> Decimal:
        return self.rent + self.protection + self.fees + self.damage + self.late_return + self.buyouts


@dataclass(frozen=True)
class FinanceDay:
    day: date
    figures: FinanceFigures


@dataclass(frozen=True)
class FinanceReport:
    """Per day (only days with movements) and totals from `start` to `end`, both included."""

    start: date
    end: date
    opening_deposits_held: Decimal
    days: list[FinanceDay]
    totals: FinanceFigures


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


@dataclass(frozen=True)
class StockLevel:
    """A SKU's units: how many are free from a day on (as a long-term order needs them), and by status."""

    sku_id: UUID
    product_id: UUID
    units: int
    available: int
    in_stock: int
    leased: int
    sold: int
    retired: int


@dataclass(frozen=True)
class Booking:
    order_id: UUID
    start: date
    end: date | None
    shipped: bool


@dataclass(frozen=True)
class UnitView:
    sku_id: UUID
    serial: str
    status: str
    leased_to: UUID | None
    sold_to: UUID | None
    bookings: tuple[Booking, ...]


@dataclass(frozen=True)
class CollectionTask:
    order_id: UUID
    customer_id: UUID
    contact_name: str
    contact_phone: str
    stage: str
    stage_since: datetime | None
    days_overdue: int
    overdue_amount: Decimal
    late_fees: Decimal


# Orders.


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
    _check_page(limit, offset)
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
    values = {name: row[name] for name in _names(OrderView) if name in row}
    plan = PlanView(row["plan_kind"], row["months"], row["plan_start"], row["plan_end"])
    return OrderView(**{**values, "plan": plan, "unit_serials": tuple(row["unit_serials"])})


# Installments and the overdue ledger.


def installments(views: ViewStore, order_id: UUID) -> list[InstallmentView]:
    query = select(installments_view).where(installments_view.c.order_id == order_id).order_by(installments_view.c.seq)
    with views.read() as connection:
        return [_build(InstallmentView, row) for row in connection.execute(query).mappings()]


def overdue(
    views: ViewStore, *, customer_id: UUID | None = None, limit: int = 100, offset: int = 0
) -> list[OverdueEntry]:
    """Overdue installments of orders still paying rent, longest overdue first."""
    _check_page(limit, offset)
    table = installments_view.c
    conditions = [table.status == "overdue", table.collectible == true()]
    if customer_id is not None:
        conditions.append(table.customer_id == customer_id)
    query = (
        select(installments_view)
        .where(*conditions)
        .order_by(table.days_overdue.desc(), table.order_id, table.seq)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [
            OverdueEntry(
                order_id=row["order_id"],
                customer_id=row["customer_id"],
                seq=row["seq"],
                due_date=row["due_date"],
                days_overdue=row["days_overdue"],
                amount=row["amount"],
                late_fee=row["late_fee"],
                stage=row["collection_stage"],
            )
            for row in connection.execute(query).mappings()
        ]


# Credit lines.


def credit_line(views: ViewStore, customer_id: UUID) -> CreditLineView | None:
    query = select(credit_lines_view).where(credit_lines_view.c.customer_id == customer_id)
    with views.read() as connection:
        row = connection.execute(query).mappings().first()
    return _build(CreditLineView, row) if row else None


def credit_lines(
    views: ViewStore, *, customer_id: UUID | None = None, limit: int = 100, offset: int = 0
) -> list[CreditLineView]:
    _check_page(limit, offset)
    conditions = [] if customer_id is None else [credit_lines_view.c.customer_id == customer_id]
    query = (
        select(credit_lines_view)
        .where(*conditions)
        .order_by(credit_lines_view.c.customer_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [_build(CreditLineView, row) for row in connection.execute(query).mappings()]


# Finance.


def finance_report(views: ViewStore, start: date, end: date) -> FinanceReport:
    """Each day's movements from `start` to `end`, and their totals; deposits held at each day's end."""
    if end < start:
        raise ValueError("the report ends on or after its start")
    query = select(finance_view).where(finance_view.c.day <= end).order_by(finance_view.c.day)
    with views.read() as connection:
        rows = list(connection.execute(query).mappings())
    opening = sum((_held_change(row) for row in rows if row["day"] < start), ZERO)
    held, days = opening, []
    totals = dict.fromkeys(_MOVEMENTS, ZERO)
    for row in rows:
        if row["day"] < start:
            continue
        held += _held_change(row)
        days.append(FinanceDay(row["day"], FinanceFigures(deposits_held=held, **{n: row[n] for n in _MOVEMENTS})))
        for name in _MOVEMENTS:
            totals[name] += row[name]
    return FinanceReport(start, end, opening, days, FinanceFigures(deposits_held=held, **totals))


def deposits_held(views: ViewStore) -> Decimal:
    """Deposits held right now, over every order."""
    query = select(finance_deposits_view.c.held).where(finance_deposits_view.c.held != 0)
    with views.read() as connection:
        return sum((held for (held,) in connection.execute(query)), ZERO)


def _held_change(row: Any) -> Decimal:
    change: Decimal = row["deposits_received"] - row["deposits_deducted"] - row["deposits_refunded"]
    return change


# The review queue, stock and collections.


def review_queue(views: ViewStore, *, limit: int = 100, offset: int = 0) -> list[ReviewItem]:
    """Orders waiting for a reviewer, oldest first."""
    _check_page(limit, offset)
    table = review_queue_view.c
    query = (
        select(review_queue_view)
        .where(table.state == "queued")
        .order_by(table.queued_at, table.order_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [_build(ReviewItem, row, reasons=tuple(row["reasons"])) for row in connection.execute(query).mappings()]


def stock(views: ViewStore, on: date, *, sku_ids: Iterable[UUID] | None = None) -> list[StockLevel]:
    """Units per SKU; `available` counts those free from `on` onwards."""
    units, bookings = units_view.c, bookings_view.c
    blocked = exists().where(
        bookings.sku_id == units.sku_id,
        bookings.serial == units.serial,
        or_(bookings.ends_on.is_(None), bookings.ends_on >= on),
    )
    free = and_(units.retired == false(), units.sold_to.is_(None), ~blocked)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query: Select[Any] = (
        select(
            stock_view.c.sku_id,
            stock_view.c.product_id,
            func.count(units.serial),
            count(free),
            count(units.status == "in_stock"),
            count(units.status == "leased"),
            count(units.status == "sold"),
            count(units.status == "retired"),
        )
        .select_from(stock_view.outerjoin(units_view, units.inventory_id == stock_view.c.inventory_id))
        .group_by(stock_view.c.sku_id, stock_view.c.product_id)
        .order_by(stock_view.c.sku_id)
    )
    if sku_ids is not None:
        query = query.where(stock_view.c.sku_id.in_(list(sku_ids)))
    with views.read() as connection:
        return [StockLevel(*row[:2], *(int(value) for value in row[2:])) for row in connection.execute(query)]


def units(views: ViewStore, sku_id: UUID) -> list[UnitView]:
    """Every unit of a SKU with its bookings, by serial."""
    with views.read() as connection:
        unit_rows = connection.execute(
            select(units_view).where(units_view.c.sku_id == sku_id).order_by(units_view.c.serial)
        ).mappings()
        booking_rows = connection.execute(
            select(bookings_view)
            .where(bookings_view.c.sku_id == sku_id)
            .order_by(bookings_view.c.serial, bookings_view.c.starts_on, bookings_view.c.order_id)
        ).mappings()
        held: dict[str, list[Booking]] = {}
        for row in booking_rows:
            held.setdefault(row["serial"], []).append(
                Booking(row["order_id"], row["starts_on"], row["ends_on"], row["shipped"])
            )
        return [
            UnitView(
                row["sku_id"],
                row["serial"],
                row["status"],
                row["leased_to"],
                row["sold_to"],
                tuple(held.get(row["serial"], ())),
            )
            for row in unit_rows
        ]


def collection_tasks(
    views: ViewStore, stages: Sequence[str] = ("call", "agency"), *, limit: int = 100, offset: int = 0
) -> list[CollectionTask]:
    """The operator's list: orders at these collection stages, longest overdue first."""
    _check_page(limit, offset)
    table = collection_tasks_view.c
    query = (
        select(collection_tasks_view)
        .where(table.stage.in_(list(stages)), table.order_status.not_in(FINAL))
        .order_by(table.days_overdue.desc(), table.order_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [_build(CollectionTask, row) for row in connection.execute(query).mappings()]


# The daily job.


class ViewsDailyWork:
    """The daily job's work list from the read models: orders pending payment (they may time out)
    and orders still paying rent with an installment unpaid and due on or before `as_of` (every
    overdue one among them), without scanning every lease."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views

    def orders_to_assess(self, as_of: date) -> list[UUID]:
        pending = (
            select(orders_view.c.id)
            .where(orders_view.c.status == LeaseStatus.PENDING_PAYMENT.value)
            .order_by(orders_view.c.created_at, orders_view.c.id)
        )
        due = (
            select(installments_view.c.order_id)
            .where(installments_view.c.collectible == true(), installments_view.c.due_date <= as_of)
            .group_by(installments_view.c.order_id)
            .order_by(func.min(installments_view.c.due_date), installments_view.c.order_id)
        )
        with self.views.read() as connection:
            found = [*connection.execute(pending).scalars(), *connection.execute(due).scalars()]
        return list(dict.fromkeys(found))


# Helpers.

_MOVEMENTS = tuple(f.name for f in fields(FinanceFigures) if f.name != "deposits_held")


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _build(cls: type[T], row: Any, **overrides: Any) -> T:
    values = {name: row[name] for name in _names(cls) if name not in overrides}
    return cls(**values, **overrides)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
    if offset < 0:
        raise ValueError("offset must be ≥ 0")

"""Collections (催收) tasks: each order's collection stage, what is overdue, and whom to call."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
)

from leasecore.lease import Lease, LeaseStatus, status_after
from leasecore.lease.ledger import Balance, InstallmentStatus
from leasecore.values import ERASED, ZERO
from leasecore.values import money as rounded
from projections.adjustments import LEDGER_CHANGES
from projections.orders import PAYING, STATUS_EVENTS
from projections.prepared import Prepared
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
from projections.store import Instant, ViewStore, fen_total, from_fen, metadata, money

collection_tasks_view = Table(
    "collection_tasks_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("contact_name", String(64), nullable=False),
    Column("contact_phone", String(32), nullable=False),
    Column("order_status", String(24), nullable=False),
    Column("stage", String(16)),
    Column("stage_since", Instant),
    Column("days_overdue", Integer, nullable=False),
    Column("overdue_from", Date),
    money("overdue_amount"),
    money("late_fees"),
    Column("updated_at", Instant, nullable=False),
    Index("ix_collection_tasks_view_stage", "stage", "overdue_from"),
    Index("ix_collection_tasks_view_overdue", "overdue_from"),
)
"""`days_overdue`, `overdue_amount` and `late_fees` as the lease was last assessed (by the daily job or a payment);
`overdue_from`, the first day its oldest unpaid installment is overdue while it pays rent, counts days to any day."""


class CollectionTasksProjection(Projection):
    """An order's stage (sms, call, agency or none), days overdue, overdue amount and unpaid fees."""

    name = "collection_tasks"
    version = 2
    needs_ledgers = True
    assessments_overtaken = True
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

    @on(Lease.PersonalDataErased)
    def erased(self, batch: Batch, event: Event) -> None:
        row = batch.rows(collection_tasks_view, "order_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        row["contact_name"], row["contact_phone"] = ERASED, ERASED

    @on(*STATUS_EVENTS, *LEDGER_CHANGES, Lease.CollectionStageChanged)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(collection_tasks_view, "order_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        status = status_after(event)
        if status is not None:
            row["order_status"] = status.value
        order_id = event.originator_id
        if isinstance(event, LEDGER_CHANGES):
            ledger = batch.ledger(event)
            balances = ledger.balances
            row["days_overdue"], row["overdue_from"] = ledger.days_overdue, ledger.overdue_from
            rows = batch.rows(collection_tasks_view, "order_id")
            noted = rows.notes.get(order_id)
            if noted is None or noted[0] is not row or noted[1] is not balances:
                sums = _sums(balances) if noted is None or noted[0] is not row else _sums_since(balances, *noted[1:])
                row["overdue_amount"], row["late_fees"] = rounded(sums[0]), rounded(sums[1])
                rows.notes[order_id] = (row, balances, *sums)
        if isinstance(event, Lease.CollectionStageChanged):
            if event.stage != row["stage"]:
                row["stage_since"] = event.timestamp if event.stage else None
            row["stage"], row["days_overdue"] = event.stage, event.days_overdue
        if row["order_status"] not in PAYING:
            row["overdue_from"] = None


def _sums(balances: Sequence[Balance]) -> tuple[Decimal, Decimal]:
    """What is owed on the overdue installments, and the late fees charged and unpaid (before rounding)."""
    overdue = fees = ZERO
    for balance in balances:
        if balance.status is InstallmentStatus.OVERDUE:
            overdue += balance.owed
        fees += balance.late_fee - balance.fee_paid
    return overdue, fees


def _sums_since(
    balances: Sequence[Balance], before: Sequence[Balance], overdue: Decimal, fees: Decimal
) -> tuple[Decimal, Decimal]:
    """`_sums(balances)` from `_sums(before)`: what changed taken out and put in, for the balances that are not the
    very ones they were (a daily assessment changes one or two of a dozen). Amounts of money add and subtract
    exactly (two decimal places, far inside the context's 28 digits), so the sums are those summed afresh."""
    if len(balances) != len(before):
        return _sums(balances)
    for now, then in zip(balances, before, strict=True):
        if now is then:
            continue
        if then.status is InstallmentStatus.OVERDUE:
            overdue -= then.owed
        if now.status is InstallmentStatus.OVERDUE:
            overdue += now.owed
        fees += (now.late_fee - now.fee_paid) - (then.late_fee - then.fee_paid)
    return overdue, fees


# Queries.


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


def collection_tasks(
    views: ViewStore, stages: Sequence[str] = ("call", "agency"), *, limit: int = 100, offset: int = 0
) -> list[CollectionTask]:
    """The operator's list: orders at these collection stages, longest overdue first."""
    check_page(limit, offset)
    table = collection_tasks_view.c
    query = (
        select(collection_tasks_view)
        .where(table.stage.in_(list(stages)), table.order_status.not_in(FINAL))
        .order_by(table.overdue_from.asc().nulls_last(), table.days_overdue.desc(), table.order_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [build(CollectionTask, row) for row in connection.execute(query).mappings()]


@dataclass(frozen=True)
class Bucket:
    """Orders overdue from `low` to `high` days (no upper end when None): how many, and what they owe."""

    low: int
    high: int | None
    orders: int
    overdue_amount: Decimal


def buckets(
    views: ViewStore,
    bounds: Sequence[tuple[int, int | None]],
    today: date,
    stages: Sequence[str] | None = None,
) -> list[Bucket]:
    """Open orders counted and summed by how many days overdue they are on `today`, whether or not the daily job
    has assessed that day (`bounds`: ascending, each `(low, high)`, the last maybe open-ended); at these collection
    stages only when `stages` is given. One query over an index, however many orders. The amounts are as the
    leases were last assessed."""
    bounds, stages = tuple(bounds), tuple(stages) if stages is not None else None
    days = {f"day_{days}": today - timedelta(days=days - 1) for days in _bucket_days(bounds)}
    found = {
        low: (int(orders), from_fen(amount))
        for low, orders, amount in _buckets_query(bounds, stages).tuples(views, **days)
    }
    return [Bucket(low, high, *found.get(low, (0, ZERO))) for low, high in bounds]


def _bucket_days(bounds: tuple[tuple[int, int | None], ...]) -> set[int]:
    return {bounds[0][0], *(high for _, high in bounds if high is not None)}


@functools.lru_cache(maxsize=64)
def _buckets_query(bounds: tuple[tuple[int, int | None], ...], stages: tuple[str, ...] | None) -> Prepared:
    """The buckets' one query for these bounds and stages (a screen asks with the same ones every time); the
    first day of each bound, which moves with today, a parameter `day_N`: the latest `overdue_from` of an order
    at least N days overdue."""
    table = collection_tasks_view.c

    def first_day(days: int) -> BindParameter[date]:
        return bindparam(f"day_{days}", type_=Date)

    closed = [(table.overdue_from >= first_day(high), low) for low, high in bounds if high is not None]
    beyond = bounds[-1][0] if bounds[-1][1] is None else None
    bucket = (case(*closed, else_=beyond) if closed else literal(beyond)).label("low")
    conditions = [table.overdue_from <= first_day(bounds[0][0]), *(table.order_status != status for status in FINAL)]
    if stages is not None:
        conditions.append(or_(false(), *(table.stage == stage for stage in stages)))
    return Prepared(select(bucket, func.count(), fen_total(table.overdue_amount)).where(*conditions).group_by(bucket))


FINAL = tuple(status.value for status in LeaseStatus if status.is_final)

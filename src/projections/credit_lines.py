"""Quota balances: each customer's revolving credit line, what its orders hold and what is left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Table,
    Uuid,
    select,
)

from leasecore.credit.credit_line import CreditLine
from leasecore.values import ZERO
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Projection,
    Row,
    blank,
    build,
    check_page,
    is_new,
    on,
)
from projections.store import Instant, ViewStore, metadata, money, money_of

credit_lines_view = Table(
    "credit_lines_view",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("credit_line_id", Uuid, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    money("quota"),
    money("reserved"),
    money("available"),
    Column("level", String(32)),
    Column("reservations", Integer, nullable=False),
    Column("overdue_orders", Integer, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

credit_totals_view = Table(
    "credit_totals_view",
    metadata,
    Column("scope", String(8), primary_key=True),
    Column("lines", Integer, nullable=False),
    money("quota"),
    money("reserved"),
    money("available"),
)
"""Every credit line added up (one row, scope "all"), moved by each line's change, so the total is one row."""

TOTALS = ("quota", "reserved", "available")


class CreditLinesProjection(Projection):
    """Quota, reserved, available (never below zero), level, and blocked while an order is overdue."""

    name = "credit_lines"
    version = 2
    tables = (credit_lines_view, credit_totals_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(credit_lines_view, "credit_line_id").prefetch(event.originator_id for event in events)
        batch.rows(credit_totals_view, "scope").prefetch(["all"])

    @on(CreditLine.Granted)
    def granted(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(credit_lines_view, "credit_line_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            credit_lines_view,
            customer_id=event.customer_id,
            credit_line_id=event.originator_id,
            version=event.originator_version,
            quota=event.quota,
            reserved=ZERO,
            level=event.level,
            reservations=0,
            overdue_orders=0,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [_balanced(row)])
        _add(batch, {name: row[name] for name in TOTALS}, lines=1)

    @on(CreditLine.QuotaAdjusted, CreditLine.WaiverReserved, CreditLine.WaiverReleased)
    @on(CreditLine.OverdueMarked, CreditLine.OverdueCleared)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(credit_lines_view, "credit_line_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        before = {name: row[name] for name in TOTALS}
        if isinstance(event, CreditLine.QuotaAdjusted):
            row["quota"], row["level"] = event.quota, event.level
        elif isinstance(event, CreditLine.WaiverReserved):
            row["reserved"] += event.amount
            row["reservations"] += 1
        elif isinstance(event, CreditLine.WaiverReleased):
            row["reserved"] -= event.amount
            row["reservations"] -= 1
        elif isinstance(event, CreditLine.OverdueMarked):
            row["overdue_orders"] += 1
        else:
            row["overdue_orders"] -= 1
        _balanced(row)
        _add(batch, {name: row[name] - before[name] for name in TOTALS})


def _add(batch: Batch, amounts: dict[str, Decimal], lines: int = 0) -> None:
    """Move the totals by a line's change."""
    rows = batch.rows(credit_totals_view, "scope")
    row = rows.one("all")
    if row is None:
        rows.put("all", [{"scope": "all", "lines": lines, **amounts}])
        return
    row["lines"] += lines
    for name, amount in amounts.items():
        row[name] += amount


def _balanced(row: Row) -> Row:
    row["available"] = max(ZERO, row["quota"] - row["reserved"])
    row["blocked"] = row["overdue_orders"] > 0
    return row


# Queries.


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


def credit_line(views: ViewStore, customer_id: UUID) -> CreditLineView | None:
    query = select(credit_lines_view).where(credit_lines_view.c.customer_id == customer_id)
    with views.read() as connection:
        row = connection.execute(query).mappings().first()
    return build(CreditLineView, row) if row else None


def credit_lines(
    views: ViewStore, *, customer_id: UUID | None = None, limit: int = 100, offset: int = 0
) -> list[CreditLineView]:
    check_page(limit, offset)
    conditions = [] if customer_id is None else [credit_lines_view.c.customer_id == customer_id]
    query = (
        select(credit_lines_view)
        .where(*conditions)
        .order_by(credit_lines_view.c.customer_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        return [build(CreditLineView, row) for row in connection.execute(query).mappings()]


@dataclass(frozen=True)
class CreditTotals:
    """Every credit line added up: quota granted, waivers reserved by open orders, what is left to use."""

    lines: int
    quota: Decimal
    reserved: Decimal
    available: Decimal


def credit_totals(views: ViewStore) -> CreditTotals:
    """One row, however many customers: the totals the projection keeps."""
    row = _TOTALS.first(views)
    if row is None:
        return CreditTotals(0, ZERO, ZERO, ZERO)
    return CreditTotals(
        int(row["lines"]), money_of(row["quota"]), money_of(row["reserved"]), money_of(row["available"])
    )


_TOTALS = Prepared(select(credit_totals_view).where(credit_totals_view.c.scope == "all"))

"""Quota balances: each customer's revolving credit line, what its orders hold and what is left."""

from __future__ import annotations

from collections.abc import Sequence

from leasecore.credit.credit_line import CreditLine
from leasecore.values import ZERO
from projections.projection import Batch, Event, Projection, Row, blank, is_new, on
from projections.tables import credit_lines_view


class CreditLinesProjection(Projection):
    """Quota, reserved, available (never below zero), level, and blocked while an order is overdue."""

    name = "credit_lines"
    tables = (credit_lines_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(credit_lines_view, "credit_line_id").prefetch(event.originator_id for event in events)

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

    @on(CreditLine.QuotaAdjusted, CreditLine.WaiverReserved, CreditLine.WaiverReleased)
    @on(CreditLine.OverdueMarked, CreditLine.OverdueCleared)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(credit_lines_view, "credit_line_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
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


def _balanced(row: Row) -> Row:
    row["available"] = max(ZERO, row["quota"] - row["reserved"])
    row["blocked"] = row["overdue_orders"] > 0
    return row

"""Installments due and overdue: one row per installment of every order, as its ledger last stood.

`payable` marks the orders that pay rent (leasing to settlement) and `collectible` their unpaid
installments, so the daily job finds what is due, overdue or timing out through one index on
(collectible, due_date).
A row is written only when its own figures change, stamped with the version of the event that
changed it; the order's rows have seen every event up to the highest of their versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from leasecore.lease import RENT_PAYABLE, Lease
from leasecore.lease.ledger import Balance
from leasecore.values import ZERO
from projections.orders import LEDGER_EVENTS, STATUS_AFTER
from projections.projection import Batch, Event, Projection, Row, blank, on
from projections.tables import installments_view

PAYABLE = frozenset(status.value for status in RENT_PAYABLE)


class InstallmentsProjection(Projection):
    """Each order's installments: due date, amount, paid, late fee, days overdue, status, stage."""

    name = "installments"
    tables = (installments_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(installments_view, "order_id").prefetch(event.originator_id for event in events)

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(installments_view, "order_id")
        if rows.get(event.originator_id):
            return
        order = _Order(event.originator_id, event.customer_id, False, None)
        balances = [Balance(i.seq, i.due_date, i.rent, i.protection) for i in event.schedule]
        rows.put(event.originator_id, [order.row(balance, event.originator_version) for balance in balances])

    @on(*STATUS_AFTER, Lease.CollectionStageChanged, Lease.InstallmentPaid, Lease.OverdueAssessed)
    @on(Lease.RenewalAgreed, Lease.BalancePaid)
    def changed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(installments_view, "order_id")
        current = rows.get(event.originator_id)
        if not current or event.originator_version <= max(row["order_version"] for row in current):
            return
        first = current[0]
        status = STATUS_AFTER.get(type(event))
        order = _Order(
            event.originator_id,
            first["customer_id"],
            status.value in PAYABLE if status else first["payable"],
            event.stage if isinstance(event, Lease.CollectionStageChanged) else first["collection_stage"],
        )
        version = event.originator_version
        if isinstance(event, LEDGER_EVENTS):
            changed = [order.row(balance, version) for balance in event.ledger.balances]
        else:
            changed = [order.restamp(row, version) for row in current]
        before = {row["seq"]: row for row in current}
        rows.put(event.originator_id, [_unless_same(before.get(row["seq"]), row) for row in changed])


class _Order:
    """What every installment row of one order repeats: customer, whether it pays rent, collection stage."""

    def __init__(self, order_id: UUID, customer_id: UUID, payable: bool, stage: str | None) -> None:
        self.order_id, self.customer_id, self.payable, self.stage = order_id, customer_id, payable, stage

    def row(self, balance: Balance, version: int) -> Row:
        return blank(
            installments_view,
            order_id=self.order_id,
            seq=balance.seq,
            order_version=version,
            customer_id=self.customer_id,
            due_date=balance.due_date,
            rent=balance.rent,
            protection=balance.protection,
            amount=balance.amount,
            rent_paid=balance.rent_paid,
            protection_paid=balance.protection_paid,
            late_fee=balance.late_fee,
            fee_paid=balance.fee_paid,
            paid=balance.paid,
            owed=balance.owed,
            days_overdue=balance.days_overdue,
            status=balance.status.value,
            payable=self.payable,
            collectible=self.payable and balance.owed > ZERO,
            collection_stage=self.stage,
        )

    def restamp(self, row: Row, version: int) -> Row:
        changes: dict[str, Any] = {
            "order_version": version,
            "payable": self.payable,
            "collectible": self.payable and row["owed"] > ZERO,
            "collection_stage": self.stage,
        }
        return {**row, **changes}


def _unless_same(before: Row | None, after: Row) -> Row:
    """The row as it was when nothing but the event's version would change."""
    if before is not None and {**after, "order_version": before["order_version"]} == before:
        return before
    return after

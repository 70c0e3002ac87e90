"""Installments due and overdue: one row per installment of every order, as its ledger last stood.

`collectible` marks the unpaid installments of orders that pay rent (leasing to settlement), so
the daily job finds what is due, overdue or timing out through one index on (collectible, due_date).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from leasecore.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.ledger import Balance
from leasecore.values import ZERO
from projections.orders import LEDGER_EVENTS, STATUS_AFTER
from projections.projection import Batch, Event, Projection, Row, blank, is_new, on
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
        as_of = event.terms.late_fee.local_date(event.timestamp)
        order = _Order(event.originator_id, event.customer_id, LeaseStatus.PENDING_PAYMENT.value, None)
        balances = [Balance(i.seq, i.due_date, i.rent, i.protection) for i in event.schedule]
        rows.put(event.originator_id, [order.row(balance, as_of, event.originator_version) for balance in balances])

    @on(*STATUS_AFTER, Lease.CollectionStageChanged, Lease.InstallmentPaid, Lease.OverdueAssessed)
    @on(Lease.RenewalAgreed, Lease.BalancePaid)
    def changed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(installments_view, "order_id")
        current = rows.get(event.originator_id)
        if not current or not is_new(current[0], event, "order_version"):
            return
        first = current[0]
        status = STATUS_AFTER.get(type(event))
        order = _Order(
            event.originator_id,
            first["customer_id"],
            status.value if status else first["order_status"],
            event.stage if isinstance(event, Lease.CollectionStageChanged) else first["collection_stage"],
        )
        version = event.originator_version
        if isinstance(event, LEDGER_EVENTS):
            ledger = event.ledger
            rows.put(event.originator_id, [order.row(balance, ledger.as_of, version) for balance in ledger.balances])
        else:
            rows.put(event.originator_id, [order.restamp(row, version) for row in current])


class _Order:
    """What every installment row of one order repeats: customer, order status, collection stage."""

    def __init__(self, order_id: UUID, customer_id: UUID, status: str, stage: str | None) -> None:
        self.order_id, self.customer_id, self.status, self.stage = order_id, customer_id, status, stage

    def row(self, balance: Balance, as_of: date, version: int) -> Row:
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
            as_of=as_of,
            order_status=self.status,
            collectible=self.status in PAYABLE and balance.owed > ZERO,
            collection_stage=self.stage,
        )

    def restamp(self, row: Row, version: int) -> Row:
        changes: dict[str, Any] = {
            "order_version": version,
            "order_status": self.status,
            "collectible": self.status in PAYABLE and row["owed"] > ZERO,
            "collection_stage": self.stage,
        }
        return {**row, **changes}

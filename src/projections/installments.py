"""Installments due and overdue: one row per installment of every order, as its ledger last stood.

`payable` marks the orders that pay rent (leasing to settlement) and `collectible` their unpaid
installments, so the daily job finds what is due, overdue or timing out through one index on
(collectible, due_date).
A row is written only when its own figures change, stamped with the version of the event that
changed it; the order's rows have seen every event up to the highest of their versions.
`late_fee` is the fee charged (accrued less `fee_waived`); `paid` includes what a goodwill credit paid
(`credited`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
)

from leasecore.lease import RENT_PAYABLE, Lease, LeaseStatus, status_after
from leasecore.lease.ledger import Balance, Ledger
from leasecore.values import ZERO
from projections.adjustments import ADJUSTMENT_EVENTS, LEDGER_CHANGES
from projections.orders import STATUS_EVENTS, orders_view
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Projection,
    Row,
    as_read,
    build,
    check_page,
    on,
    replay,
)
from projections.store import ViewStore, metadata, money

installments_view = Table(
    "installments_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("order_version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("due_date", Date, nullable=False),
    money("rent"),
    money("protection"),
    money("amount"),
    money("rent_paid"),
    money("protection_paid"),
    money("late_fee"),
    money("fee_paid"),
    money("paid"),
    money("owed"),
    Column("days_overdue", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    money("fee_waived"),
    money("credited"),
    Column("payable", Boolean, nullable=False),
    Column("collectible", Boolean, nullable=False),
    Column("collection_stage", String(16)),
    Index("ix_installments_view_collectible", "collectible", "due_date"),
    Index("ix_installments_view_status", "status", "due_date"),
    Index("ix_installments_view_customer", "customer_id"),
)

PAYABLE = frozenset(status.value for status in RENT_PAYABLE)


class InstallmentsProjection(Projection):
    """Each order's installments: due date, amount, paid, late fee, days overdue, status, stage."""

    name = "installments"
    needs_ledgers = True
    assessments_overtaken = True
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

    @on(*STATUS_EVENTS, Lease.CollectionStageChanged, Lease.InstallmentPaid, Lease.OverdueAssessed)
    @on(Lease.RenewalAgreed, Lease.BalancePaid, *ADJUSTMENT_EVENTS)
    def changed(self, batch: Batch, event: Event) -> None:
        order_id, version = event.originator_id, event.originator_version
        rows = batch.rows(installments_view, "order_id")
        current = rows.get(order_id)
        if not current:
            return
        noted = rows.notes.get(order_id)
        if noted is not None and noted[0] is not current:
            noted = None
        seen = noted[2] if noted is not None else max(row["order_version"] for row in current)
        if version <= seen:
            return
        first = current[0]
        status = status_after(event)
        order = _Order(
            order_id,
            first["customer_id"],
            status.value in PAYABLE if status else first["payable"],
            event.stage if isinstance(event, Lease.CollectionStageChanged) else first["collection_stage"],
        )
        shown = noted[1] if noted is not None else ()
        if shown and (first["payable"] != order.payable or first["collection_stage"] != order.stage):
            shown = ()
        after: list[Row] = []
        if isinstance(event, LEDGER_CHANGES):
            balances = batch.ledger(event).balances
            before: dict[int, Row] | None = None
            same = len(shown)
            for n, balance in enumerate(balances):
                if n < same and shown[n] is balance:
                    after.append(current[n])  # the row put beside this very balance: it shows it
                    continue
                if n < same and shown[n].seq == balance.seq:
                    row: Row | None = current[n]  # the row put beside this installment's last balance
                else:
                    if before is None:
                        before = {row["seq"]: row for row in current}
                    row = before.get(balance.seq)
                if row is not None and order.shows(row, balance):
                    after.append(row)
                else:
                    after.append(order.row(balance, version))  # a column `shows` compares differs: a new row
                    seen = version
            shown = balances
            if seen != version and len(after) != len(current):
                seen = max((row["order_version"] for row in after), default=0)  # rows of installments gone
        else:
            for row in current:
                if order.stamped(row):
                    after.append(row)
                else:
                    after.append(order.restamp(row, version))
                    seen = version
        rows.put(order_id, after)
        if shown:
            rows.notes[order_id] = (after, shown, seen)


class _Order:
    """What every installment row of one order repeats: customer, whether it pays rent, collection stage."""

    def __init__(self, order_id: UUID, customer_id: UUID, payable: bool, stage: str | None) -> None:
        self.order_id, self.customer_id, self.payable, self.stage = order_id, customer_id, payable, stage

    def row(self, balance: Balance, version: int) -> Row:
        """The row showing this balance (every column of the table, as `blank` would fill them; a test checks it)."""
        owed = balance.owed
        return {
            "order_id": self.order_id,
            "seq": balance.seq,
            "order_version": version,
            "customer_id": self.customer_id,
            "due_date": balance.due_date,
            "rent": balance.rent,
            "protection": balance.protection,
            "amount": balance.amount,
            "rent_paid": balance.rent_paid,
            "protection_paid": balance.protection_paid,
            "late_fee": balance.late_fee,
            "fee_paid": balance.fee_paid,
            "paid": balance.paid,
            "owed": owed,
            "days_overdue": balance.days_overdue,
            "status": balance.status.value,
            "fee_waived": balance.fee_waived,
            "credited": balance.credited,
            "payable": self.payable,
            "collectible": self.payable and owed > ZERO,
            "collection_stage": self.stage,
        }

    def shows(self, row: Row, balance: Balance) -> bool:
        """The row already shows this balance of this order (its other columns follow from these)."""
        return bool(
            row["rent_paid"] == balance.rent_paid
            and row["late_fee"] == balance.late_fee
            and row["fee_paid"] == balance.fee_paid
            and row["days_overdue"] == balance.days_overdue
            and row["protection_paid"] == balance.protection_paid
            and row["fee_waived"] == balance.fee_waived
            and row["credited"] == balance.credited
            and row["due_date"] == balance.due_date
            and row["rent"] == balance.rent
            and row["protection"] == balance.protection
            and row["payable"] == self.payable
            and row["collection_stage"] == self.stage
            and row["customer_id"] == self.customer_id
        )

    def stamped(self, row: Row) -> bool:
        """The row already shows what `restamp` would change but its version: it stays as it is."""
        return bool(
            row["payable"] == self.payable
            and row["collection_stage"] == self.stage
            and row["collectible"] == (self.payable and row["owed"] > ZERO)
        )

    def restamp(self, row: Row, version: int) -> Row:
        changes: dict[str, Any] = {
            "order_version": version,
            "payable": self.payable,
            "collectible": self.payable and row["owed"] > ZERO,
            "collection_stage": self.stage,
        }
        return {**row, **changes}


# Queries.


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
    fee_waived: Decimal
    credited: Decimal


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


def installments(views: ViewStore, order_id: UUID) -> list[InstallmentView]:
    return [build(InstallmentView, row) for row in _INSTALLMENTS.all(views, order_id=order_id)]


def replayed(
    order_id: UUID, events: Sequence[Event], ledgers: Mapping[tuple[UUID, int], Ledger]
) -> list[InstallmentView]:
    """The order's installments as `installments` will read them once this read model has applied `events`, every
    event of the order's lease (`ledgers` its ledger after each, as the runner hands them): this projection's own
    handlers applied in memory (`projection.replay`)."""
    rows = replay(InstallmentsProjection(), events, ledgers).rows(installments_view, "order_id").get(order_id)
    return [build(InstallmentView, as_read(installments_view, row)) for row in sorted(rows, key=lambda row: row["seq"])]


_INSTALLMENTS = Prepared(
    select(installments_view)
    .where(installments_view.c.order_id == bindparam("order_id"))
    .order_by(installments_view.c.seq)
)


def installments_of(views: ViewStore, order_ids: Sequence[UUID]) -> dict[UUID, list[InstallmentView]]:
    """The installments of each of these orders, in one query (a list of orders shows them all)."""
    table = installments_view.c
    query = select(installments_view).where(table.order_id.in_(list(order_ids))).order_by(table.order_id, table.seq)
    found: dict[UUID, list[InstallmentView]] = {order_id: [] for order_id in order_ids}
    with views.read() as connection:
        for row in connection.execute(query).mappings():
            found[row["order_id"]].append(build(InstallmentView, row))
    return found


def overdue(
    views: ViewStore,
    *,
    customer_id: UUID | None = None,
    limit: int = 100,
    offset: int = 0,
    late_if_due_before: date | None = None,
) -> list[OverdueEntry]:
    """Overdue installments of orders still paying rent, longest overdue first (earliest due first: the same order
    for unpaid installments). With `late_if_due_before`, also those still unpaid that fell due before that day,
    which the daily job has not marked overdue yet (the days overdue and late fees shown are then as last
    assessed: `api.http.answers.overdue_today` brings them to today)."""
    check_page(limit, offset)
    table = installments_view.c
    late = table.status == "overdue"
    if late_if_due_before is not None:
        late = or_(late, and_(table.status == "due", table.due_date < late_if_due_before))
    conditions = [late, table.collectible == true()]
    if customer_id is not None:
        conditions.append(table.customer_id == customer_id)
    query = (
        select(installments_view)
        .where(*conditions)
        .order_by(table.due_date, table.order_id, table.seq)
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

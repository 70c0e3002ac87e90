"""Auto-debit agreements and every charge made under them, as the customer's app and the back office show them,
and the orders the daily charging looks at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, Date, Integer, String, Table, Text, Uuid, or_, select

from leasecore.money.auto_debit import AutoDebit
from projections.projection import Batch, Event, Projection, blank, build, is_new, on
from projections.store import Instant, ViewStore, metadata, money, money_of

auto_debits_view = Table(
    "auto_debits_view",
    metadata,
    Column("debit_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, unique=True),
    Column("customer_id", Uuid, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("provider", String(32), nullable=False),
    Column("external_agreement_no", String(32), nullable=False),
    Column("agreement_no", String(64), nullable=False),
    Column("signed_at", Instant),
    Column("cancelled_reason", Text, nullable=False),
    Column("version", Integer, nullable=False),
)
"""One row per order that ever asked for auto-debit: where its agreement stands."""

auto_debit_attempts_view = Table(
    "auto_debit_attempts_view",
    metadata,
    Column("payment_id", Uuid, primary_key=True),
    Column("debit_id", Uuid, nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    money("amount"),
    Column("day", Date, nullable=False),
    Column("at", Instant, nullable=False),
    Column("state", String(16), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)
"""One row per charge attempt, keyed by its payment (the provider's out_trade_no)."""


class AutoDebitsProjection(Projection):
    """Each order's agreement and its charges."""

    name = "auto_debits"
    tables = (auto_debits_view, auto_debit_attempts_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(auto_debits_view, "debit_id").prefetch(event.originator_id for event in events)

    @on(AutoDebit.Opened)
    def opened(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(auto_debits_view, "debit_id")
        if rows.one(event.originator_id) is not None:
            return
        row = blank(
            auto_debits_view,
            debit_id=event.originator_id,
            order_id=event.order_id,
            customer_id=event.customer_id,
            state="cancelled",
            provider="",
            external_agreement_no="",
            agreement_no="",
            cancelled_reason="",
            version=event.originator_version,
        )
        rows.put(event.originator_id, [row])

    @on(AutoDebit.SigningRequested)
    def signing(self, batch: Batch, event: Event) -> None:
        self._change(
            batch,
            event,
            state="signing",
            provider=event.provider,
            external_agreement_no=event.external_agreement_no,
            agreement_no="",
            signed_at=None,
            cancelled_reason="",
        )

    @on(AutoDebit.Signed)
    def signed(self, batch: Batch, event: Event) -> None:
        self._change(batch, event, state="active", agreement_no=event.agreement_no, signed_at=event.timestamp)

    @on(AutoDebit.Cancelled)
    def cancelled(self, batch: Batch, event: Event) -> None:
        self._change(batch, event, state="cancelled", cancelled_reason=event.reason)

    @on(AutoDebit.ChargeAttempted)
    def attempted(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(auto_debit_attempts_view, "payment_id")
        if rows.one(event.payment_id) is not None:
            return
        row = blank(
            auto_debit_attempts_view,
            payment_id=event.payment_id,
            debit_id=event.originator_id,
            seq=event.seq,
            number=event.number,
            amount=event.amount,
            day=event.day,
            at=event.timestamp,
            state="charging",
            transaction_id="",
            reason="",
        )
        rows.put(event.payment_id, [row])

    @on(AutoDebit.ChargeSucceeded)
    def succeeded(self, batch: Batch, event: Event) -> None:
        self._settle(batch, event.payment_id, state="succeeded", transaction_id=event.transaction_id)

    @on(AutoDebit.ChargeFailed)
    def failed(self, batch: Batch, event: Event) -> None:
        self._settle(batch, event.payment_id, state="failed", reason=event.reason)

    def _change(self, batch: Batch, event: Event, **values: object) -> None:
        rows = batch.rows(auto_debits_view, "debit_id")
        row = rows.one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        rows.put(event.originator_id, [{**row, **values, "version": event.originator_version}])

    def _settle(self, batch: Batch, payment_id: UUID, **values: object) -> None:
        rows = batch.rows(auto_debit_attempts_view, "payment_id")
        row = rows.one(payment_id)
        if row is not None:
            rows.put(payment_id, [{**row, **values}])


# Queries.


@dataclass(frozen=True)
class AttemptView:
    seq: int
    number: int
    payment_id: UUID
    amount: Decimal
    day: date
    at: datetime
    state: str
    transaction_id: str
    reason: str


@dataclass(frozen=True)
class AgreementView:
    """`state` is signing, active or cancelled; `attempts` oldest installment first, then by attempt."""

    order_id: UUID
    customer_id: UUID
    state: str
    provider: str
    external_agreement_no: str
    agreement_no: str
    signed_at: datetime | None
    cancelled_reason: str
    attempts: tuple[AttemptView, ...]


def agreement(views: ViewStore, order_id: UUID) -> AgreementView | None:
    """The order's agreement and its charges; None when it never asked for one."""
    attempts = auto_debit_attempts_view.c
    with views.read() as connection:
        row = connection.execute(select(auto_debits_view).where(auto_debits_view.c.order_id == order_id)).mappings()
        found = row.first()
        if found is None:
            return None
        query = select(auto_debit_attempts_view).where(attempts.debit_id == found["debit_id"])
        charges = connection.execute(query.order_by(attempts.seq, attempts.number)).mappings()
        made = tuple(build(AttemptView, charge, amount=money_of(charge["amount"])) for charge in charges)
    return build(AgreementView, found, attempts=made)


def orders_to_charge(views: ViewStore) -> list[UUID]:
    """Orders whose agreement is active, and those with a charge in doubt (asked of the provider, its answer never
    recorded), whatever became of their agreement since: that charge is settled before anything else."""
    agreements, attempts = auto_debits_view.c, auto_debit_attempts_view.c
    in_doubt = select(attempts.debit_id).where(attempts.state == "charging")
    query = select(agreements.order_id).where(or_(agreements.state == "active", agreements.debit_id.in_(in_doubt)))
    with views.read() as connection:
        return list(connection.execute(query).scalars())

"""Finance: every money movement booked on its day in the billing timezone (Asia/Shanghai).

Per day: payments received from providers; deposits received, deducted and refunded; rent,
protection, late fees, damage, late-return, buyouts and credit collected; stray payments; other
refunds (checkout rent on cancellation or rejection, credit at settlement, stray payments).
Rent, protection, fees and credit are booked as the change in the order's ledger, so money moved
between them (a renewal turning credit into rent) is booked too. On every day and every order:

    payments received + deposits deducted
      = deposits received + rent + protection + fees + damage + late return + buyouts + credit + stray

A pre-authorized deposit (押金预授权) is frozen with the provider, not received: `deposits_frozen` is money the
providers froze, `freezes_taken` what settlement took from it (into the equation's left side, beside payments
received) and `deposits_unfrozen` what was given back; frozen = taken + unfrozen + still frozen.

Finance's adjustments move no money, so they stand apart from that equation, each in its own column:
`fees_waived`, the late fees forgiven, and `goodwill_credit`, the rent and fees a goodwill credit paid
(rent, protection and fees count money only). Both are booked as the change in the order's ledger too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    Table,
    Uuid,
    bindparam,
    select,
)

from leasecore.lease import Lease, PaymentSource
from leasecore.lease.ledger import Ledger
from leasecore.money.deposit import Deposit
from leasecore.values import ZERO
from projections.adjustments import LEDGER_CHANGES
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Projection,
    Row,
    blank,
    is_new,
    on,
)
from projections.store import ViewStore, fen_total, from_fen, metadata, money

finance_view = Table(
    "finance_view",
    metadata,
    Column("day", Date, primary_key=True),
    money("payments_received"),
    money("deposits_received"),
    money("deposits_deducted"),
    money("deposits_refunded"),
    money("rent"),
    money("protection"),
    money("fees"),
    money("damage"),
    money("late_return"),
    money("buyouts"),
    money("credit"),
    money("stray"),
    money("other_refunds"),
    money("fees_waived"),
    money("goodwill_credit"),
    money("deposits_frozen"),
    money("freezes_taken"),
    money("deposits_unfrozen"),
)

finance_orders_view = Table(
    "finance_orders_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    money("payments_received"),
    money("rent"),
    money("protection"),
    money("fees"),
    money("ledger_credit"),
    money("unapplied"),
    money("damage"),
    money("late_return"),
    money("buyouts"),
    money("stray"),
    money("refunded"),
    money("fees_waived"),
    money("goodwill_credit"),
)

finance_deposits_view = Table(
    "finance_deposits_view",
    metadata,
    Column("deposit_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    money("amount"),
    money("waived"),
    money("paid"),
    money("deducted"),
    money("refunded"),
    money("held"),
)

DAY_AMOUNTS = tuple(column.name for column in finance_view.columns if column.name != "day")
ORDER_AMOUNTS = tuple(
    column.name for column in finance_orders_view.columns if column.name not in ("order_id", "version", "customer_id")
)
COLLECTED = ("rent", "protection", "fees")


class FinanceProjection(Projection):
    """Money in, money out and what is held, per day; with each order's and each deposit's totals."""

    name = "finance"
    version = 2
    needs_ledgers = True
    assessments_overtaken = True
    tables = (finance_view, finance_orders_view, finance_deposits_view)

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        ids = [event.originator_id for event in events]
        batch.rows(finance_orders_view, "order_id").prefetch(ids)
        batch.rows(finance_deposits_view, "deposit_id").prefetch(ids)
        batch.rows(finance_view, "day").prefetch({self.day(event) for event in events})

    def day(self, event: Event) -> date:
        day: date = event.timestamp.astimezone(self._zone).date()
        return day

    def book(self, batch: Batch, event: Event, amounts: dict[str, Decimal]) -> None:
        moved = {name: amount for name, amount in amounts.items() if amount}
        if not moved:
            return
        day = self.day(event)
        rows = batch.rows(finance_view, "day")
        row = rows.one(day)
        if row is None:
            row = blank(finance_view, day=day, **dict.fromkeys(DAY_AMOUNTS, ZERO))
            rows.put(day, [row])
        for name, amount in moved.items():
            row[name] += amount

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(finance_orders_view, "order_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        amounts = dict.fromkeys(ORDER_AMOUNTS, ZERO)
        row = blank(
            finance_orders_view,
            order_id=event.originator_id,
            version=event.originator_version,
            customer_id=event.customer_id,
            **amounts,
        )
        rows.put(event.originator_id, [row])

    @on(*LEDGER_CHANGES, Lease.Cancelled, Lease.ReviewRejected, Lease.Settled, Lease.StrayPaymentRefunded)
    def money_moved(self, batch: Batch, event: Event) -> None:
        order = batch.rows(finance_orders_view, "order_id").one(event.originator_id)
        if order is None or not is_new(order, event):
            return
        order["version"] = event.originator_version
        day: dict[str, Decimal] = {}
        order_id = event.originator_id
        if isinstance(event, LEDGER_CHANGES):
            ledger = batch.ledger(event)
            rows = batch.rows(finance_orders_view, "order_id")
            shown = (order, ledger.balances, ledger.credit, ledger.goodwill)
            noted = rows.notes.get(order_id)
            if noted is None or not _collected_as(shown, noted):
                day.update(_ledger_change(order, ledger))
            rows.notes[order_id] = shown
        for name, amount in _movements(event).items():
            day[name] = day.get(name, ZERO) + amount
            if name == "credit":
                order["unapplied"] += amount
            elif name == "other_refunds":
                order["refunded"] += amount
            else:
                order[name] += amount
        self.book(batch, event, day)

    @on(Deposit.Required)
    def deposit_required(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(finance_deposits_view, "deposit_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            finance_deposits_view,
            deposit_id=event.originator_id,
            order_id=event.order_id,
            version=event.originator_version,
            amount=event.amount,
            waived=event.waived,
            paid=ZERO,
            deducted=ZERO,
            refunded=ZERO,
            held=ZERO,
        )
        rows.put(event.originator_id, [row])

    @on(Deposit.Paid, Deposit.Deducted, Deposit.Refunded)
    def deposit_moved(self, batch: Batch, event: Event) -> None:
        deposit = batch.rows(finance_deposits_view, "deposit_id").one(event.originator_id)
        if deposit is None or not is_new(deposit, event):
            return
        deposit["version"] = event.originator_version
        column = {Deposit.Paid: "paid", Deposit.Deducted: "deducted", Deposit.Refunded: "refunded"}[type(event)]
        deposit[column] += event.amount
        deposit["held"] = deposit["paid"] - deposit["deducted"] - deposit["refunded"]
        self.book(batch, event, {f"deposits_{'received' if column == 'paid' else column}": event.amount})

    @on(Deposit.Frozen, Deposit.TakeFromFreezeRequested, Deposit.UnfreezeRequested)
    def freeze_moved(self, batch: Batch, event: Event) -> None:
        deposit = batch.rows(finance_deposits_view, "deposit_id").one(event.originator_id)
        if deposit is None or not is_new(deposit, event):
            return
        deposit["version"] = event.originator_version
        if isinstance(event, Deposit.Frozen):
            self.book(batch, event, {"deposits_frozen": event.fund_amount})
        elif isinstance(event, Deposit.TakeFromFreezeRequested):
            self.book(batch, event, {"freezes_taken": event.amount})
        else:
            self.book(batch, event, {"deposits_unfrozen": event.amount})


def _collected_as(shown: tuple[Any, ...], noted: tuple[Any, ...]) -> bool:
    """The ledger in `shown` changes nothing `_ledger_change` books on the order row the noted ledger was booked on:
    the same row, credit and goodwill (the very objects), and balances that are the very ones or paid and waived the
    same amounts (what `_ledger_change` sums; a daily assessment changes only fees accrued and days overdue)."""
    order, balances, credit, goodwill = shown
    if order is not noted[0] or credit is not noted[2] or goodwill is not noted[3]:
        return False
    before = noted[1]
    if balances is before:
        return True
    if len(balances) != len(before):
        return False
    for now, then in zip(balances, before, strict=True):
        if now is not then and (
            now.rent_paid != then.rent_paid
            or now.fee_paid != then.fee_paid
            or now.protection_paid != then.protection_paid
            or now.fee_waived != then.fee_waived
        ):
            return False
    return True


def _ledger_change(order: Row, ledger: Ledger) -> dict[str, Decimal]:
    """Rent, protection, fees and credit collected, fees waived and goodwill credited since the order's last ledger."""
    collected = ledger.collected()
    now = {name: getattr(collected, name) for name in COLLECTED}
    now |= {"fees_waived": ledger.fees_waived, "goodwill_credit": ledger.goodwill.total}
    change = {name: amount - order[name] for name, amount in now.items()}
    change["credit"] = collected.credit - order["ledger_credit"]
    order.update(now)
    order["ledger_credit"] = collected.credit
    return change


def _movements(event: Event) -> dict[str, Decimal]:
    """The money an event moves besides the ledger: payments in, charges, refunds."""
    if isinstance(event, Lease.CheckoutPaid | Lease.InstallmentPaid):
        return {"payments_received": event.amount}
    if isinstance(event, Lease.BalancePaid):
        charges = event.allocation.charges
        moved = {
            "damage": charges.damage,
            "late_return": charges.late_return,
            "buyouts": charges.buyout,
            "credit": event.allocation.unapplied,
        }
        if event.source is PaymentSource.PROVIDER:
            moved["payments_received"] = event.amount
        return moved
    if isinstance(event, Lease.BoughtOut):
        return {"payments_received": event.amount, "buyouts": event.quote.price}
    if isinstance(event, Lease.Cancelled | Lease.ReviewRejected | Lease.Settled):
        return {"other_refunds": event.refund}
    if isinstance(event, Lease.StrayPaymentRefunded):
        return {"payments_received": event.amount, "stray": event.amount, "other_refunds": event.amount}
    return {}


# Queries.


@dataclass(frozen=True)
class FinanceFigures:
    """Money moved over a day or a range; `deposits_held` is the balance at its end. `fees_waived` and
    `goodwill_credit` are finance's adjustments, no money: late fees forgiven, rent and fees credited."""

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
    fees_waived: Decimal
    goodwill_credit: Decimal
    deposits_frozen: Decimal
    freezes_taken: Decimal
    deposits_unfrozen: Decimal

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


def finance_report(views: ViewStore, start: date, end: date) -> FinanceReport:
    """Each day's movements from `start` to `end`, and their totals; deposits held at each day's end."""
    if end < start:
        raise ValueError("the report ends on or after its start")
    with views.read() as connection:
        rows = _DAYS.rows(connection, start=start, end=end)
        opening = _held_before(connection, start)
    held, days = opening, []
    totals = dict.fromkeys(_MOVEMENTS, ZERO)
    for row in rows:
        held += _held_change(row)
        days.append(FinanceDay(row["day"], FinanceFigures(deposits_held=held, **{n: row[n] for n in _MOVEMENTS})))
        for name in _MOVEMENTS:
            totals[name] += row[name]
    return FinanceReport(start, end, opening, days, FinanceFigures(deposits_held=held, **totals))


def deposits_held(views: ViewStore) -> Decimal:
    """Deposits held right now: what every day received less what it deducted and refunded (a row a day, however
    many orders)."""
    with views.read() as connection:
        return _held_before(connection, None)


def _held_before(connection: Connection, day: date | None) -> Decimal:
    """Deposits held at the start of `day` (now, without one): one sum in fen over the days before."""
    if day is None:
        [(received, deducted, refunded)] = _HELD.values(connection)[1]
    else:
        [(received, deducted, refunded)] = _HELD_BEFORE.values(connection, day=day)[1]
    return from_fen(received - deducted - refunded)


_DAYS = Prepared(
    select(finance_view)
    .where(finance_view.c.day >= bindparam("start"), finance_view.c.day <= bindparam("end"))
    .order_by(finance_view.c.day)
)
_MOVED = (finance_view.c.deposits_received, finance_view.c.deposits_deducted, finance_view.c.deposits_refunded)
_HELD = Prepared(select(*(fen_total(column) for column in _MOVED)))
_HELD_BEFORE = Prepared(_HELD.statement.where(finance_view.c.day < bindparam("day")))


def _held_change(row: Any) -> Decimal:
    change: Decimal = row["deposits_received"] - row["deposits_deducted"] - row["deposits_refunded"]
    return change


_MOVEMENTS = tuple(f.name for f in fields(FinanceFigures) if f.name != "deposits_held")

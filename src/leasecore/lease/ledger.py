"""The rent ledger: payments applied to installments, grace days and late fees (逾期, 滞纳金).

The ledger is a pure function of the schedule and the receipts, each effective at the
instant the money was paid. A payment recorded late but effective earlier is simply
placed where it belongs in time and the whole ledger is assessed again, so the fees
are exactly those that would have accrued had it arrived on time.

Finance's adjustments are facts of the same kind, placed in time with the receipts:
- a fee waiver (减免滞纳金) forgives up to its amount of the late fee assessed and unpaid on
  one installment at its instant. It sticks: an installment's fees are capped on what
  accrued in all, waived or not, so a later assessment never charges the waived amount
  again; the fee goes on accruing for the overdue days after the waiver, as the rule says.
- a goodwill credit (商誉补偿) pays rent and fees like money received, oldest installment
  first, fees before rent; but it is no money in: the ledger keeps what it paid apart
  (`Ledger.goodwill`, `Balance.credited`), `Ledger.collected` counts money only, and what
  it cannot pay lapses rather than becoming credit that would be refunded.
What an adjustment cannot take (a payment recorded later proved effective earlier and
paid it first) is not applied: the balances show what was waived and credited. Facts that
took effect at one instant count in the order they were recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from zoneinfo import ZoneInfo

from leasecore.lease.schedule import Installment
from leasecore.values import ZERO, money, total


@dataclass(frozen=True)
class LateFeeRule:
    """The billing document's late-fee rule, as an order was quoted under it."""

    grace_days: int
    daily_rate: Decimal
    fixed_per_day: Decimal
    cap_share: Decimal
    timezone: str = "Asia/Shanghai"

    def fee_per_day(self, unpaid: Decimal) -> Decimal:
        """One overdue day's fee on what is still unpaid at the start of that day."""
        return money(unpaid * self.daily_rate + self.fixed_per_day)

    def cap(self, installment: Installment) -> Decimal:
        return money(self.cap_share * installment.amount)

    def first_overdue_day(self, installment: Installment) -> date:
        return installment.due_date + timedelta(days=self.grace_days + 1)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class Receipt:
    """Money received toward rent, effective at `paid_at`; `ref` is unique per receipt."""

    ref: str
    amount: Decimal
    paid_at: datetime


@dataclass(frozen=True)
class FeeWaiver:
    """Late fees forgiven on installment `seq` at `at`, up to `amount` of what is then assessed and unpaid on it;
    made after the first `receipts_before` receipts were recorded (a receipt effective at the same instant counts
    first if it was recorded first)."""

    seq: int
    amount: Decimal
    at: datetime
    receipts_before: int = 0


@dataclass(frozen=True)
class GoodwillCredit:
    """An amount credited to the order at `at`: it pays what is owed like money, but is no money in; made after the
    first `receipts_before` receipts were recorded."""

    amount: Decimal
    at: datetime
    receipts_before: int = 0


Adjustment = FeeWaiver | GoodwillCredit


class InstallmentStatus(Enum):
    DUE = "due"
    PAID = "paid"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Balance:
    """Where one installment stands: what was due, paid, and accrued in late fees. `late_fee` is what is charged:
    the fees accrued less `fee_waived`; the paid amounts include what a goodwill credit paid (`credited`)."""

    seq: int
    due_date: date
    rent: Decimal
    protection: Decimal
    rent_paid: Decimal = ZERO
    protection_paid: Decimal = ZERO
    late_fee: Decimal = ZERO
    fee_paid: Decimal = ZERO
    days_overdue: int = 0
    fee_waived: Decimal = ZERO
    credited: Decimal = ZERO
    overdue_from: date | None = None
    """The first day it is overdue if still unpaid (the due date, then the grace days); None before it is billed."""

    @property
    def amount(self) -> Decimal:
        return self.rent + self.protection

    @property
    def paid(self) -> Decimal:
        return self.rent_paid + self.protection_paid + self.fee_paid

    @property
    def unpaid_rent(self) -> Decimal:
        return self.rent - self.rent_paid

    @cached_property
    def owed(self) -> Decimal:
        return self.amount + self.late_fee - self.paid

    @property
    def status(self) -> InstallmentStatus:
        if self.owed == ZERO:
            return InstallmentStatus.PAID
        return InstallmentStatus.OVERDUE if self.days_overdue > 0 else InstallmentStatus.DUE


@dataclass(frozen=True)
class Collected:
    """Money applied to rent, protection and late fees, and what is held over as credit."""

    rent: Decimal = ZERO
    protection: Decimal = ZERO
    fees: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.rent + self.protection + self.fees + self.credit

    def __add__(self, other: Collected) -> Collected:
        return Collected(
            rent=self.rent + other.rent,
            protection=self.protection + other.protection,
            fees=self.fees + other.fees,
            credit=self.credit + other.credit,
        )

    def __sub__(self, other: Collected) -> Collected:
        return Collected(
            rent=self.rent - other.rent,
            protection=self.protection - other.protection,
            fees=self.fees - other.fees,
            credit=self.credit - other.credit,
        )


@dataclass(frozen=True)
class Ledger:
    """The installments' balances as of a day, any overpayment held as credit, and what goodwill credits paid."""

    as_of: date
    balances: tuple[Balance, ...]
    credit: Decimal = ZERO
    goodwill: Collected = Collected()

    @property
    def owed(self) -> Decimal:
        return total(b.owed for b in self.balances)

    @property
    def fees(self) -> Decimal:
        return total(b.late_fee for b in self.balances)

    @property
    def fees_waived(self) -> Decimal:
        return total(b.fee_waived for b in self.balances)

    @property
    def is_overdue(self) -> bool:
        return any(b.status is InstallmentStatus.OVERDUE for b in self.balances)

    @property
    def days_overdue(self) -> int:
        return self._overdue[0]

    @property
    def overdue_from(self) -> date | None:
        """The first day the oldest unpaid installment is overdue: with no payment meanwhile, the ledger is
        `days_overdue_on(overdue_from, day)` days overdue on any later day, whether or not it was assessed then."""
        return self._overdue[1]

    @cached_property
    def _overdue(self) -> tuple[int, date | None]:
        """`days_overdue` and `overdue_from`, found in one pass over the unpaid balances (read models show both)."""
        days, since = 0, None
        for balance in self.balances:
            if balance.owed > ZERO:
                days = max(days, balance.days_overdue)
                if balance.overdue_from and (since is None or balance.overdue_from < since):
                    since = balance.overdue_from
        return days, since

    def owed_by(self, day: date) -> Decimal:
        """What is owed on installments due on or before `day`."""
        return total(b.owed for b in self.balances if b.due_date <= day)

    def unpaid_rent(self) -> Decimal:
        return total(b.unpaid_rent for b in self.balances)

    def collected(self) -> Collected:
        """Money applied to rent, protection and fees, and held as credit; what goodwill paid is not money.

        The three sums in one pass over the balances, each as `total` makes it (read models ask this of every
        ledger a rebuild folds)."""
        rent = protection = fees = ZERO
        for balance in self.balances:
            rent += balance.rent_paid
            protection += balance.protection_paid
            fees += balance.fee_paid
        settled = Collected(rent=money(rent), protection=money(protection), fees=money(fees), credit=self.credit)
        return settled - self.goodwill


class _Row:
    """A mutable accumulator for one installment while the ledger is being assessed."""

    def __init__(self, installment: Installment, rule: LateFeeRule) -> None:
        self.installment, self.rule = installment, rule
        self.rent_paid = self.protection_paid = self.accrued = self.waived = self.fee_paid = self.credited = ZERO
        self.first_overdue = rule.first_overdue_day(installment)
        self.accrued_through = self.first_overdue - timedelta(days=1)
        self.cap = rule.cap(installment)
        self.amount = installment.amount

    @property
    def principal_unpaid(self) -> Decimal:
        return self.amount - self.rent_paid - self.protection_paid

    @property
    def late_fee(self) -> Decimal:
        """The fees charged: those accrued less those waived."""
        return self.accrued - self.waived

    def accrue_through(self, day: date) -> None:
        """Fees for each overdue day up to `day`, on the unpaid amount at each day's start."""
        if day <= self.accrued_through:
            return
        days = (day - self.accrued_through).days
        unpaid = self.principal_unpaid
        if unpaid > ZERO:
            fee = self.rule.fee_per_day(unpaid) * days
            self.accrued = min(self.accrued + fee, self.cap)
        self.accrued_through = day

    def pay(self, amount: Decimal) -> Collected:
        """Fees first, then rent, then protection; returns what went to each."""
        to_fee = min(amount, self.late_fee - self.fee_paid)
        to_rent = min(amount - to_fee, self.installment.rent - self.rent_paid)
        to_protection = min(amount - to_fee - to_rent, self.installment.protection - self.protection_paid)
        self.fee_paid += to_fee
        self.rent_paid += to_rent
        self.protection_paid += to_protection
        return Collected(rent=to_rent, protection=to_protection, fees=to_fee)

    def waive(self, amount: Decimal) -> None:
        """Forgive up to `amount` of the fee charged and unpaid; the cap still counts it as accrued."""
        self.waived += min(amount, self.late_fee - self.fee_paid)

    def balance(self, as_of: date) -> Balance:
        owed = self.principal_unpaid + self.late_fee - self.fee_paid
        overdue_for = (as_of - self.first_overdue).days + 1
        return Balance(
            seq=self.installment.seq,
            due_date=self.installment.due_date,
            rent=self.installment.rent,
            protection=self.installment.protection,
            rent_paid=self.rent_paid,
            protection_paid=self.protection_paid,
            late_fee=self.late_fee,
            fee_paid=self.fee_paid,
            days_overdue=max(0, overdue_for) if owed > ZERO else 0,
            fee_waived=self.waived,
            credited=self.credited,
            overdue_from=self.first_overdue,
        )


def days_overdue_on(overdue_from: date | None, day: date) -> int:
    """Days overdue on `day` of what became overdue on `overdue_from` (0 before then, or when nothing is owed)."""
    return max(0, (day - overdue_from).days + 1) if overdue_from is not None else 0


def assess(
    schedule: Sequence[Installment],
    receipts: Iterable[Receipt],
    rule: LateFeeRule,
    as_of: date,
    adjustments: Iterable[Adjustment] = (),
) -> Ledger:
    """Apply the receipts and the adjustments in the order they happened, oldest installment first, and
    accrue late fees day by day in the billing timezone up to `as_of`."""
    assessing = _Assessing([_Row(installment, rule) for installment in sorted(schedule, key=lambda i: i.seq)])
    for fact in _in_time(receipts, adjustments):
        as_of = max(as_of, assessing.take(fact, rule))
    return assessing.ledger(as_of)


def assessed_later(
    ledger: Ledger,
    schedule: Sequence[Installment],
    rule: LateFeeRule,
    as_of: date,
    receipts: Sequence[Receipt] = (),
    adjustments: Sequence[Adjustment] = (),
    *,
    known: tuple[int, int] = (0, 0),
) -> Ledger | None:
    """`assess(schedule, receipts, rule, as_of, adjustments)` continued from `ledger`, which `assess` (or this
    function) gave from the first `known` receipts and adjustments as of its day: the facts after those are applied
    on it, and the fees accrue on to `as_of`; a balance that does not change is the same object. None when that
    would not be the same (a fact that took effect before another already applied, or before the ledger's day, or
    a day before it): assess again."""
    new = [*receipts[known[0] :], *adjustments[known[1] :]]
    if new:
        ordered = _in_time(receipts, adjustments)
        if {id(fact) for fact in ordered[len(ordered) - len(new) :]} != {id(fact) for fact in new}:
            return None
        if min(rule.local_date(_instant(fact)) for fact in new) < ledger.as_of:
            return None
    elif as_of < ledger.as_of:
        return None
    elif as_of == ledger.as_of:
        return ledger
    if len(schedule) != len(ledger.balances):
        return None
    installments: dict[int, Installment] | None = None
    rows: list[_Row] = []
    for balance in ledger.balances:
        if balance.owed == ZERO:
            continue  # paid off: no fee accrues on it, and it takes no money nor waiver
        if not new and balance.overdue_from is not None and balance.overdue_from > as_of:
            continue  # not overdue by then, and no fact: it stays as it is
        if installments is None:
            installments = {installment.seq: installment for installment in schedule}
        installment = installments.get(balance.seq)
        if installment is None:
            return None
        row = _Row(installment, rule)
        row.rent_paid, row.protection_paid, row.fee_paid = balance.rent_paid, balance.protection_paid, balance.fee_paid
        row.accrued, row.waived = balance.late_fee + balance.fee_waived, balance.fee_waived
        row.credited = balance.credited
        row.accrued_through = max(row.accrued_through, ledger.as_of)
        rows.append(row)
    if not rows and not new:
        return _with_balances_of(ledger, as_of, ledger.credit, ledger.goodwill)
    assessing = _Assessing(rows, ledger.credit, ledger.goodwill)
    as_of = max(as_of, ledger.as_of)
    for fact in _in_time(receipts[known[0] :], adjustments[known[1] :]) if new else ():
        as_of = max(as_of, assessing.take(fact, rule))
    later = assessing.ledger(as_of)
    changed = {balance.seq: balance for balance in later.balances}
    balances = tuple(
        before if (after := changed.get(before.seq, before)) is before or after == before else after
        for before in ledger.balances
    )
    if all(after is before for after, before in zip(balances, ledger.balances, strict=True)):
        return _with_balances_of(ledger, later.as_of, later.credit, later.goodwill)
    return Ledger(as_of=later.as_of, balances=balances, credit=later.credit, goodwill=later.goodwill)


def _with_balances_of(ledger: Ledger, as_of: date, credit: Decimal, goodwill: Collected) -> Ledger:
    """A ledger of the very balances of `ledger` (the same tuple), with what follows from them alone kept."""
    later = Ledger(as_of=as_of, balances=ledger.balances, credit=credit, goodwill=goodwill)
    if "_overdue" in ledger.__dict__:
        later.__dict__["_overdue"] = ledger.__dict__["_overdue"]
    return later


class _Assessing:
    """The installments' accumulators while facts are applied to them in time, with the credit held over and what
    goodwill paid."""

    def __init__(self, rows: list[_Row], credit: Decimal = ZERO, goodwill: Collected = Collected()) -> None:
        self.rows, self.credit, self.goodwill = rows, credit, goodwill
        self.by_seq = {row.installment.seq: row for row in rows}

    def take(self, fact: Receipt | Adjustment, rule: LateFeeRule) -> date:
        """Accrue up to the fact's day and apply it; returns that day."""
        day = rule.local_date(_instant(fact))
        for row in self.rows:
            row.accrue_through(day)
        if isinstance(fact, FeeWaiver):
            if fact.seq in self.by_seq:
                self.by_seq[fact.seq].waive(fact.amount)
            return day
        left = fact.amount
        for row in self.rows:
            paid = row.pay(left)
            left -= paid.total
            if isinstance(fact, GoodwillCredit):
                row.credited += paid.total
                self.goodwill += paid
        if isinstance(fact, Receipt):
            self.credit += left
        return day

    def ledger(self, as_of: date) -> Ledger:
        for row in self.rows:
            row.accrue_through(as_of)
        balances = tuple(row.balance(as_of) for row in self.rows)
        return Ledger(as_of=as_of, balances=balances, credit=self.credit, goodwill=self.goodwill)


def _instant(fact: Receipt | Adjustment) -> datetime:
    return fact.paid_at if isinstance(fact, Receipt) else fact.at


def _in_time(receipts: Iterable[Receipt], adjustments: Iterable[Adjustment]) -> list[Receipt | Adjustment]:
    """Receipts and adjustments by when they took effect; at one instant in the order they were recorded (receipts
    in the order given, each adjustment after the receipts recorded before it)."""
    facts: list[tuple[datetime, int, int, Receipt | Adjustment]] = [
        (r.paid_at, 2 * n + 1, 0, r) for n, r in enumerate(receipts)
    ]
    facts.extend((a.at, 2 * a.receipts_before, n, a) for n, a in enumerate(adjustments))
    return [fact for *_, fact in sorted(facts, key=lambda f: (f[0], f[1], f[2]))]

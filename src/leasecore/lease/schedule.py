"""Installment schedules: what falls due when (月付 for long-term, all at once for short-term)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from leasecore.values import ZERO, LongTerm, Plan, ShortTerm, add_months, money


@dataclass(frozen=True)
class Installment:
    """One rent payment: installment k of a long-term lease falls due k−1 months after the start."""

    seq: int
    due_date: date
    rent: Decimal
    protection: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return self.rent + self.protection


@dataclass(frozen=True)
class Rates:
    """Per-unit prices the schedule is built from: rent and protection per month or per day."""

    rent: Decimal
    protection: Decimal = ZERO


def schedule_for(plan: Plan, start: date, rates: Rates, quantity: int) -> tuple[Installment, ...]:
    """The installments of a plan for a lease starting on `start`."""
    if isinstance(plan, LongTerm):
        return monthly(start, first_seq=1, count=plan.months, rates=rates, quantity=quantity)
    return (short_term_installment(plan, rates, quantity),)


def monthly(start: date, *, first_seq: int, count: int, rates: Rates, quantity: int) -> tuple[Installment, ...]:
    """`count` monthly installments numbered from `first_seq`, due on the start's day of month."""
    return tuple(
        Installment(
            seq=seq,
            due_date=add_months(start, seq - 1),
            rent=money(rates.rent * quantity),
            protection=money(rates.protection * quantity),
        )
        for seq in range(first_seq, first_seq + count)
    )


def short_term_installment(plan: ShortTerm, rates: Rates, quantity: int) -> Installment:
    """Short-term rent is daily rent × inclusive days × quantity, all due at checkout."""
    return Installment(
        seq=1,
        due_date=plan.start,
        rent=money(rates.rent * plan.days * quantity),
        protection=money(rates.protection * plan.days * quantity),
    )


def restart(schedule: tuple[Installment, ...], start: date) -> tuple[Installment, ...]:
    """The same installments with due dates counted from a new lease start (receipt day)."""
    return tuple(replace(item, due_date=add_months(start, item.seq - 1)) for item in schedule)

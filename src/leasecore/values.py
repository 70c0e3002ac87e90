"""Value objects of the rental domain: money, ids, lease plans, addresses."""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from uuid import UUID, uuid5

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

NAMESPACE = UUID("6f4c7d3e-2a0b-4c55-9a53-1e2f0c8b7a10")
DERIVED_IDS = 16_384
"""Derived ids kept worked out, by the text they are derived from (a few MB at most)."""


def derived_id(kind: str, *parts: object) -> UUID:
    """A stable id for an aggregate that exists once per key (a customer's credit line)."""
    return _derived("/".join([kind, *map(str, parts)]))


@functools.lru_cache(maxsize=DERIVED_IDS)
def _derived(name: str) -> UUID:
    """The id of a name, worked out once while in use: an order names seventeen units, its SKU's register, the
    customer's credit line (a SHA-1 each, a twelfth of placing an order). Keyed by the text itself, so two parts
    that are equal but print differently (1 and True, 1.0 and 1.00) still give ids of their own; a UUID cannot be
    changed, so one copy serves every caller."""
    return uuid5(NAMESPACE, name)


def money(value: Decimal | int | str) -> Decimal:
    """CNY rounded half-up to the fen: the platform's one rounding rule."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as error:
        raise ValueError(f"not an amount of money: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of amounts of money, ZERO when there are none."""
    return money(sum(amounts, ZERO))


def add_months(start: date, months: int) -> date:
    """The same day of month `months` later, clamped to that month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


class DepositMode(Enum):
    """How the customer covers the deposit at checkout (全押金 or 信用免押)."""

    FULL = "full"
    WAIVER = "waiver"
    PREAUTH = "preauth"
    """The waiver applies, and what it leaves is frozen with the payment provider instead of paid (押金预授权)."""

    @property
    def waives(self) -> bool:
        """Whether the platform's credit waiver applies: in every mode but the full deposit."""
        return self is not DepositMode.FULL


class PlanKind(Enum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True)
class LongTerm:
    """A long-term lease (长租) of a whole number of months, paid monthly."""

    months: int

    kind = PlanKind.LONG

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError("a long-term lease lasts at least one month")


@dataclass(frozen=True)
class ShortTerm:
    """A short-term lease (短租) from start to end, both days included."""

    start: date
    end: date

    kind = PlanKind.SHORT

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a short-term lease ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def overlaps(self, other: ShortTerm) -> bool:
        return self.start <= other.end and other.start <= self.end


Plan = LongTerm | ShortTerm


@dataclass(frozen=True)
class Address:
    """Where a device is delivered."""

    name: str
    phone: str
    line: str


ERASED = "erased"
"""What a personal field reads once its customer's personal data was erased (PIPL's right to deletion)."""
ERASED_ADDRESS = Address(ERASED, ERASED, ERASED)

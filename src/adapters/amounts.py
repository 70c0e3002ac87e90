"""Money on the wire: decimal yuan strings ("12.50") and integer fen, converted exactly, never through float."""

from __future__ import annotations

import re
from decimal import Decimal

CENT = Decimal("0.01")
YUAN_PATTERN = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")


def require_cents(amount: Decimal) -> Decimal:
    """An amount of money is a finite Decimal with at most two decimal places; it is never rounded here."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"an amount of money is a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValueError(f"not an exact amount of fen: {amount}")
    return amount.quantize(CENT)


def require_positive(amount: Decimal) -> Decimal:
    """A payment or a refund moves more than nothing."""
    exact = require_cents(amount)
    if exact <= 0:
        raise ValueError(f"an amount to pay or refund must be positive, not {exact}")
    return exact


def yuan_string(amount: Decimal) -> str:
    """Alipay's form: yuan with exactly two decimals ("12.50")."""
    return f"{require_cents(amount):.2f}"


def parse_yuan(text: str) -> Decimal:
    """A non-negative yuan amount with at most two decimals, as Alipay writes it."""
    if not YUAN_PATTERN.fullmatch(text):
        raise ValueError(f"not an amount in yuan: {text!r}")
    return Decimal(text).quantize(CENT)


def to_fen(amount: Decimal) -> int:
    """WeChat Pay's form: a whole number of fen."""
    return int(require_cents(amount).scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Fen as yuan with two decimals; 1250 is 12.50."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen is a whole number, not {fen!r}")
    return Decimal(fen).scaleb(-2).quantize(CENT)

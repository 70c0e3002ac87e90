"""Which payment a refund goes back to (退款原路返回): refunds return along the way the money came in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid5

from leasecore.values import NAMESPACE, ZERO


@dataclass(frozen=True)
class Refundable:
    """A succeeded payment of the order, in the order it was asked for, and what can still go back to it."""

    payment_id: UUID
    transaction_id: str | None
    seq: int
    left: Decimal


def allocate(
    payments: Sequence[Refundable], amount: Decimal, prefer: str | None = None, newest_first: bool = False
) -> list[tuple[UUID | None, Decimal]]:
    """Split a refund over the payments that can still take it back: the one whose transaction is `prefer`
    first, then in the order they were asked for (newest first when asked); what none can take back is
    left unmatched (None), to be settled by hand."""
    refundable = sorted((payment for payment in payments if payment.left > ZERO), key=lambda p: p.seq)
    if newest_first:
        refundable.reverse()
    refundable.sort(key=lambda payment: prefer is None or payment.transaction_id != prefer)
    parts: list[tuple[UUID | None, Decimal]] = []
    left = amount
    for payment in refundable:
        if left <= ZERO:
            break
        part = min(left, payment.left)
        parts.append((payment.payment_id, part))
        left -= part
    if left > ZERO:
        parts.append((None, left))
    return parts


def refund_id(source: str, index: int) -> str:
    """A refund's id, the same whenever the event that caused it is processed (providers dedupe on it)."""
    return "rf" + uuid5(NAMESPACE, f"refund/{source}/{index}").hex

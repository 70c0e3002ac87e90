"""Reconciliation (对账): a provider's daily bill set against the money the platform recorded, line by line.

Both sides name a movement by its kind and the platform's own id for it (a payment id, a refund id), so
matching needs no amounts or times. What the comparison may find, the most serious first: money the provider
moved that the platform never recorded; a movement the platform recorded in another state (a payment it still
thinks pending, a refund it thinks refused); a different amount; a movement the platform recorded as done that
the provider's bill does not show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from leasecore.ports import BillLine, RecordKind

Key = tuple[RecordKind, str]


class RecordStatus(Enum):
    """Where the platform's records say a movement stands."""

    MOVED = "moved"
    """The money moved: a payment succeeded, a refund was accepted."""
    PENDING = "pending"
    """Asked of the provider, its outcome not recorded yet."""
    FAILED = "failed"
    """Recorded as not moved: a payment closed unpaid, a refund refused."""


@dataclass(frozen=True)
class Record:
    """A movement the platform recorded with a provider."""

    kind: RecordKind
    reference: str
    provider: str
    amount: Decimal
    status: RecordStatus = RecordStatus.MOVED
    provider_reference: str = ""
    at: datetime | None = None

    @property
    def key(self) -> Key:
        return self.kind, self.reference


class DifferenceKind(Enum):
    """How the bill and the records disagree, the most serious first."""

    MISSING_ON_PLATFORM = "missing_on_platform"
    """The provider moved money the platform has no record of."""
    STATUS_DIFFERS = "status_differs"
    """The provider moved money the platform records as pending or not moved."""
    AMOUNT_DIFFERS = "amount_differs"
    MISSING_AT_PROVIDER = "missing_at_provider"
    """The platform records money as moved that the provider's bill does not show."""


SEVERITY = {kind: rank for rank, kind in enumerate(DifferenceKind)}


@dataclass(frozen=True)
class Difference:
    """One movement the two sides disagree on, with what each side says."""

    kind: DifferenceKind
    record_kind: RecordKind
    reference: str
    platform_amount: Decimal | None = None
    provider_amount: Decimal | None = None
    platform_status: RecordStatus | None = None
    provider_reference: str = ""


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of setting one bill against the records: how many movements were compared, and the differences."""

    compared: int
    differences: tuple[Difference, ...]


def reconcile(
    recorded: Iterable[Record], bill: Iterable[BillLine], elsewhere: Mapping[Key, Record] | None = None
) -> Reconciliation:
    """Every movement of the day on either side compared once. `recorded` are the platform's movements of the day,
    each expected on the bill when it moved; `elsewhere` are records of other days (or not moved) that a bill line
    may still name, such as a payment paid just after midnight or still pending after a lost notification."""
    records = {record.key: record for record in recorded}
    lines = _by_key(bill)
    others = elsewhere or {}
    differences = [
        difference
        for key in records.keys() | lines.keys()
        if (difference := _compare(records.get(key) or others.get(key), lines.get(key), key)) is not None
    ]
    differences.sort(key=lambda found: (SEVERITY[found.kind], found.record_kind.value, found.reference))
    return Reconciliation(len(records.keys() | lines.keys()), tuple(differences))


def _by_key(bill: Iterable[BillLine]) -> dict[Key, BillLine]:
    """A movement the bill lists twice counts once, with the two amounts added, so the double shows as a difference."""
    lines: dict[Key, BillLine] = {}
    for line in bill:
        key = (line.kind, line.reference)
        seen = lines.get(key)
        lines[key] = (
            line
            if seen is None
            else BillLine(
                line.kind,
                line.reference,
                seen.amount + line.amount,
                seen.provider_reference or line.provider_reference,
                seen.at,
            )
        )
    return lines


def _compare(record: Record | None, line: BillLine | None, key: Key) -> Difference | None:
    kind, reference = key
    if line is None:
        if record is None or record.status is not RecordStatus.MOVED:
            return None
        return Difference(
            DifferenceKind.MISSING_AT_PROVIDER,
            kind,
            reference,
            record.amount,
            None,
            record.status,
            record.provider_reference,
        )
    if record is None:
        return Difference(
            DifferenceKind.MISSING_ON_PLATFORM, kind, reference, None, line.amount, None, line.provider_reference
        )
    if record.status is not RecordStatus.MOVED:
        found = DifferenceKind.STATUS_DIFFERS
    elif record.amount != line.amount:
        found = DifferenceKind.AMOUNT_DIFFERS
    else:
        return None
    return Difference(
        found,
        kind,
        reference,
        record.amount,
        line.amount,
        record.status,
        line.provider_reference or record.provider_reference,
    )

"""The operator's rules as configuration documents: credit levels, waiver policy, billing.

Each document is validated as a whole (every error names its field) and turned into
an immutable policy object; `to_document()` gives back the canonical JSON shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leasecore.documents import (
    Reader,
    as_amount,
    as_int,
    as_non_negative_int,
    as_share,
    as_str,
    invalid,
)
from leasecore.lease.ledger import LateFeeRule
from leasecore.values import ZERO, money

DEFAULT_SCORE_RANGE = (350, 950)


@dataclass(frozen=True)
class ScoreBand:
    min_score: int
    max_score: int

    def contains(self, score: int) -> bool:
        return self.min_score <= score <= self.max_score


def _read_band(reader: Reader, item: Any, path: str, score_range: tuple[int, int]) -> ScoreBand | None:
    low = reader.field(item, "min_score", path, as_int)
    high = reader.field(item, "max_score", path, as_int)
    if low is None or high is None:
        return None
    if low > high:
        reader.error(f"{path}.max_score", "must be ≥ min_score")
        return None
    if low < score_range[0] or high > score_range[1]:
        reader.error(path, f"band {low}–{high} must lie in the score range {score_range[0]}–{score_range[1]}")
        return None
    return ScoreBand(low, high)


def _check_no_overlap(reader: Reader, bands: Sequence[tuple[str, ScoreBand]]) -> None:
    ordered = sorted(bands, key=lambda pair: pair[1].min_score)
    for (_, before), (path, after) in pairwise(ordered):
        if after.min_score <= before.max_score:
            reader.error(path, f"overlaps the band {before.min_score}–{before.max_score}")


@dataclass(frozen=True)
class CreditLevel:
    """A score band and the revolving waiver quota its customers are granted."""

    name: str
    band: ScoreBand
    quota: Decimal


@dataclass(frozen=True)
class CreditLevels:
    """The operator's division of the score range into levels (信用等级)."""

    levels: tuple[CreditLevel, ...]

    name = "credit-levels"

    @classmethod
    def from_document(cls, doc: Any, score_range: tuple[int, int] = DEFAULT_SCORE_RANGE) -> CreditLevels:
        reader = Reader(cls.name)
        levels: list[CreditLevel] = []
        bands: list[tuple[str, ScoreBand]] = []
        names: set[str] = set()
        for path, item in reader.items(doc, "levels", ""):
            name = reader.field(item, "name", path, as_str)
            band = _read_band(reader, item, path, score_range)
            quota = reader.field(item, "quota", path, as_amount)
            if name is not None and name in names:
                reader.error(f"{path}.name", f"level {name!r} is named twice")
            if name is None or band is None or quota is None:
                continue
            names.add(name)
            bands.append((path, band))
            levels.append(CreditLevel(name, band, quota))
        _check_no_overlap(reader, bands)
        if not reader.errors and not levels:
            reader.error("levels", "must name at least one level")
        reader.check()
        return cls(tuple(sorted(levels, key=lambda level: level.band.min_score)))

    def to_document(self) -> dict[str, Any]:
        return {
            "levels": [
                {
                    "name": level.name,
                    "min_score": level.band.min_score,
                    "max_score": level.band.max_score,
                    "quota": str(level.quota),
                }
                for level in sorted(self.levels, key=lambda level: -level.band.min_score)
            ]
        }

    def level_for(self, score: int) -> CreditLevel | None:
        return next((level for level in self.levels if level.band.contains(score)), None)


@dataclass(frozen=True)
class WaiverBand:
    """What a customer in this score band may have waived: an amount or a share of the deposit."""

    band: ScoreBand
    waiver: Decimal | None = None
    share: Decimal | None = None

    def waiver_of(self, deposit: Decimal) -> Decimal:
        if self.waiver is not None:
            return self.waiver
        assert self.share is not None
        return money(deposit * self.share)


@dataclass(frozen=True)
class WaiverPolicy:
    """Who gets a credit waiver (信用免押) and how much per order."""

    min_score: int
    bands: tuple[WaiverBand, ...]
    per_order_cap: Decimal
    per_unit_cap: Decimal

    name = "waiver-policy"

    @classmethod
    def from_document(cls, doc: Any, score_range: tuple[int, int] = DEFAULT_SCORE_RANGE) -> WaiverPolicy:
        reader = Reader(cls.name)
        min_score = reader.field(doc, "min_score", "", as_int)
        if min_score is not None and not score_range[0] <= min_score <= score_range[1]:
            reader.error("min_score", f"must lie in the score range {score_range[0]}–{score_range[1]}")
        bands: list[WaiverBand] = []
        placed: list[tuple[str, ScoreBand]] = []
        for path, item in reader.items(doc, "bands", ""):
            band = _read_band(reader, item, path, score_range)
            has_waiver = isinstance(item, Mapping) and "waiver" in item
            has_share = isinstance(item, Mapping) and "share" in item
            if has_waiver == has_share:
                reader.error(path, "give exactly one of waiver (an amount) or share (of the deposit)")
                continue
            waiver = reader.field(item, "waiver", path, as_amount) if has_waiver else None
            share = reader.field(item, "share", path, as_share) if has_share else None
            if band is None or (waiver is None and share is None):
                continue
            placed.append((path, band))
            bands.append(WaiverBand(band, waiver, share))
        _check_no_overlap(reader, placed)
        per_order_cap = reader.field(doc, "per_order_cap", "", as_amount)
        per_unit_cap = reader.field(doc, "per_unit_cap", "", as_amount)
        reader.check()
        assert min_score is not None and per_order_cap is not None and per_unit_cap is not None
        return cls(min_score, tuple(bands), per_order_cap, per_unit_cap)

    def to_document(self) -> dict[str, Any]:
        def band(item: WaiverBand) -> dict[str, Any]:
            shape: dict[str, Any] = {"min_score": item.band.min_score, "max_score": item.band.max_score}
            if item.waiver is not None:
                shape["waiver"] = str(item.waiver)
            else:
                shape["share"] = str(item.share)
            return shape

        return {
            "min_score": self.min_score,
            "bands": [band(item) for item in self.bands],
            "per_order_cap": str(self.per_order_cap),
            "per_unit_cap": str(self.per_unit_cap),
        }

    def waiver_for(self, score: int | None, deposit: Decimal, quantity: int, available: Decimal) -> Decimal:
        """waiver = min(deposit, band waiver, per-order cap, per-unit cap × quantity, available quota)."""
        if score is None or score < self.min_score:
            return ZERO
        band = next((item for item in self.bands if item.band.contains(score)), None)
        if band is None:
            return ZERO
        candidates = (deposit, band.waiver_of(deposit), self.per_order_cap, self.per_unit_cap * quantity, available)
        return money(max(ZERO, min(candidates)))


class CollectionAction(Enum):
    """What collections (催收) does at a stage."""

    SMS = "sms"
    CALL = "call"
    AGENCY = "agency"


@dataclass(frozen=True)
class CollectionStage:
    after_days: int
    action: CollectionAction


@dataclass(frozen=True)
class BillingPolicy:
    """Grace days (宽限日), the late-fee rule, collection stages and timeouts."""

    timezone: str
    grace_days: int
    daily_rate: Decimal
    fixed_per_day: Decimal
    cap_share: Decimal
    collection_stages: tuple[CollectionStage, ...]
    unpaid_timeout_minutes: int
    early_buyout_discount_share: Decimal

    name = "billing"

    @classmethod
    def from_document(cls, doc: Any) -> BillingPolicy:
        reader = Reader(cls.name)
        timezone = reader.field(doc, "timezone", "", _as_timezone)
        grace_days = reader.field(doc, "grace_days", "", as_non_negative_int)
        late_fee = reader.field(doc, "late_fee", "", lambda value, path: value)
        daily_rate = reader.field(late_fee, "daily_rate", "late_fee", as_share) if late_fee is not None else None
        fixed = reader.field(late_fee, "fixed_per_day", "late_fee", as_amount) if late_fee is not None else None
        cap_share = reader.field(late_fee, "cap_share", "late_fee", as_share) if late_fee is not None else None
        stages: list[CollectionStage] = []
        for path, item in reader.items(doc, "collection_stages", ""):
            after_days = reader.field(item, "after_days", path, as_int)
            action = reader.field(item, "action", path, _as_action)
            if after_days is None or action is None:
                continue
            if after_days < 1:
                reader.error(f"{path}.after_days", "must be ≥ 1")
            elif stages and after_days <= stages[-1].after_days:
                reader.error(f"{path}.after_days", "stage days must be strictly ascending")
            else:
                stages.append(CollectionStage(after_days, action))
        timeout = reader.field(doc, "unpaid_timeout_minutes", "", as_int)
        if timeout is not None and timeout < 1:
            reader.error("unpaid_timeout_minutes", "must be ≥ 1")
        discount = reader.field(doc, "early_buyout_discount_share", "", as_share, default=ZERO)
        reader.check()
        assert timezone and grace_days is not None and daily_rate is not None and fixed is not None
        assert cap_share is not None and timeout is not None and discount is not None
        return cls(timezone, grace_days, daily_rate, fixed, cap_share, tuple(stages), timeout, discount)

    def to_document(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "grace_days": self.grace_days,
            "late_fee": {
                "daily_rate": str(self.daily_rate),
                "fixed_per_day": str(self.fixed_per_day),
                "cap_share": str(self.cap_share),
            },
            "collection_stages": [
                {"after_days": stage.after_days, "action": stage.action.value} for stage in self.collection_stages
            ],
            "unpaid_timeout_minutes": self.unpaid_timeout_minutes,
            "early_buyout_discount_share": str(self.early_buyout_discount_share),
        }

    @property
    def late_fee_rule(self) -> LateFeeRule:
        return LateFeeRule(self.grace_days, self.daily_rate, self.fixed_per_day, self.cap_share, self.timezone)

    def stage_for(self, days_overdue: int) -> CollectionStage | None:
        """The furthest stage reached after `days_overdue` days."""
        reached = [stage for stage in self.collection_stages if days_overdue >= stage.after_days]
        return reached[-1] if reached else None


def _as_timezone(value: Any, path: str) -> str:
    name = as_str(value, path)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(path, f"{name!r} is not a known timezone") from None
    return name


def _as_action(value: Any, path: str) -> CollectionAction:
    try:
        return CollectionAction(value)
    except ValueError:
        choices = ", ".join(action.value for action in CollectionAction)
        raise invalid(path, f"must be one of {choices}") from None

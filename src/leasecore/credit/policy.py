"""The operator's credit rules as configuration documents: credit levels and the waiver policy.

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

from leasecore.documents import (
    Reader,
    as_amount,
    as_int,
    as_share,
    as_str,
)
from leasecore.values import ZERO, money

DEFAULT_SCORE_RANGE = (350, 950)


class Holdback(Enum):
    """The rule or limit that held a waiver below the deposit; its value is the code the API gives."""

    NO_SCORE = "no_score"
    UNDER_MINIMUM = "under_minimum"
    NO_BAND = "no_band"
    BAND = "band"
    PER_ORDER_CAP = "per_order_cap"
    PER_UNIT_CAP = "per_unit_cap"
    CREDIT_LINE = "credit_line"


@dataclass(frozen=True)
class WaiverLimit:
    """Why a waiver is less than the deposit: the rule or limit that held it back, with its figures, so that a
    screen can say it in the customer's language; `str()` is the platform's sentence (docs/review-rules.md)."""

    rule: Holdback
    score: int | None = None
    minimum: int | None = None
    amount: Decimal | None = None
    """The band's most, the cap (a unit's or an order's) or what the credit line has available."""

    def __str__(self) -> str:
        return HOLDBACK_SENTENCES[self.rule].format(score=self.score, minimum=self.minimum, amount=self.amount)


HOLDBACK_SENTENCES = {
    Holdback.NO_SCORE: "no credit score evaluated yet: verify your identity, then evaluate your credit",
    Holdback.UNDER_MINIMUM: "score {score} is under the minimum {minimum} for a waiver",
    Holdback.NO_BAND: "no waiver band covers score {score}",
    Holdback.BAND: "the band of score {score} waives at most {amount}",
    Holdback.PER_ORDER_CAP: "the waiver is capped at {amount} an order",
    Holdback.PER_UNIT_CAP: "the waiver is capped at {amount} a unit",
    Holdback.CREDIT_LINE: "the credit line has {amount} available",
}
"""The platform's words for each limit (the API's `waiver_reason`), `{name}` a figure."""


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
        return self.decide(score, deposit, quantity, available)[0]

    def decide(
        self, score: int | None, deposit: Decimal, quantity: int, available: Decimal
    ) -> tuple[Decimal, WaiverLimit | None]:
        """The waiver and, when it is less than the deposit, why: the rule or the limit that held it back."""
        if deposit <= ZERO:
            return ZERO, None
        if score is None:
            return ZERO, WaiverLimit(Holdback.NO_SCORE)
        if score < self.min_score:
            return ZERO, WaiverLimit(Holdback.UNDER_MINIMUM, score, self.min_score)
        band = next((item for item in self.bands if item.band.contains(score)), None)
        if band is None:
            return ZERO, WaiverLimit(Holdback.NO_BAND, score)
        most = band.waiver_of(deposit)
        limits = (
            (most, WaiverLimit(Holdback.BAND, score, amount=most)),
            (self.per_order_cap, WaiverLimit(Holdback.PER_ORDER_CAP, amount=self.per_order_cap)),
            (money(self.per_unit_cap * quantity), WaiverLimit(Holdback.PER_UNIT_CAP, amount=self.per_unit_cap)),
            (available, WaiverLimit(Holdback.CREDIT_LINE, amount=money(max(ZERO, available)))),
        )
        waiver = money(max(ZERO, min(deposit, *(bound for bound, _ in limits))))
        if waiver >= deposit:
            return waiver, None
        return waiver, next(limit for bound, limit in limits if money(max(ZERO, bound)) == waiver)

"""Credit scoring: an external bureau, or the built-in rule engine over five dimensions of facts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from leasecore.documents import Reader, as_int, invalid


class ScoreSource(Enum):
    BUREAU = "bureau"
    RULES = "rules"


@dataclass(frozen=True)
class ScoringRules:
    """Where scores come from and the range they lie in."""

    source: ScoreSource
    range: tuple[int, int]
    dimensions: tuple[Any, ...] = ()

    name = "scoring-rules"

    @classmethod
    def from_document(cls, doc: Any) -> ScoringRules:
        reader = Reader(cls.name)
        source = reader.field(doc, "source", "", _as_source)
        score_range = reader.field(doc, "range", "", _as_range)
        reader.check()
        assert source is not None and score_range is not None
        return cls(source, score_range, tuple(doc.get("dimensions", ())))

    def to_document(self) -> dict[str, Any]:
        return {"source": self.source.value, "range": list(self.range), "dimensions": list(self.dimensions)}


def _as_source(value: Any, path: str) -> ScoreSource:
    try:
        return ScoreSource(value)
    except ValueError:
        raise invalid(path, "must be bureau or rules") from None


def _as_range(value: Any, path: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise invalid(path, "must be [low, high]")
    low, high = as_int(value[0], f"{path}[0]"), as_int(value[1], f"{path}[1]")
    if low >= high:
        raise invalid(path, "low must be under high")
    return low, high

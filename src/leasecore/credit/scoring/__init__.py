"""Credit scoring: an external bureau, or the built-in rule engine over five dimensions of facts."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from leasecore.credit.scoring.document import read_scoring_rules
from leasecore.credit.scoring.rules import (
    DIMENSIONS,
    AllOf,
    AnyOf,
    Comparator,
    Comparison,
    Condition,
    Dimension,
    DimensionScore,
    Evaluation,
    Fact,
    FiredRule,
    Not,
    Rule,
    ScoreSource,
    ScoringRules,
)

__all__ = [
    "DIMENSIONS",
    "EXAMPLE_RULES",
    "AllOf",
    "AnyOf",
    "Comparator",
    "Comparison",
    "Condition",
    "Dimension",
    "DimensionScore",
    "Evaluation",
    "Fact",
    "FiredRule",
    "Not",
    "Rule",
    "ScoreSource",
    "ScoringRules",
    "example_rules",
    "read_scoring_rules",
]


def example_rules() -> dict[str, Any]:
    """A fresh copy of the platform's example rule-engine document, packaged as example.json."""
    document: dict[str, Any] = json.loads(files(__name__).joinpath("example.json").read_text(encoding="utf-8"))
    return document


EXAMPLE_RULES: dict[str, Any] = example_rules()
"""A realistic rule-engine document: platform facts (see leasecore.credit.facts) and a few external ones."""

"""Credit scoring: an external bureau, or the built-in rule engine over five dimensions of facts.

The `scoring-rules` document names the source of scores (`"bureau"` or `"rules"`), the
range scores lie in, and, for the rule engine, five dimensions: identity, behaviour,
fulfilment, social and credit_history. Each dimension has a weight (a decimal string;
the five sum to exactly 1), a base score from 0 to 100 and rules::

    {"id": "adult", "when": <condition>, "points": 15, "description": "aged 22 to 55"}

A condition compares one named fact, or combines conditions::

    {"fact": "age", "eq": 30}          equal (numbers by value, strings exactly, true/false)
    {"fact": "age", "ne": 30}          known and not equal
    {"fact": "age", "lt": 30}          also lte, gt, gte: numbers only
    {"fact": "age", "between": [22, 55]}       low ≤ fact ≤ high, both ends included
    {"fact": "employment", "in": ["employed", "self_employed"]}   equal to one of them
    {"fact": "employment", "not_in": ["student"]}                 known and equal to none
    {"fact": "monthly_income", "present": true}   known (false: missing or null)
    {"all": [<condition>, ...]}   every one holds
    {"any": [<condition>, ...]}   at least one holds
    {"not": <condition>}          it does not hold

Numbers in the document are whole numbers or decimal strings ("0.5"), never floats.
Facts are str, int, Decimal, bool or None. A fact that is missing or None is unknown:
every comparison on it is false except `present: false` (so `not` of a comparison on an
unknown fact is true). A rule fires when its condition holds and adds its points
(negative points subtract). Rule ids are unique within the document.

    dimension score = clamp(base + Σ points of the fired rules, 0, 100)
    score = low + (high − low) × Σ (weight × dimension score) / 100,
            rounded half-up to a whole number and kept within [low, high]

docs/scoring-rules.md publishes this language to operators, with the facts the platform
provides (leasecore.credit.facts) and the example document EXAMPLE_RULES.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from enum import Enum
from typing import Any, cast

from leasecore.documents import Reader, as_int, as_share, as_str, invalid
from leasecore.errors import Refused

Fact = str | int | Decimal | bool | None
Scalar = str | int | bool

DIMENSIONS = ("identity", "behaviour", "fulfilment", "social", "credit_history")
MAX_POINTS = 100
MAX_DEPTH = 16
WEIGHT_PLACES = 4

_FACT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP)


class ScoreSource(Enum):
    BUREAU = "bureau"
    RULES = "rules"


class Comparator(Enum):
    """How a comparison tests one fact."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    PRESENT = "present"


COMPARATOR_NAMES = ", ".join(operator.value for operator in Comparator)


# Conditions.


@dataclass(frozen=True)
class Comparison:
    """One fact tested by one operator; an unknown fact fails every test but `present: false`."""

    fact: str
    operator: Comparator
    operand: Any

    def holds(self, facts: Mapping[str, Fact]) -> bool:
        value = facts.get(self.fact)
        if self.operator is Comparator.PRESENT:
            return (value is not None) is self.operand
        if value is None:
            return False
        return _TESTS[self.operator](value, self.operand)

    def fact_names(self) -> frozenset[str]:
        return frozenset({self.fact})

    def to_document(self) -> dict[str, Any]:
        return {"fact": self.fact, self.operator.value: _render_operand(self.operator, self.operand)}


@dataclass(frozen=True)
class AllOf:
    """Holds when every one of its conditions holds."""

    conditions: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Fact]) -> bool:
        return all(condition.holds(facts) for condition in self.conditions)

    def fact_names(self) -> frozenset[str]:
        return frozenset[str]().union(*(condition.fact_names() for condition in self.conditions))

    def to_document(self) -> dict[str, Any]:
        return {"all": [condition.to_document() for condition in self.conditions]}


@dataclass(frozen=True)
class AnyOf:
    """Holds when at least one of its conditions holds."""

    conditions: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Fact]) -> bool:
        return any(condition.holds(facts) for condition in self.conditions)

    def fact_names(self) -> frozenset[str]:
        return frozenset[str]().union(*(condition.fact_names() for condition in self.conditions))

    def to_document(self) -> dict[str, Any]:
        return {"any": [condition.to_document() for condition in self.conditions]}


@dataclass(frozen=True)
class Not:
    """Holds when its condition does not."""

    condition: Condition

    def holds(self, facts: Mapping[str, Fact]) -> bool:
        return not self.condition.holds(facts)

    def fact_names(self) -> frozenset[str]:
        return self.condition.fact_names()

    def to_document(self) -> dict[str, Any]:
        return {"not": self.condition.to_document()}


Condition = Comparison | AllOf | AnyOf | Not


def _number(value: object) -> Decimal | None:
    """A fact or literal as a number: int, Decimal or a decimal string; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _equal(fact: Fact, literal: Scalar) -> bool:
    """Booleans equal booleans only; a number equals a number of the same value; strings exactly."""
    if isinstance(fact, bool) or isinstance(literal, bool):
        return isinstance(fact, bool) and isinstance(literal, bool) and fact is literal
    if isinstance(fact, int | Decimal):
        number = _number(literal)
        return number is not None and Decimal(fact) == number
    return isinstance(literal, str) and fact == literal


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Callable[[Fact, Decimal], bool]:
    """An ordering test that only a numeric fact can pass."""

    def check(fact: Fact, bound: Decimal) -> bool:
        number = None if isinstance(fact, str) else _number(fact)
        return number is not None and test(number, bound)

    return check


def _between(fact: Fact, bounds: tuple[Decimal, Decimal]) -> bool:
    number = None if isinstance(fact, str) else _number(fact)
    return number is not None and bounds[0] <= number <= bounds[1]


_TESTS: dict[Comparator, Callable[[Fact, Any], bool]] = {
    Comparator.EQ: _equal,
    Comparator.NE: lambda fact, literal: not _equal(fact, literal),
    Comparator.LT: _numeric(lambda number, bound: number < bound),
    Comparator.LTE: _numeric(lambda number, bound: number <= bound),
    Comparator.GT: _numeric(lambda number, bound: number > bound),
    Comparator.GTE: _numeric(lambda number, bound: number >= bound),
    Comparator.BETWEEN: _between,
    Comparator.IN: lambda fact, literals: any(_equal(fact, literal) for literal in literals),
    Comparator.NOT_IN: lambda fact, literals: not any(_equal(fact, literal) for literal in literals),
}


# Rules and dimensions.


@dataclass(frozen=True)
class Rule:
    """Points added to a dimension when the condition holds."""

    id: str
    when: Condition
    points: int
    description: str = ""

    def fires(self, facts: Mapping[str, Fact]) -> bool:
        return self.when.holds(facts)

    def to_document(self) -> dict[str, Any]:
        return {"id": self.id, "when": self.when.to_document(), "points": self.points, "description": self.description}


@dataclass(frozen=True)
class FiredRule:
    id: str
    points: int
    description: str


@dataclass(frozen=True)
class DimensionScore:
    """One dimension's part of an evaluation: base, the rules that fired and the clamped score."""

    name: str
    weight: Decimal
    base: int
    points: int
    score: int
    fired: tuple[FiredRule, ...]

    @property
    def contribution(self) -> Decimal:
        return self.weight * self.score


@dataclass(frozen=True)
class Dimension:
    """One of the five dimensions: its weight (分值占比), base score and rules."""

    name: str
    weight: Decimal
    base: int
    rules: tuple[Rule, ...]

    def score(self, facts: Mapping[str, Fact]) -> DimensionScore:
        """Base plus the points of the fired rules, kept within 0–100."""
        fired = tuple(FiredRule(rule.id, rule.points, rule.description) for rule in self.rules if rule.fires(facts))
        points = sum(rule.points for rule in fired)
        score = min(100, max(0, self.base + points))
        return DimensionScore(self.name, self.weight, self.base, points, score, fired)

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": str(self.weight),
            "base": self.base,
            "rules": [rule.to_document() for rule in self.rules],
        }


# The evaluation.


@dataclass(frozen=True)
class Evaluation:
    """A score with everything needed to explain it: each dimension, the rules fired, the facts used."""

    score: int
    range: tuple[int, int]
    weighted: Decimal
    dimensions: tuple[DimensionScore, ...]
    facts: tuple[tuple[str, Fact], ...]

    @property
    def fired(self) -> tuple[FiredRule, ...]:
        return tuple(rule for dimension in self.dimensions for rule in dimension.fired)

    def dimension(self, name: str) -> DimensionScore:
        return next(dimension for dimension in self.dimensions if dimension.name == name)

    def to_details(self) -> dict[str, Any]:
        """The evaluation as JSON-native values (decimals as strings), as a CreditEvaluated event keeps it."""
        return {
            "source": ScoreSource.RULES.value,
            "score": self.score,
            "range": list(self.range),
            "weighted": str(self.weighted),
            "dimensions": [
                {
                    "name": dimension.name,
                    "weight": str(dimension.weight),
                    "base": dimension.base,
                    "points": dimension.points,
                    "score": dimension.score,
                    "fired": [
                        {"id": rule.id, "points": rule.points, "description": rule.description}
                        for rule in dimension.fired
                    ],
                }
                for dimension in self.dimensions
            ],
            "facts": {name: _json_fact(value) for name, value in self.facts},
        }

    def explain(self) -> list[str]:
        """One line for the score, one per dimension with the rules that fired, in plain words."""
        low, high = self.range
        lines = [f"score {self.score} in {low}–{high}: {self.weighted} of 100 weighted over the dimensions"]
        for dimension in self.dimensions:
            fired = ", ".join(f"{rule.id} {rule.points:+d}" for rule in dimension.fired) or "no rule fired"
            lines.append(
                f"{dimension.name} {dimension.score} × {dimension.weight}: base {dimension.base}, {fired}"
                f" ({dimension.points:+d})"
            )
        return lines


def _json_fact(value: Fact) -> str | int | bool | None:
    return str(value) if isinstance(value, Decimal) else value


def _check_facts(facts: Mapping[str, object]) -> None:
    """Facts are str, int, finite Decimal, bool or None; a float is refused as everywhere else."""
    for name, value in facts.items():
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"fact {name!r} is not a finite number: {value}")
        if value is not None and not isinstance(value, str | int | Decimal | bool):
            raise TypeError(f"fact {name!r} must be str, int, Decimal, bool or None, not {type(value).__name__}")


@dataclass(frozen=True)
class ScoringRules:
    """Where scores come from, the range they lie in, and the rule engine's weighted dimensions."""

    source: ScoreSource
    range: tuple[int, int]
    dimensions: tuple[Dimension, ...] = ()

    name = "scoring-rules"

    @property
    def fact_names(self) -> frozenset[str]:
        """Every fact some rule looks at: what the caller should collect before evaluating."""
        return frozenset[str]().union(
            *(rule.when.fact_names() for dimension in self.dimensions for rule in dimension.rules)
        )

    def evaluate(self, facts: Mapping[str, object]) -> Evaluation:
        """Each dimension scores its fired rules; the weighted dimensions place the score in the range."""
        if not self.dimensions:
            raise Refused(f"the {self.name} document has no dimensions for the rule engine to evaluate")
        _check_facts(facts)
        known = cast("Mapping[str, Fact]", facts)
        scores = tuple(dimension.score(known) for dimension in self.dimensions)
        low, high = self.range
        with localcontext(_EXACT):
            weighted = sum((dimension.contribution for dimension in scores), Decimal(0))
            exact = low + (high - low) * weighted / 100
            score = min(high, max(low, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))))
        used = tuple((name, known.get(name)) for name in sorted(self.fact_names))
        return Evaluation(score, self.range, weighted, scores, used)

    @classmethod
    def from_document(cls, doc: Any) -> ScoringRules:
        reader = Reader(cls.name)
        _check_keys(reader, doc, "", ("source", "range", "dimensions"))
        source = reader.field(doc, "source", "", _as_source)
        score_range = reader.field(doc, "range", "", _as_range)
        has_dimensions = isinstance(doc, Mapping) and "dimensions" in doc
        items = reader.items(doc, "dimensions", "") if has_dimensions else []
        ids: set[str] = set()
        read = [_read_dimension(reader, item, path, ids) for path, item in items]
        if source is ScoreSource.RULES and not items:
            reader.error("dimensions", f"the rule engine needs all five dimensions: {', '.join(DIMENSIONS)}")
        if items:
            _check_complete(
                reader, [(path, name, weight) for (path, _), (name, weight, _) in zip(items, read, strict=True)]
            )
        dimensions = [dimension for _, _, dimension in read if dimension is not None]
        reader.check()
        assert source is not None and score_range is not None
        ordered = tuple(sorted(dimensions, key=lambda dimension: DIMENSIONS.index(dimension.name)))
        return cls(source, score_range, ordered)

    def to_document(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "range": list(self.range),
            "dimensions": [dimension.to_document() for dimension in self.dimensions],
        }


EXAMPLE_RULES: dict[str, Any] = {
    "source": "rules",
    "range": [350, 950],
    "dimensions": [
        {
            "name": "identity",
            "weight": "0.20",
            "base": 40,
            "rules": [
                {
                    "id": "identity_verified",
                    "when": {"fact": "identity_verified", "eq": True},
                    "points": 30,
                    "description": "real-name identity verified (实名认证)",
                },
                {
                    "id": "prime_age",
                    "when": {"fact": "age", "between": [22, 55]},
                    "points": 20,
                    "description": "aged 22 to 55",
                },
                {
                    "id": "young_adult",
                    "when": {"fact": "age", "between": [18, 21]},
                    "points": 5,
                    "description": "aged 18 to 21",
                },
                {
                    "id": "virtual_carrier",
                    "when": {"fact": "phone_prefix", "in": ["162", "165", "167", "170", "171"]},
                    "points": -15,
                    "description": "phone number from a virtual carrier (虚拟运营商)",
                },
                {
                    "id": "established_account",
                    "when": {"fact": "account_age_days", "gte": 180},
                    "points": 10,
                    "description": "registered for at least 180 days",
                },
            ],
        },
        {
            "name": "behaviour",
            "weight": "0.15",
            "base": 50,
            "rules": [
                {
                    "id": "takes_protection",
                    "when": {"fact": "orders_with_protection", "gte": 1},
                    "points": 10,
                    "description": "has chosen accident protection (意外保障)",
                },
                {
                    "id": "long_term_renter",
                    "when": {"fact": "orders_long_term", "gte": 1},
                    "points": 10,
                    "description": "has rented long-term (长租)",
                },
                {
                    "id": "bought_out",
                    "when": {"fact": "orders_bought_out", "gte": 1},
                    "points": 15,
                    "description": "has bought out a device (买断)",
                },
                {
                    "id": "many_cancellations",
                    "when": {"fact": "orders_cancelled", "gte": 3},
                    "points": -20,
                    "description": "cancelled three orders or more",
                },
            ],
        },
        {
            "name": "fulfilment",
            "weight": "0.25",
            "base": 30,
            "rules": [
                {
                    "id": "stable_income",
                    "when": {
                        "all": [
                            {"fact": "monthly_income", "gte": "4000.00"},
                            {"fact": "employment", "in": ["employed", "civil_servant", "self_employed"]},
                        ]
                    },
                    "points": 25,
                    "description": "earns 4000.00 a month or more in work",
                },
                {
                    "id": "high_income",
                    "when": {"fact": "monthly_income", "gte": "10000.00"},
                    "points": 20,
                    "description": "earns 10000.00 a month or more",
                },
                {
                    "id": "quota_headroom",
                    "when": {"fact": "credit_utilisation", "lt": "0.50"},
                    "points": 10,
                    "description": "uses under half of the waiver quota",
                },
                {
                    "id": "quota_stretched",
                    "when": {"fact": "credit_utilisation", "gte": "0.90"},
                    "points": -15,
                    "description": "uses 90% of the waiver quota or more",
                },
                {
                    "id": "student",
                    "when": {"fact": "employment", "eq": "student"},
                    "points": -10,
                    "description": "a student without a regular income",
                },
            ],
        },
        {
            "name": "social",
            "weight": "0.10",
            "base": 50,
            "rules": [
                {
                    "id": "contacts_verified",
                    "when": {"fact": "contacts_verified", "gte": 2},
                    "points": 20,
                    "description": "two emergency contacts or more verified",
                },
                {
                    "id": "no_contacts",
                    "when": {"not": {"fact": "contacts_verified", "gte": 1}},
                    "points": -10,
                    "description": "no verified emergency contact",
                },
                {
                    "id": "contacts_in_default",
                    "when": {"fact": "contacts_overdue", "gt": 0},
                    "points": -30,
                    "description": "a close contact is in default",
                },
            ],
        },
        {
            "name": "credit_history",
            "weight": "0.30",
            "base": 50,
            "rules": [
                {
                    "id": "clean_settlements",
                    "when": {"all": [{"fact": "orders_settled", "gte": 1}, {"fact": "max_days_overdue", "eq": 0}]},
                    "points": 30,
                    "description": "settled an order and never overdue",
                },
                {
                    "id": "repeat_customer",
                    "when": {"fact": "orders_settled", "gte": 3},
                    "points": 10,
                    "description": "settled three orders or more",
                },
                {
                    "id": "overdue_now",
                    "when": {"fact": "orders_overdue", "gt": 0},
                    "points": -50,
                    "description": "an installment is overdue now",
                },
                {
                    "id": "serious_overdue",
                    "when": {"fact": "max_days_overdue", "gt": 30},
                    "points": -30,
                    "description": "was once more than 30 days overdue",
                },
                {
                    "id": "late_fees",
                    "when": {"fact": "late_fees_total", "gt": "0.00"},
                    "points": -10,
                    "description": "has been charged late fees (滞纳金)",
                },
                {
                    "id": "rejected_before",
                    "when": {
                        "any": [{"fact": "orders_rejected", "gte": 1}, {"fact": "bureau_blacklisted", "eq": True}]
                    },
                    "points": -20,
                    "description": "rejected by risk review before, or on a bureau blacklist",
                },
            ],
        },
    ],
}
"""A realistic rule-engine document: platform facts (see leasecore.credit.facts) and a few external ones."""


# Reading the document.


def _check_keys(reader: Reader, doc: Any, path: str, allowed: tuple[str, ...]) -> None:
    """A field the document does not define is an error, so a misspelt one is never silently ignored."""
    if not isinstance(doc, Mapping):
        return
    for key in doc:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            reader.error(where, f"is not a field here; use {', '.join(allowed)}")


def _check_complete(reader: Reader, dimensions: list[tuple[str, str | None, Decimal | None]]) -> None:
    """All five dimensions, each once, their weights summing to exactly 1."""
    seen: set[str] = set()
    for path, name, _ in dimensions:
        if name in seen:
            reader.error(f"{path}.name", f"dimension {name!r} is given twice")
        if name is not None:
            seen.add(name)
    missing = [name for name in DIMENSIONS if name not in seen]
    if missing and all(name is not None for _, name, _ in dimensions):
        reader.error("dimensions", f"missing {', '.join(missing)}")
    weights = [weight for _, _, weight in dimensions]
    if all(weight is not None for weight in weights):
        weighed = sum((weight for weight in weights if weight is not None), Decimal(0))
        if weighed != 1:
            reader.error("dimensions", f"weights must sum to 1, not {weighed}")


def _read_dimension(
    reader: Reader, item: Any, path: str, ids: set[str]
) -> tuple[str | None, Decimal | None, Dimension | None]:
    """The dimension's name and weight as far as they could be read, and the dimension if all of it could."""
    _check_keys(reader, item, path, ("name", "weight", "base", "rules"))
    name = reader.field(item, "name", path, _as_dimension_name)
    weight = reader.field(item, "weight", path, _as_weight)
    base = reader.field(item, "base", path, _as_dimension_score)
    read = [_read_rule(reader, rule, rule_path, ids) for rule_path, rule in reader.items(item, "rules", path)]
    rules = tuple(rule for rule in read if rule is not None)
    if name is None or weight is None or base is None or len(rules) != len(read):
        return name, weight, None
    return name, weight, Dimension(name, weight, base, rules)


def _read_rule(reader: Reader, item: Any, path: str, ids: set[str]) -> Rule | None:
    _check_keys(reader, item, path, ("id", "when", "points", "description"))
    rule_id = reader.field(item, "id", path, as_str)
    if rule_id is not None and rule_id in ids:
        reader.error(f"{path}.id", f"rule id {rule_id!r} is used twice")
    elif rule_id is not None:
        ids.add(rule_id)
    when = reader.field(item, "when", path, _as_object)
    condition = _read_condition(reader, when, f"{path}.when", 1) if when is not None else None
    points = reader.field(item, "points", path, _as_points)
    description = reader.field(item, "description", path, _as_text, default="")
    if rule_id is None or condition is None or points is None or description is None:
        return None
    return Rule(rule_id, condition, points, description)


def _read_condition(reader: Reader, doc: Any, path: str, depth: int) -> Condition | None:
    """A comparison on one fact, or all / any / not of further conditions."""
    if not isinstance(doc, Mapping):
        reader.error(path, "must be an object: a comparison on a fact, or all, any or not")
        return None
    if depth > MAX_DEPTH:
        reader.error(path, f"conditions nest at most {MAX_DEPTH} deep")
        return None
    kinds = [kind for kind in ("fact", "all", "any", "not") if kind in doc]
    if len(kinds) != 1:
        reader.error(path, "give exactly one of fact (with an operator), all, any or not")
        return None
    kind = kinds[0]
    if kind == "fact":
        return _read_comparison(reader, doc, path)
    for key in doc:
        if key != kind:
            reader.error(f"{path}.{key}", f"is not allowed beside {kind}")
    if kind == "not":
        inner = _read_condition(reader, doc["not"], f"{path}.not", depth + 1)
        return Not(inner) if inner is not None and len(doc) == 1 else None
    items = reader.items(doc, kind, path)
    if not items and isinstance(doc[kind], list):
        reader.error(f"{path}.{kind}", "must list at least one condition")
    read = [_read_condition(reader, item, item_path, depth + 1) for item_path, item in items]
    conditions = tuple(condition for condition in read if condition is not None)
    if not items or len(conditions) != len(read) or len(doc) != 1:
        return None
    return AllOf(conditions) if kind == "all" else AnyOf(conditions)


def _read_comparison(reader: Reader, doc: Mapping[str, Any], path: str) -> Comparison | None:
    fact = reader.field(doc, "fact", path, _as_fact_name)
    named = [key for key in doc if key != "fact"]
    operators = [Comparator(key) for key in named if key in _OPERAND_PARSERS]
    for key in named:
        if key not in _OPERAND_PARSERS:
            reader.error(f"{path}.{key}", f"is not an operator; use one of {COMPARATOR_NAMES}")
    if not named:
        reader.error(path, f"needs an operator: one of {COMPARATOR_NAMES}")
    elif len(operators) > 1:
        reader.error(path, f"give one operator, not {', '.join(operator.value for operator in operators)}")
    if len(operators) != 1:
        return None
    operator = operators[0]
    operand = reader.field(doc, operator.value, path, _OPERAND_PARSERS[operator.value])
    if fact is None or operand is None or len(named) != 1:
        return None
    return Comparison(fact, operator, operand)


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


def _as_object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(path, "must be an object: a comparison on a fact, or all, any or not")
    return value


def _as_text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise invalid(path, "must be a string")
    return value


def _as_dimension_name(value: Any, path: str) -> str:
    if value not in DIMENSIONS:
        raise invalid(path, f"must be one of {', '.join(DIMENSIONS)}")
    name: str = value
    return name


def _as_weight(value: Any, path: str) -> Decimal:
    """A share from 0 to 1 with at most four decimal places, given as a string such as "0.25"."""
    weight = as_share(value, path)
    if weight != weight.quantize(Decimal(1).scaleb(-WEIGHT_PLACES)):
        raise invalid(path, f"has more than {WEIGHT_PLACES} decimal places")
    return weight


def _as_dimension_score(value: Any, path: str) -> int:
    score = as_int(value, path)
    if not 0 <= score <= 100:
        raise invalid(path, "must lie between 0 and 100")
    return score


def _as_points(value: Any, path: str) -> int:
    points = as_int(value, path)
    if not -MAX_POINTS <= points <= MAX_POINTS:
        raise invalid(path, f"must lie between -{MAX_POINTS} and {MAX_POINTS}")
    return points


def _as_fact_name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _FACT_NAME.fullmatch(value):
        raise invalid(path, "must be a fact name in snake_case, such as monthly_income")
    return value


def _as_literal(value: Any, path: str) -> Scalar:
    if value is None:
        raise invalid(path, "must not be null; test a missing fact with present: false")
    if not isinstance(value, str | int):
        raise invalid(path, "must be a string, a whole number, a decimal string or true/false")
    return value


def _as_number(value: Any, path: str) -> Decimal:
    """A whole number or a decimal string such as "0.5"; never a float."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(path, 'must be a whole number or a decimal string such as "0.5"')
    number = _number(value)
    if number is None:
        raise invalid(path, f"{value!r} is not a number")
    return number


def _as_bounds(value: Any, path: str) -> tuple[Decimal, Decimal]:
    if not isinstance(value, list) or len(value) != 2:
        raise invalid(path, "must be [low, high]")
    low, high = _as_number(value[0], f"{path}[0]"), _as_number(value[1], f"{path}[1]")
    if low > high:
        raise invalid(path, f"low {value[0]} must not exceed high {value[1]}")
    return low, high


def _as_literals(value: Any, path: str) -> tuple[Scalar, ...]:
    if not isinstance(value, list) or not value:
        raise invalid(path, "must be a list of at least one value")
    return tuple(_as_literal(item, f"{path}[{index}]") for index, item in enumerate(value))


def _as_flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(path, "must be true or false")
    return value


_OPERAND_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    Comparator.EQ.value: _as_literal,
    Comparator.NE.value: _as_literal,
    Comparator.LT.value: _as_number,
    Comparator.LTE.value: _as_number,
    Comparator.GT.value: _as_number,
    Comparator.GTE.value: _as_number,
    Comparator.BETWEEN.value: _as_bounds,
    Comparator.IN.value: _as_literals,
    Comparator.NOT_IN.value: _as_literals,
    Comparator.PRESENT.value: _as_flag,
}


def _render_number(number: Decimal) -> int | str:
    """Numbers written without decimals as JSON integers, others as the decimal strings they were."""
    return int(number) if number.as_tuple().exponent == 0 else str(number)


def _render_operand(operator: Comparator, operand: Any) -> Any:
    if operator in (Comparator.LT, Comparator.LTE, Comparator.GT, Comparator.GTE):
        return _render_number(operand)
    if operator is Comparator.BETWEEN:
        return [_render_number(bound) for bound in operand]
    if operator in (Comparator.IN, Comparator.NOT_IN):
        return list(operand)
    return operand

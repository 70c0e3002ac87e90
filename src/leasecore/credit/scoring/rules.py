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

leasecore.credit.scoring.document reads and validates the operator's document into this model.
docs/scoring-rules.md publishes this language to operators, with the facts the platform
provides (leasecore.credit.facts) and the example document (example.json, EXAMPLE_RULES).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from enum import Enum
from typing import Any, ClassVar, cast

from leasecore.errors import Refused

Fact = str | int | Decimal | bool | None
Scalar = str | int | bool

DIMENSIONS = ("identity", "behaviour", "fulfilment", "social", "credit_history")

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


def to_number(value: object) -> Decimal | None:
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
        number = to_number(literal)
        return number is not None and Decimal(fact) == number
    return isinstance(literal, str) and fact == literal


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Callable[[Fact, Decimal], bool]:
    """An ordering test that only a numeric fact can pass."""

    def check(fact: Fact, bound: Decimal) -> bool:
        number = None if isinstance(fact, str) else to_number(fact)
        return number is not None and test(number, bound)

    return check


def _between(fact: Fact, bounds: tuple[Decimal, Decimal]) -> bool:
    number = None if isinstance(fact, str) else to_number(fact)
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
    from_document: ClassVar[Callable[[Any], ScoringRules]]
    """Reads and validates the operator's document: leasecore.credit.scoring.document.read_scoring_rules."""

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

    def to_document(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "range": list(self.range),
            "dimensions": [dimension.to_document() for dimension in self.dimensions],
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

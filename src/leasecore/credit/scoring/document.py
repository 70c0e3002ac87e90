"""Reading the operator's `scoring-rules` document into the rule model, every error reported with its path.

The language is described in leasecore.credit.scoring.rules and published in docs/scoring-rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from leasecore.credit.scoring.rules import (
    DIMENSIONS,
    AllOf,
    AnyOf,
    Comparator,
    Comparison,
    Condition,
    Dimension,
    Not,
    Rule,
    Scalar,
    ScoreSource,
    ScoringRules,
    to_number,
)
from leasecore.documents import Reader, as_int, as_share, as_str, invalid

MAX_POINTS = 100
MAX_DEPTH = 16
WEIGHT_PLACES = 4
COMPARATOR_NAMES = ", ".join(operator.value for operator in Comparator)

_FACT_NAME = re.compile(r"[a-z][a-z0-9_]*")


def read_scoring_rules(doc: Any) -> ScoringRules:
    """The operator's document as scoring rules; any error refuses it whole, each error listed with its path."""
    reader = Reader(ScoringRules.name)
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
    return ScoringRules(source, score_range, ordered)


ScoringRules.from_document = staticmethod(read_scoring_rules)


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
    number = to_number(value)
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

"""The scoring-rules document and the rule engine: figures, fired rules, validation paths, properties."""

import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from leasecore.credit.scoring import DIMENSIONS, EXAMPLE_RULES, Comparator, ScoreSource, ScoringRules
from leasecore.errors import InvalidDocument, Refused

DOCS = Path(__file__).parents[2] / "docs" / "scoring-rules.md"

GOOD_CUSTOMER = {
    "identity_verified": True,
    "age": 30,
    "phone_prefix": "139",
    "account_age_days": 400,
    "orders_with_protection": 1,
    "orders_long_term": 2,
    "orders_bought_out": 0,
    "orders_cancelled": 0,
    "monthly_income": D("12000.00"),
    "employment": "employed",
    "credit_utilisation": D("0.2500"),
    "contacts_verified": 2,
    "contacts_overdue": 0,
    "orders_settled": 1,
    "max_days_overdue": 0,
    "orders_overdue": 0,
    "late_fees_total": D("0.00"),
    "orders_rejected": 0,
    "bureau_blacklisted": False,
}

RISKY_CUSTOMER = {
    "identity_verified": True,
    "age": 19,
    "phone_prefix": "170",
    "account_age_days": 10,
    "orders_cancelled": 4,
    "employment": "student",
    "monthly_income": D("1500.00"),
    "credit_utilisation": D("0.9500"),
    "contacts_verified": 0,
    "contacts_overdue": 1,
    "orders_settled": 0,
    "max_days_overdue": 45,
    "orders_overdue": 1,
    "late_fees_total": D("38.20"),
    "orders_rejected": 1,
}


def fields(error: InvalidDocument) -> list[str]:
    return [field for field, _ in error.errors]


def dimension(name: str, weight: str = "0.20", base: int = 50, rules: list | None = None) -> dict:
    return {"name": name, "weight": weight, "base": base, "rules": rules or []}


def document(score_range=(0, 100), **rules_of: list) -> dict:
    """Five dimensions weighing 0.20 each, base 50, with the rules given per dimension."""
    return {
        "source": "rules",
        "range": list(score_range),
        "dimensions": [dimension(name, rules=rules_of.get(name, [])) for name in DIMENSIONS],
    }


def rule(rule_id: str, when: dict, points: int = 10, description: str = "") -> dict:
    return {"id": rule_id, "when": when, "points": points, "description": description}


def holds(when: dict, **facts) -> bool:
    """Whether `when` holds for these facts, seen through a one-rule document."""
    evaluation = ScoringRules.from_document(document(identity=[rule("r", when)])).evaluate(facts)
    return [fired.id for fired in evaluation.fired] == ["r"]


def refused(doc: dict) -> list[str]:
    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(doc)
    return fields(error.value)


# The example document, by hand.


def test_a_good_customer_scores_847_with_every_rule_that_fired():
    evaluation = ScoringRules.from_document(EXAMPLE_RULES).evaluate(GOOD_CUSTOMER)

    # identity 40 +30 +20 +10 = 100; behaviour 50 +10 +10 = 70; fulfilment 30 +25 +20 +10 = 85;
    # social 50 +20 = 70; credit_history 50 +30 = 80.
    # Σ = 0.20×100 + 0.15×70 + 0.25×85 + 0.10×70 + 0.30×80 = 20 + 10.5 + 21.25 + 7 + 24 = 82.75
    # 350 + 600 × 82.75 / 100 = 846.5 → 847 (half-up)
    assert [(d.name, d.points, d.score) for d in evaluation.dimensions] == [
        ("identity", 60, 100),
        ("behaviour", 20, 70),
        ("fulfilment", 55, 85),
        ("social", 20, 70),
        ("credit_history", 30, 80),
    ]
    assert evaluation.weighted == D("82.75")
    assert evaluation.score == 847
    assert [(fired.id, fired.points) for fired in evaluation.fired] == [
        ("identity_verified", 30),
        ("prime_age", 20),
        ("established_account", 10),
        ("takes_protection", 10),
        ("long_term_renter", 10),
        ("stable_income", 25),
        ("high_income", 20),
        ("quota_headroom", 10),
        ("contacts_verified", 20),
        ("clean_settlements", 30),
    ]


def test_a_risky_customer_scores_463_and_credit_history_stops_at_zero():
    evaluation = ScoringRules.from_document(EXAMPLE_RULES).evaluate(RISKY_CUSTOMER)

    # identity 40 +30 +5 −15 = 60; behaviour 50 −20 = 30; fulfilment 30 −15 −10 = 5;
    # social 50 −10 −30 = 10; credit_history 50 −50 −30 −10 −20 = −60 → 0.
    # Σ = 12 + 4.5 + 1.25 + 1 + 0 = 18.75; 350 + 600 × 0.1875 = 462.5 → 463
    assert [(d.name, d.points, d.score) for d in evaluation.dimensions] == [
        ("identity", 20, 60),
        ("behaviour", -20, 30),
        ("fulfilment", -25, 5),
        ("social", -40, 10),
        ("credit_history", -110, 0),
    ]
    assert evaluation.score == 463
    assert [fired.id for fired in evaluation.dimension("credit_history").fired] == [
        "overdue_now",
        "serious_overdue",
        "late_fees",
        "rejected_before",
    ]


def test_with_no_facts_only_the_bases_and_negated_rules_count():
    evaluation = ScoringRules.from_document(EXAMPLE_RULES).evaluate({})

    # 0.20×40 + 0.15×50 + 0.25×30 + 0.10×(50 − 10) + 0.30×50 = 8 + 7.5 + 7.5 + 4 + 15 = 42
    # 350 + 600 × 0.42 = 602; only no_contacts fires: not(contacts_verified ≥ 1) with it unknown
    assert evaluation.score == 602
    assert [fired.id for fired in evaluation.fired] == ["no_contacts"]


# Arithmetic: clamping and rounding.


def test_a_dimension_is_kept_between_0_and_100():
    doc = document(
        identity=[rule("up", {"fact": "x", "eq": 1}, 60)],
        social=[rule("down", {"fact": "x", "eq": 1}, -70)],
    )
    evaluation = ScoringRules.from_document(doc).evaluate({"x": 1})

    assert (evaluation.dimension("identity").points, evaluation.dimension("identity").score) == (60, 100)
    assert (evaluation.dimension("social").points, evaluation.dimension("social").score) == (-70, 0)
    # 0.20 × (100 + 50 + 50 + 0 + 50) = 50 → 0 + 100 × 0.50 = 50
    assert evaluation.score == 50


def test_the_total_reaches_exactly_the_ends_of_the_range():
    everything = {"fact": "x", "present": True}
    top = document((350, 950), **{name: [rule(f"{name}_up", everything, 100)] for name in DIMENSIONS})
    bottom = document((350, 950), **{name: [rule(f"{name}_down", everything, -100)] for name in DIMENSIONS})

    assert ScoringRules.from_document(top).evaluate({"x": 1}).score == 950
    assert ScoringRules.from_document(bottom).evaluate({"x": 1}).score == 350


def test_the_total_is_rounded_half_up():
    fives = {name: [rule(f"{name}_minus_5", {"fact": "x", "present": True}, -5)] for name in DIMENSIONS}
    # every dimension 50 − 5 = 45: 0 + 10 × 45 / 100 = 4.5 → 5 (half-even would give 4)
    assert ScoringRules.from_document(document((0, 10), **fives)).evaluate({"x": 1}).score == 5
    # 0 + 10 × 50 / 100 = 5 exactly; 100 + 3 × 50 / 100 = 101.5 → 102
    assert ScoringRules.from_document(document((0, 10))).evaluate({}).score == 5
    assert ScoringRules.from_document(document((100, 103))).evaluate({}).score == 102


def test_weights_spread_the_dimensions_unevenly():
    doc = document((300, 900))
    doc["dimensions"] = [
        dimension("identity", "0.1000", 100),
        dimension("behaviour", "0.05", 0),
        dimension("fulfilment", "0.35", 20),
        dimension("social", "0", 100),
        dimension("credit_history", "0.5", 90),
    ]
    # 0.1×100 + 0.05×0 + 0.35×20 + 0×100 + 0.5×90 = 10 + 0 + 7 + 0 + 45 = 62 → 300 + 600 × 0.62 = 672
    assert ScoringRules.from_document(doc).evaluate({}).score == 672


# Operators and combinators.


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        ({"fact": "age", "eq": 30}, {"age": 30}, True),
        ({"fact": "age", "eq": 30}, {"age": 31}, False),
        ({"fact": "age", "eq": 30}, {"age": D("30.00")}, True),
        ({"fact": "income", "eq": "30.5"}, {"income": D("30.50")}, True),
        ({"fact": "age", "eq": 30}, {"age": "30"}, False),
        ({"fact": "code", "eq": "030"}, {"code": "030"}, True),
        ({"fact": "code", "eq": "030"}, {"code": "30"}, False),
        ({"fact": "flag", "eq": True}, {"flag": True}, True),
        ({"fact": "flag", "eq": True}, {"flag": 1}, False),
        ({"fact": "count", "eq": 1}, {"count": True}, False),
        ({"fact": "flag", "eq": False}, {"flag": False}, True),
        ({"fact": "age", "ne": 30}, {"age": 31}, True),
        ({"fact": "age", "ne": 30}, {"age": 30}, False),
        ({"fact": "age", "ne": 30}, {"age": "thirty"}, True),
        ({"fact": "age", "lt": 30}, {"age": 29}, True),
        ({"fact": "age", "lt": 30}, {"age": 30}, False),
        ({"fact": "age", "lte": 30}, {"age": 30}, True),
        ({"fact": "age", "lte": 30}, {"age": 31}, False),
        ({"fact": "age", "gt": 30}, {"age": 31}, True),
        ({"fact": "age", "gt": 30}, {"age": 30}, False),
        ({"fact": "age", "gte": 30}, {"age": 30}, True),
        ({"fact": "age", "gte": 30}, {"age": 29}, False),
        ({"fact": "share", "lt": "0.5"}, {"share": D("0.4999")}, True),
        ({"fact": "share", "gte": "0.5"}, {"share": D("0.5000")}, True),
        ({"fact": "age", "gt": 0}, {"age": "31"}, False),
        ({"fact": "flag", "gt": 0}, {"flag": True}, False),
        ({"fact": "age", "between": [22, 55]}, {"age": 22}, True),
        ({"fact": "age", "between": [22, 55]}, {"age": 55}, True),
        ({"fact": "age", "between": [22, 55]}, {"age": 21}, False),
        ({"fact": "age", "between": [22, 55]}, {"age": D("55.01")}, False),
        ({"fact": "age", "between": [30, 30]}, {"age": 30}, True),
        ({"fact": "prefix", "in": ["138", "139"]}, {"prefix": "139"}, True),
        ({"fact": "prefix", "in": ["138", "139"]}, {"prefix": "137"}, False),
        ({"fact": "n", "in": [1, 2, "3.0"]}, {"n": 3}, True),
        ({"fact": "prefix", "not_in": ["138", "139"]}, {"prefix": "137"}, True),
        ({"fact": "prefix", "not_in": ["138", "139"]}, {"prefix": "138"}, False),
        ({"fact": "income", "present": True}, {"income": 0}, True),
        ({"fact": "flag", "present": True}, {"flag": False}, True),
        ({"fact": "income", "present": True}, {"income": None}, False),
        ({"fact": "income", "present": False}, {}, True),
        ({"fact": "income", "present": False}, {"income": None}, True),
        ({"fact": "income", "present": False}, {"income": D("0")}, False),
    ],
)
def test_each_operator(when, facts, expected):
    assert holds(when, **facts) is expected


@pytest.mark.parametrize(
    "when",
    [
        {"fact": "age", "eq": 30},
        {"fact": "age", "ne": 30},
        {"fact": "age", "lt": 30},
        {"fact": "age", "lte": 30},
        {"fact": "age", "gt": 30},
        {"fact": "age", "gte": 30},
        {"fact": "age", "between": [0, 200]},
        {"fact": "age", "in": [30]},
        {"fact": "age", "not_in": [30]},
        {"fact": "age", "present": True},
    ],
)
def test_a_comparison_on_a_missing_or_null_fact_is_false(when):
    assert holds(when) is False
    assert holds(when, age=None) is False


def test_all_any_and_not_combine_and_nest():
    adult = {"fact": "age", "gte": 18}
    employed = {"fact": "employment", "eq": "employed"}
    student = {"fact": "employment", "eq": "student"}

    assert holds({"all": [adult, employed]}, age=30, employment="employed") is True
    assert holds({"all": [adult, employed]}, age=30, employment="student") is False
    assert holds({"any": [employed, student]}, employment="student") is True
    assert holds({"any": [employed, student]}, employment="retired") is False
    assert holds({"not": student}, employment="employed") is True
    assert holds({"not": student}, employment="student") is False
    assert holds({"not": adult}) is True
    nested = {"all": [adult, {"any": [employed, {"not": {"fact": "employment", "present": True}}]}]}
    assert holds(nested, age=30, employment="employed") is True
    assert holds(nested, age=30) is True
    assert holds(nested, age=30, employment="student") is False
    assert holds(nested, employment="employed") is False


def test_facts_are_str_int_decimal_bool_or_none_never_float():
    rules = ScoringRules.from_document(EXAMPLE_RULES)

    with pytest.raises(TypeError, match="monthly_income"):
        rules.evaluate({"monthly_income": 8000.0})
    with pytest.raises(ValueError, match="age"):
        rules.evaluate({"age": D("NaN")})


def test_the_bureau_source_has_no_rules_to_evaluate():
    rules = ScoringRules.from_document({"source": "bureau", "range": [350, 950]})

    assert (rules.source, rules.range, rules.dimensions) == (ScoreSource.BUREAU, (350, 950), ())
    with pytest.raises(Refused):
        rules.evaluate({})


# Explaining a score.


def test_the_details_are_json_native_and_name_every_fired_rule_with_its_points():
    doc = document(
        (350, 950),
        identity=[rule("adult", {"fact": "age", "between": [22, 55]}, 15, "aged 22 to 55")],
        fulfilment=[rule("earner", {"fact": "income", "gte": "5000.00"}, 20)],
    )
    evaluation = ScoringRules.from_document(doc).evaluate({"age": 30, "income": D("4999.99"), "unused": "x"})
    details = evaluation.to_details()

    # identity 65, the others 50: 0.20 × 265 = 53 → 350 + 600 × 0.53 = 668
    assert details == {
        "source": "rules",
        "score": 668,
        "range": [350, 950],
        "weighted": "53.00",
        "dimensions": [
            {
                "name": "identity",
                "weight": "0.20",
                "base": 50,
                "points": 15,
                "score": 65,
                "fired": [{"id": "adult", "points": 15, "description": "aged 22 to 55"}],
            },
            *(
                {"name": name, "weight": "0.20", "base": 50, "points": 0, "score": 50, "fired": []}
                for name in DIMENSIONS[1:]
            ),
        ],
        "facts": {"age": 30, "income": "4999.99"},
    }
    assert json.loads(json.dumps(details)) == details
    assert evaluation.explain()[:2] == [
        "score 668 in 350–950: 53.00 of 100 weighted over the dimensions",
        "identity 65 × 0.20: base 50, adult +15 (+15)",
    ]
    assert evaluation.explain()[3] == "fulfilment 50 × 0.20: base 50, no rule fired (+0)"


def test_the_facts_the_rules_read_are_listed_for_the_caller_to_collect():
    assert ScoringRules.from_document(EXAMPLE_RULES).fact_names == {
        "identity_verified",
        "age",
        "phone_prefix",
        "account_age_days",
        "orders_with_protection",
        "orders_long_term",
        "orders_bought_out",
        "orders_cancelled",
        "monthly_income",
        "employment",
        "credit_utilisation",
        "contacts_verified",
        "contacts_overdue",
        "orders_settled",
        "max_days_overdue",
        "orders_overdue",
        "late_fees_total",
        "orders_rejected",
        "bureau_blacklisted",
    }


# The document: round trip and validation.


def test_the_example_document_is_already_canonical_and_round_trips():
    rules = ScoringRules.from_document(EXAMPLE_RULES)

    assert rules.source is ScoreSource.RULES and rules.range == (350, 950)
    assert rules.to_document() == EXAMPLE_RULES
    assert ScoringRules.from_document(json.loads(json.dumps(rules.to_document()))) == rules


def test_the_canonical_shape_orders_dimensions_and_keeps_numbers_as_written():
    doc = document(identity=[{"id": "r", "when": {"fact": "n", "between": ["1.50", 2]}, "points": 1}])
    doc["dimensions"].reverse()
    canonical = ScoringRules.from_document(doc).to_document()

    assert [item["name"] for item in canonical["dimensions"]] == list(DIMENSIONS)
    assert canonical["dimensions"][0]["rules"] == [
        {"id": "r", "when": {"fact": "n", "between": ["1.50", 2]}, "points": 1, "description": ""}
    ]


def test_a_bureau_document_round_trips_with_no_dimensions():
    doc = {"source": "bureau", "range": [350, 950], "dimensions": []}
    assert ScoringRules.from_document(doc).to_document() == doc
    assert ScoringRules.from_document({"source": "bureau", "range": [300, 850]}).to_document() == {
        "source": "bureau",
        "range": [300, 850],
        "dimensions": [],
    }


def test_source_and_range_are_checked():
    assert refused({"source": "sesame", "range": [950, 350]}) == ["source", "range"]
    assert refused({"source": "bureau", "range": [350.0, 950]}) == ["range[0]"]
    assert refused({"range": [350], "extra": 1}) == ["extra", "source", "range"]
    assert refused([]) == ["$", "$"]


def test_the_rule_engine_needs_all_five_dimensions_once_each():
    assert refused({"source": "rules", "range": [350, 950]}) == ["dimensions"]

    doc = document()
    doc["dimensions"] = [*doc["dimensions"][:3], dimension("identity", "0.40"), dimension("hobbies", "0")]
    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(doc)
    assert error.value.errors == [
        ("dimensions[4].name", "must be one of identity, behaviour, fulfilment, social, credit_history"),
        ("dimensions[3].name", "dimension 'identity' is given twice"),
    ]

    doc["dimensions"] = [*doc["dimensions"][:3], dimension("social", "0.40")]
    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(doc)
    assert error.value.errors == [("dimensions", "missing credit_history")]


def test_a_bureau_document_with_dimensions_must_give_all_five():
    doc = {"source": "bureau", "range": [350, 950], "dimensions": [dimension("identity", "1")]}
    assert refused(doc) == ["dimensions"]


def test_weights_are_decimal_strings_in_0_to_1_summing_to_exactly_1():
    doc = document()
    doc["dimensions"][0]["weight"] = "0.19"
    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(doc)
    assert error.value.errors == [("dimensions", "weights must sum to 1, not 0.99")]

    doc["dimensions"][0]["weight"] = 0.2
    doc["dimensions"][1]["weight"] = "1.2"
    doc["dimensions"][2]["weight"] = "0.20001"
    doc["dimensions"][3]["weight"] = "-0"
    assert refused(doc) == ["dimensions[0].weight", "dimensions[1].weight", "dimensions[2].weight"]


def test_every_error_in_the_rules_is_reported_at_once_with_its_path():
    doc = document(
        identity=[
            {"id": "a", "when": {"fact": "age", "btw": [1, 2]}, "points": 1.5},
            {"id": "b", "when": {"fact": "age", "between": [55, 22]}, "points": 101},
            {"id": "c", "when": {"fact": "Age", "eq": 1, "ne": 2}, "points": 1},
            {"id": "d", "when": {"fact": "age"}, "pionts": 1},
        ],
        social=[
            {"id": "a", "when": {"all": []}, "points": 1},
            {"id": "e", "when": {"any": [{"fact": "x", "in": []}, "age"]}, "points": 1},
            {"id": "f", "when": {"not": {"fact": "x", "eq": None}, "fact": "y"}, "points": 1},
            {"id": "g", "when": {"not": {"fact": "x", "present": "yes"}, "also": 1}, "points": 1},
            {"id": "", "points": 1, "description": 7},
        ],
    )
    doc["dimensions"][0]["base"] = 101
    assert refused(doc) == [
        "dimensions[0].base",
        "dimensions[0].rules[0].when.btw",
        "dimensions[0].rules[0].points",
        "dimensions[0].rules[1].when.between",
        "dimensions[0].rules[1].points",
        "dimensions[0].rules[2].when.fact",
        "dimensions[0].rules[2].when",
        "dimensions[0].rules[3].pionts",
        "dimensions[0].rules[3].when",
        "dimensions[0].rules[3].points",
        "dimensions[3].rules[0].id",
        "dimensions[3].rules[0].when.all",
        "dimensions[3].rules[1].when.any[0].in",
        "dimensions[3].rules[1].when.any[1]",
        "dimensions[3].rules[2].when",
        "dimensions[3].rules[3].when.also",
        "dimensions[3].rules[3].when.not.present",
        "dimensions[3].rules[4].id",
        "dimensions[3].rules[4].when",
        "dimensions[3].rules[4].description",
    ]


def test_rule_ids_are_unique_across_the_whole_document():
    same = rule("adult", {"fact": "age", "gte": 18})
    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(document(identity=[same], credit_history=[same]))
    assert error.value.errors == [("dimensions[4].rules[0].id", "rule id 'adult' is used twice")]


def test_numbers_in_conditions_are_never_floats():
    assert refused(document(identity=[rule("r", {"fact": "x", "gt": 0.5})])) == ["dimensions[0].rules[0].when.gt"]
    assert refused(document(identity=[rule("r", {"fact": "x", "eq": 0.5})])) == ["dimensions[0].rules[0].when.eq"]
    assert refused(document(identity=[rule("r", {"fact": "x", "lt": "half"})])) == ["dimensions[0].rules[0].when.lt"]
    assert refused(document(identity=[rule("r", {"fact": "x", "in": [1, 2.5]})])) == [
        "dimensions[0].rules[0].when.in[1]"
    ]


def test_conditions_nest_at_most_16_deep():
    deep: dict = {"fact": "x", "present": True}
    for _ in range(15):
        deep = {"not": deep}
    assert holds(deep, x=1) is False
    assert refused(document(identity=[rule("r", {"not": deep})])) == ["dimensions[0].rules[0].when" + ".not" * 16]


def test_the_published_documentation_shows_the_example_and_every_operator():
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("## Example document", 1)[1].split("```json", 1)[1].split("```", 1)[0]

    assert json.loads(example) == EXAMPLE_RULES
    assert {operator.value for operator in Comparator} <= set(re.findall(r'\{"fact": "\w+", "(\w+)"', text))


# Properties.

FACT_NAMES = sorted(ScoringRules.from_document(EXAMPLE_RULES).fact_names)
fact_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 10**6),
    st.decimals(-(10**6), 10**6, places=4),
    st.text(max_size=4),
    st.sampled_from(["employed", "student", "170", "139"]),
)
any_facts = st.dictionaries(st.sampled_from([*FACT_NAMES, "other"]), fact_values)
numbers = st.one_of(st.integers(-100, 10**5), st.decimals(-100, 10**5, places=2).map(str))
literals = st.one_of(numbers, st.booleans(), st.sampled_from(["employed", "student", "170", "139"]))
fact_names = st.sampled_from(FACT_NAMES)


def _comparison(operator: str, operands: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(lambda fact, operand: {"fact": fact, operator: operand}, fact_names, operands)


comparisons = st.one_of(
    _comparison("eq", literals),
    _comparison("ne", literals),
    *(_comparison(operator, numbers) for operator in ("lt", "lte", "gt", "gte")),
    _comparison("between", st.lists(st.integers(-100, 10**5), min_size=2, max_size=2).map(sorted)),
    _comparison("in", st.lists(literals, min_size=1, max_size=3)),
    _comparison("not_in", st.lists(literals, min_size=1, max_size=3)),
    _comparison("present", st.booleans()),
)
conditions = st.recursive(
    comparisons,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda item: {"not": item}),
    ),
    max_leaves=6,
)
ranges = st.tuples(st.integers(-1000, 1000), st.integers(1, 2000)).map(lambda pair: [pair[0], pair[0] + pair[1]])


def with_rule(doc: dict, dimension_index: int, new_rule: dict) -> dict:
    dimensions = [dict(item) for item in doc["dimensions"]]
    dimensions[dimension_index]["rules"] = [*dimensions[dimension_index]["rules"], new_rule]
    return {**doc, "dimensions": dimensions}


@given(facts=any_facts, score_range=ranges)
def test_the_score_always_lies_in_the_range(facts, score_range):
    low, high = score_range
    evaluation = ScoringRules.from_document({**EXAMPLE_RULES, "range": score_range}).evaluate(facts)

    assert low <= evaluation.score <= high
    assert all(0 <= item.score <= 100 for item in evaluation.dimensions)


@given(weights=st.lists(st.decimals(0, 1, places=2), min_size=5, max_size=5))
def test_weights_not_summing_to_1_are_always_refused(weights):
    assume(sum(weights) != 1)
    doc = document()
    for item, weight in zip(doc["dimensions"], weights, strict=True):
        item["weight"] = str(weight)

    with pytest.raises(InvalidDocument) as error:
        ScoringRules.from_document(doc)
    assert error.value.errors == [("dimensions", f"weights must sum to 1, not {sum(weights)}")]


@given(weights=st.lists(st.decimals(0, 1, places=4), min_size=4, max_size=4))
def test_weights_summing_to_1_are_accepted(weights):
    last = 1 - sum(weights)
    assume(0 <= last <= 1)
    doc = document()
    for item, weight in zip(doc["dimensions"], [*weights, last], strict=True):
        item["weight"] = str(weight)

    assert sum(item.weight for item in ScoringRules.from_document(doc).dimensions) == 1


@given(
    facts=any_facts,
    when=conditions,
    points=st.integers(1, 100),
    dimension_index=st.integers(0, 4),
)
def test_a_rule_with_positive_points_never_lowers_the_score(facts, when, points, dimension_index):
    before = ScoringRules.from_document(EXAMPLE_RULES).evaluate(facts)
    extended = ScoringRules.from_document(with_rule(EXAMPLE_RULES, dimension_index, rule("extra", when, points)))
    after = extended.evaluate(facts)

    assert after.score >= before.score
    assert after.dimensions[dimension_index].score >= before.dimensions[dimension_index].score


@given(facts=any_facts, when=conditions)
def test_evaluation_is_deterministic_whatever_the_order_of_the_facts(facts, when):
    rules = ScoringRules.from_document(with_rule(EXAMPLE_RULES, 2, rule("extra", when, 5)))
    reordered = dict(reversed(list(facts.items())))

    first, again, shuffled = rules.evaluate(facts), rules.evaluate(facts), rules.evaluate(reordered)
    assert first == again == shuffled
    assert first.to_details() == shuffled.to_details()


@given(when=conditions, points=st.integers(-100, 100))
def test_any_valid_condition_round_trips_through_the_canonical_document(when, points):
    rules = ScoringRules.from_document(with_rule(EXAMPLE_RULES, 0, rule("extra", when, points)))
    assert ScoringRules.from_document(json.loads(json.dumps(rules.to_document()))) == rules

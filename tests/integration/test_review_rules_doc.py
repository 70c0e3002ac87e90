"""docs/review-rules.md explains every reason the platform gives for sending an order to a reviewer or
waiving less than the deposit: each reason real orders and quotes produce matches a rule of the document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from api.bootstrap import application
from leasecore.clock import SettableClock
from leasecore.credit.policy import Holdback, WaiverLimit
from leasecore.values import DepositMode
from tests.support import START, World, build_world, close

DOC = (Path(__file__).parents[2] / "docs" / "review-rules.md").read_text(encoding="utf-8")


def documented(section: str) -> list[re.Pattern[str]]:
    """The reasons of a section's table (the last column, in backticks), `{name}` standing for any value."""
    templates = [re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])[0] for row in rules_of(section)]
    return [as_pattern(template) for template in templates]


def rules_of(section: str) -> list[str]:
    """The rows of a section's table that give a reason."""
    text = DOC.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in text.splitlines() if line.startswith("| ") and "`" in line.rsplit("|", 2)[-2]]


def as_pattern(template: str) -> re.Pattern[str]:
    """A reason's template as a pattern, `{name}` standing for any value."""
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(template)) + "$")


def explained(reason: str, rules: list[re.Pattern[str]]) -> bool:
    return any(rule.match(reason) for rule in rules)


@pytest.fixture
def world() -> Iterator[World]:
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    try:
        yield build_world(app, clock, units=8)
    finally:
        close(app)


def test_every_review_reason_an_order_gets_is_a_documented_rule(world: World) -> None:
    app, rules = world.app, documented("Automated review")
    assert len(rules) == 4
    reasons: list[str] = []
    for score in (None, 550):
        order = app.place_order(world.customer(score=score), world.request(mode=DepositMode.FULL))
        app.pay_checkout(order, f"chk-{order}", app.lease(order).due_now, world.clock.now())
        reasons.extend(app.lease(order).review_reasons)
    assert reasons == ["no credit score evaluated", "score 550 is under the minimum 600"]
    assert all(explained(reason, rules) for reason in reasons)

    passed = app.place_order(world.customer(score=720), world.request(mode=DepositMode.FULL))
    app.pay_checkout(passed, "chk-passed", app.lease(passed).due_now, world.clock.now())
    assert app.lease(passed).review_reason in DOC


def test_every_waiver_reason_a_quote_gives_is_a_documented_rule(world: World) -> None:
    app, rules = world.app, documented("The credit waiver")
    assert len(rules) == 7
    reasons = [
        app.quote(world.customer(score=score), world.request(mode=DepositMode.WAIVER)).waiver_reason
        for score in (None, 550, 650)
    ]
    assert reasons[0] is not None and reasons[0].startswith("no credit score evaluated")
    assert reasons[1] == "score 550 is under the minimum 600 for a waiver"
    assert reasons[2] == "the band of score 650 waives at most 1000.00"
    assert all(reason is not None and explained(reason, rules) for reason in reasons)
    assert not explained("the moon is in the wrong phase", rules)


def test_each_waiver_limit_code_is_documented_beside_its_sentence() -> None:
    """The table's code column names each code once, on the row of the sentence its `str()` gives."""
    rows = {re.findall(r"`([^`]+)`", row)[-2]: row for row in rules_of("The credit waiver")}
    figures = WaiverLimit(Holdback.NO_SCORE, score=640, minimum=600, amount=D("1000.00"))
    assert sorted(rows) == sorted(rule.value for rule in Holdback)
    for rule in Holdback:
        template = re.findall(r"`([^`]+)`", rows[rule.value])[-1]
        assert as_pattern(template).match(str(replace(figures, rule=rule))), rule

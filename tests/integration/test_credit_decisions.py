"""Credit decisions: the bureau or the rule engine sets the score, the level grants the quota."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from adapters.credit_bureau.sandbox import SandboxBureau
from adapters.sms.sandbox import SandboxSms
from api.bootstrap import application
from leasecore.clock import SettableClock
from leasecore.credit.customer import Customer, IdentityCheck
from leasecore.credit.scoring import EXAMPLE_RULES
from leasecore.errors import InvalidState
from leasecore.ports import Ports
from tests.support import START, World, build_world, close

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def world() -> Iterator[World]:
    clock = SettableClock(START)
    app = application("memory:", clock=clock, ports=Ports(bureau=SandboxBureau(), sms=SandboxSms(clock)))
    try:
        yield build_world(app, clock)
    finally:
        close(app)


def verified(world: World, phone: str = "13912345678") -> Customer:
    customer_id = world.app.register_customer(phone)
    return world.app.record_identity(customer_id, IdentityCheck("Li Lei", ID_NUMBER, True))


def test_the_bureau_score_maps_to_a_level_and_its_quota(world: World) -> None:
    bureau = world.app.bureau
    assert isinstance(bureau, SandboxBureau)
    bureau.set_score(ID_NUMBER, 780)
    customer = verified(world)

    line = world.app.evaluate_credit(customer.id)
    assert (line.level, line.quota, line.available) == ("A", D("10000.00"), D("10000.00"))
    evaluation = world.app.customer(customer.id).evaluation
    assert evaluation is not None and (evaluation.score, evaluation.source) == (780, "bureau")

    bureau.set_score(ID_NUMBER, 660)
    line = world.app.evaluate_credit(customer.id)
    assert (line.level, line.quota) == ("B", D("5000.00"))
    assert [type(e).__name__ for e in world.app.events.get(line.id)] == ["Granted", "QuotaAdjusted"]


def test_the_sandbox_bureau_answers_650_for_anyone_not_set(world: World) -> None:
    line = world.app.evaluate_credit(verified(world).id)
    assert (line.level, world.app.customer(line.customer_id).score) == ("B", 650)


def test_the_rule_engine_scores_from_facts_and_keeps_the_rules_that_fired(world: World) -> None:
    world.app.configure("scoring-rules", EXAMPLE_RULES)
    customer = verified(world)

    line = world.app.evaluate_credit(
        customer.id, {"monthly_income": D("12000.00"), "employment": "employed", "contacts_verified": 3}
    )
    evaluation = world.app.customer(customer.id).evaluation
    assert evaluation is not None and evaluation.source == "rules"
    assert 350 <= evaluation.score <= 950
    fired = {rule["id"] for dimension in evaluation.details["dimensions"] for rule in dimension["fired"]}
    assert {"identity_verified", "stable_income", "high_income", "contacts_verified"} <= fired
    assert line.level == world.app.credit_levels().level_for(evaluation.score).name  # type: ignore[union-attr]


def test_a_score_needs_a_verified_identity(world: World) -> None:
    customer_id = world.app.register_customer("13800000001")
    with pytest.raises(InvalidState, match="unverified"):
        world.app.evaluate_credit(customer_id)

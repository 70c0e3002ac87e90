"""Configuration documents are validated as a whole, every error naming its field."""

from datetime import UTC, date, datetime, time
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.credit.policy import CreditLevels, Holdback, WaiverLimit, WaiverPolicy
from leasecore.errors import InvalidDocument
from leasecore.lease.billing import BillingPolicy, CollectionAction
from tests.support import BILLING, CREDIT_LEVELS, WAIVER_POLICY


def fields(error: InvalidDocument) -> list[str]:
    return [field for field, _ in error.errors]


def test_the_example_documents_round_trip():
    for cls, document in ((BillingPolicy, BILLING), (WaiverPolicy, WAIVER_POLICY), (CreditLevels, CREDIT_LEVELS)):
        policy = cls.from_document(document)
        assert cls.from_document(policy.to_document()) == policy


def test_credit_bands_may_not_overlap_and_must_lie_in_the_score_range():
    document = {
        "levels": [
            {"name": "A", "min_score": 700, "max_score": 960, "quota": "1.00"},
            {"name": "B", "min_score": 600, "max_score": 700, "quota": "1.00"},
            {"name": "C", "min_score": 500, "max_score": 599, "quota": "-1"},
        ]
    }
    with pytest.raises(InvalidDocument) as error:
        CreditLevels.from_document(document)
    assert fields(error.value) == ["levels[0]", "levels[2].quota"]

    with pytest.raises(InvalidDocument) as overlap:
        CreditLevels.from_document(
            {
                "levels": [
                    {"name": "A", "min_score": 700, "max_score": 950, "quota": "1.00"},
                    {"name": "B", "min_score": 600, "max_score": 700, "quota": "1.00"},
                ]
            }
        )
    assert fields(overlap.value) == ["levels[0]"]


def test_billing_errors_name_every_field_at_once():
    document = {
        **BILLING,
        "grace_days": -1,
        "late_fee": {"daily_rate": 0.1, "fixed_per_day": "1.001"},
        "collection_stages": [
            {"after_days": 15, "action": "call"},
            {"after_days": 1, "action": "sms"},
            {"after_days": 20, "action": "fax"},
        ],
        "timezone": "Mars/Olympus",
    }
    with pytest.raises(InvalidDocument) as error:
        BillingPolicy.from_document(document)
    assert fields(error.value) == [
        "timezone",
        "grace_days",
        "late_fee.daily_rate",
        "late_fee.fixed_per_day",
        "late_fee.cap_share",
        "collection_stages[1].after_days",
        "collection_stages[2].action",
    ]


def test_a_waiver_band_gives_an_amount_or_a_share_never_both():
    document = {**WAIVER_POLICY, "bands": [{"min_score": 600, "max_score": 950, "waiver": "1.00", "share": "0.5"}]}
    with pytest.raises(InvalidDocument) as error:
        WaiverPolicy.from_document(document)
    assert fields(error.value) == ["bands[0]"]


def test_the_waiver_is_the_least_of_deposit_band_caps_and_available_quota():
    policy = WaiverPolicy.from_document(WAIVER_POLICY)  # 600–699: 1000.00; 700+: all; caps 8000 / 2500 a unit

    assert policy.waiver_for(599, D("3000.00"), 1, D("10000.00")) == D("0")
    assert policy.waiver_for(650, D("3000.00"), 1, D("10000.00")) == D("1000.00")
    assert policy.waiver_for(720, D("3000.00"), 1, D("10000.00")) == D("2500.00")
    assert policy.waiver_for(720, D("3000.00"), 2, D("10000.00")) == D("3000.00")
    assert policy.waiver_for(720, D("9000.00"), 4, D("10000.00")) == D("8000.00")
    assert policy.waiver_for(720, D("3000.00"), 1, D("1200.00")) == D("1200.00")
    assert policy.waiver_for(None, D("3000.00"), 1, D("10000.00")) == D("0")


def test_a_waiver_short_of_the_deposit_says_which_rule_or_limit_held_it_back():
    policy = WaiverPolicy.from_document(WAIVER_POLICY)  # 600–699: 1000.00; 700+: all; caps 8000 / 2500 a unit
    cases = [
        ((None, "3000.00", 1, "10000.00"), "0", WaiverLimit(Holdback.NO_SCORE)),
        ((599, "3000.00", 1, "10000.00"), "0", WaiverLimit(Holdback.UNDER_MINIMUM, 599, 600)),
        ((650, "3000.00", 1, "10000.00"), "1000.00", WaiverLimit(Holdback.BAND, 650, amount=D("1000.00"))),
        ((720, "3000.00", 1, "10000.00"), "2500.00", WaiverLimit(Holdback.PER_UNIT_CAP, amount=D("2500.00"))),
        ((720, "9000.00", 4, "10000.00"), "8000.00", WaiverLimit(Holdback.PER_ORDER_CAP, amount=D("8000.00"))),
        ((720, "3000.00", 2, "1200.00"), "1200.00", WaiverLimit(Holdback.CREDIT_LINE, amount=D("1200.00"))),
        ((720, "3000.00", 2, "-5.00"), "0.00", WaiverLimit(Holdback.CREDIT_LINE, amount=D("0.00"))),
        ((720, "3000.00", 2, "10000.00"), "3000.00", None),
    ]
    for (score, deposit, quantity, available), waiver, limit in cases:
        assert policy.decide(score, D(deposit), quantity, D(available)) == (D(waiver), limit)


def test_a_waivers_limit_reads_as_the_platforms_sentence():
    assert [
        str(WaiverLimit(Holdback.NO_SCORE)),
        str(WaiverLimit(Holdback.UNDER_MINIMUM, 599, 600)),
        str(WaiverLimit(Holdback.NO_BAND, 980)),
        str(WaiverLimit(Holdback.BAND, 650, amount=D("1000.00"))),
        str(WaiverLimit(Holdback.PER_ORDER_CAP, amount=D("8000.00"))),
        str(WaiverLimit(Holdback.PER_UNIT_CAP, amount=D("2500.00"))),
        str(WaiverLimit(Holdback.CREDIT_LINE, amount=D("0.00"))),
    ] == [
        "no credit score evaluated yet: verify your identity, then evaluate your credit",
        "score 599 is under the minimum 600 for a waiver",
        "no waiver band covers score 980",
        "the band of score 650 waives at most 1000.00",
        "the waiver is capped at 8000.00 an order",
        "the waiver is capped at 2500.00 a unit",
        "the credit line has 0.00 available",
    ]


@given(
    score=st.integers(350, 950),
    deposit=st.decimals(min_value=D("0"), max_value=D("50000"), places=2),
    quantity=st.integers(1, 20),
    available=st.decimals(min_value=D("0"), max_value=D("50000"), places=2),
)
def test_the_waiver_never_exceeds_any_term_of_the_min(score, deposit, quantity, available):
    policy = WaiverPolicy.from_document(WAIVER_POLICY)
    waiver = policy.waiver_for(score, deposit, quantity, available)

    assert D("0") <= waiver <= min(deposit, policy.per_order_cap, policy.per_unit_cap * quantity, available)
    assert deposit - waiver >= 0
    limit = policy.decide(score, deposit, quantity, available)[1]
    assert (limit is None) == (waiver == deposit)
    if limit is not None and limit.amount is not None:  # the figure it names is the one that held the waiver
        assert limit.amount * (quantity if limit.rule is Holdback.PER_UNIT_CAP else 1) == waiver


def test_collection_stages_are_reached_by_days_overdue():
    billing = BillingPolicy.from_document(BILLING)
    assert billing.stage_for(0) is None
    assert billing.stage_for(14).action is CollectionAction.SMS
    assert billing.stage_for(31).action is CollectionAction.AGENCY


def test_the_daily_job_runs_at_two_and_reminds_three_days_ahead_unless_the_document_says_otherwise():
    billing = BillingPolicy.from_document(BILLING)
    assert (billing.daily_job_at, billing.remind_before_days) == (time(2, 0), 3)
    assert billing.to_document()["daily_job_at"] == "02:00"
    other = BillingPolicy.from_document({**BILLING, "daily_job_at": "23:30", "remind_before_days": 0})
    assert (other.daily_job_at, other.remind_before_days) == (time(23, 30), 0)
    assert BillingPolicy.from_document(other.to_document()) == other


@pytest.mark.parametrize("at", ["2:00", "24:00", "02:60", "0200", " 02:00", "+2:00", "", 2, None])
def test_the_daily_job_time_is_hh_mm_on_a_24_hour_clock(at: object) -> None:
    with pytest.raises(InvalidDocument) as error:
        BillingPolicy.from_document({**BILLING, "daily_job_at": at, "remind_before_days": 29})
    assert [field for field, _ in error.value.errors] == ["daily_job_at", "remind_before_days"]


def test_a_days_job_is_due_once_its_local_time_has_passed_in_the_billing_timezone():
    billing = BillingPolicy.from_document({**BILLING, "daily_job_at": "02:00"})  # Asia/Shanghai, UTC+8
    assert billing.last_daily_run(datetime(2026, 3, 9, 17, 59, tzinfo=UTC)) == date(2026, 3, 9)  # 01:59 on the 10th
    assert billing.last_daily_run(datetime(2026, 3, 9, 18, 0, tzinfo=UTC)) == date(2026, 3, 10)  # 02:00 on the 10th
    assert billing.daily_run_at(date(2026, 3, 10)) == datetime(2026, 3, 9, 18, 0, tzinfo=UTC)

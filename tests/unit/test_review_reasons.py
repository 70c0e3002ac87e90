"""Automated review's findings: the rules it applies, and its reasons read back from the sentences events keep."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leasecore.lease.review import PASSED, ReviewReason, ReviewRule, automated_review

reasons = st.one_of(
    st.sampled_from([ReviewReason(rule) for rule in ReviewRule if rule is not ReviewRule.UNDER_MINIMUM]),
    st.builds(ReviewReason, st.just(ReviewRule.UNDER_MINIMUM), st.integers(0, 999), st.integers(0, 999)),
)


@given(reasons)
def test_a_reason_reads_back_from_its_sentence(reason: ReviewReason) -> None:
    assert ReviewReason.parse(str(reason)) == reason


def test_the_sentences_are_those_stored_events_keep() -> None:
    """Events recorded before the rules had codes said these words: they must keep parsing (tests/fixtures)."""
    assert [str(PASSED), str(ReviewReason(ReviewRule.UNDER_MINIMUM, 580, 600))] == [
        "identity verified, score meets the minimum, nothing overdue",
        "score 580 is under the minimum 600",
    ]
    assert ReviewReason.parse("identity is not verified") == ReviewReason(ReviewRule.UNVERIFIED)
    assert ReviewReason.parse("another order is overdue") == ReviewReason(ReviewRule.OVERDUE)


@given(st.text())
def test_words_a_person_wrote_are_not_read_as_a_finding(text: str) -> None:
    found = ReviewReason.parse(text)
    assert found is None or str(found) == text


def test_a_reviewer_s_words_and_near_misses_are_not_findings() -> None:
    for text in ("库存不足，拒绝", "identity is not verified!", "score x is under the minimum 600", ""):
        assert ReviewReason.parse(text) is None


def test_automated_review_gives_every_rule_that_fails_in_order() -> None:
    assert automated_review(True, 720, 600, False) == ()
    assert automated_review(True, 600, 600, False) == ()
    assert automated_review(False, None, 600, True) == (
        ReviewReason(ReviewRule.UNVERIFIED),
        ReviewReason(ReviewRule.UNSCORED),
        ReviewReason(ReviewRule.OVERDUE),
    )
    assert automated_review(True, 599, 600, False) == (ReviewReason(ReviewRule.UNDER_MINIMUM, 599, 600),)

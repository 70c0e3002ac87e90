"""The platform's reasons: automated review's rules, and every reason read back from the sentence events keep."""

from __future__ import annotations

import functools

from hypothesis import given
from hypothesis import strategies as st

from api.web import i18n
from api.web.pages import TEMPLATE_ENV
from leasecore.lease.reasons import BY_CUSTOMER, PASSED, Reason, ReasonCode, automated_review, unpaid

FIGURES = {ReasonCode.UNDER_MINIMUM, ReasonCode.UNPAID}
counts = st.integers(0, 99_999)
reasons = st.one_of(
    st.sampled_from([Reason(code) for code in ReasonCode if code not in FIGURES]),
    st.builds(Reason, st.just(ReasonCode.UNDER_MINIMUM), counts, counts),
    st.builds(unpaid, counts),
)


@given(reasons)
def test_a_reason_reads_back_from_its_sentence(reason: Reason) -> None:
    assert Reason.parse(str(reason)) == reason


def test_the_sentences_are_those_stored_events_keep() -> None:
    """Events recorded before the reasons had codes said these words: they must keep parsing (tests/fixtures)."""
    assert [str(PASSED), str(Reason(ReasonCode.UNDER_MINIMUM, 580, 600)), str(BY_CUSTOMER), str(unpaid(30))] == [
        "identity verified, score meets the minimum, nothing overdue",
        "score 580 is under the minimum 600",
        "cancelled by the customer",
        "unpaid after 30 minutes",
    ]
    assert Reason.parse("identity is not verified") == Reason(ReasonCode.UNVERIFIED)
    assert Reason.parse("another order is overdue") == Reason(ReasonCode.OVERDUE)


@given(st.text())
def test_words_a_person_wrote_are_not_read_as_a_reason(text: str) -> None:
    found = Reason.parse(text)
    assert found is None or str(found) == text


def test_a_reviewer_s_words_and_near_misses_are_not_reasons() -> None:
    near = ("identity is not verified!", "score x is under the minimum 600", "unpaid after  minutes")
    for text in ("库存不足，拒绝", *near):
        assert Reason.parse(text) is None


def test_automated_review_gives_every_rule_that_fails_in_order() -> None:
    assert automated_review(True, 720, 600, False) == ()
    assert automated_review(True, 600, 600, False) == ()
    assert automated_review(False, None, 600, True) == (
        Reason(ReasonCode.UNVERIFIED),
        Reason(ReasonCode.UNSCORED),
        Reason(ReasonCode.OVERDUE),
    )
    assert automated_review(True, 599, 600, False) == (Reason(ReasonCode.UNDER_MINIMUM, 599, 600),)


def test_a_page_says_the_platforms_reasons_in_its_language_and_a_persons_words_as_written() -> None:
    template = TEMPLATE_ENV.from_string("{{ reasons | map('reason') | join(' / ') }}")
    reasons = [str(unpaid(30)), str(Reason(ReasonCode.UNDER_MINIMUM, 580, 600)), "库存不足"]
    shown = {lang: template.render(reasons=reasons, t=functools.partial(i18n.translate, lang)) for lang in ("zh", "en")}
    assert shown == {
        "zh": "30 分钟内未支付，订单自动取消 / 信用分 580 低于最低分 600 / 库存不足",
        "en": "unpaid after 30 minutes / score 580 is under the minimum 600 / 库存不足",
    }


def test_every_reason_has_words_in_every_language() -> None:
    for code in ReasonCode:
        assert f"reason.{code.value}" in i18n.MESSAGES

"""Automated review (自动化审批): the rules an order must meet to be approved without a reviewer, and the reasons it
gives. An order's events keep a reason as the platform's sentence (docs/review-rules.md); `ReviewReason.parse` reads
one back as its rule and figures, so that a screen can say it in its reader's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class ReviewRule(Enum):
    """What automated review found; every rule but `PASSED` sends the order to a reviewer."""

    PASSED = "passed"
    UNVERIFIED = "unverified"
    UNSCORED = "unscored"
    UNDER_MINIMUM = "under_minimum"
    OVERDUE = "overdue"


SENTENCES = {
    ReviewRule.PASSED: "identity verified, score meets the minimum, nothing overdue",
    ReviewRule.UNVERIFIED: "identity is not verified",
    ReviewRule.UNSCORED: "no credit score evaluated",
    ReviewRule.UNDER_MINIMUM: "score {score} is under the minimum {minimum}",
    ReviewRule.OVERDUE: "another order is overdue",
}
"""The platform's words for each rule, `{name}` a figure: these are what stored events say, so they never change."""

_PATTERNS = {
    rule: re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(sentence)) + "$")
    for rule, sentence in SENTENCES.items()
}


@dataclass(frozen=True)
class ReviewReason:
    """One finding of automated review, with its figures; `str()` is the platform's sentence."""

    rule: ReviewRule
    score: int | None = None
    minimum: int | None = None

    def __str__(self) -> str:
        return SENTENCES[self.rule].format(score=self.score, minimum=self.minimum)

    @classmethod
    def parse(cls, text: str) -> ReviewReason | None:
        """The finding a stored sentence says, or None for words a person wrote (a reviewer's, a cancellation's)."""
        for rule, pattern in _PATTERNS.items():
            if found := pattern.match(text):
                return cls(rule, **{name: int(value) for name, value in found.groupdict().items()})
        return None


def automated_review(verified: bool, score: int | None, minimum: int, blocked: bool) -> tuple[ReviewReason, ...]:
    """What keeps an order from approval without a reviewer: identity verified, a score at the policy's minimum,
    no other order overdue (the credit line not blocked). Nothing means it passes."""
    reasons = []
    if not verified:
        reasons.append(ReviewReason(ReviewRule.UNVERIFIED))
    if score is None:
        reasons.append(ReviewReason(ReviewRule.UNSCORED))
    elif score < minimum:
        reasons.append(ReviewReason(ReviewRule.UNDER_MINIMUM, score, minimum))
    if blocked:
        reasons.append(ReviewReason(ReviewRule.OVERDUE))
    return tuple(reasons)


PASSED = ReviewReason(ReviewRule.PASSED)

"""The reasons the platform gives an order in its own words: automated review's (自动化审批) findings, and why it
cancelled an order itself. An order's events keep a reason as the platform's sentence (docs/review-rules.md), and
staff and customers may write their own; `Reason.parse` reads one of the platform's back as its code and figures,
so that a screen can say it in its reader's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class ReasonCode(Enum):
    PASSED = "passed"
    """Automated review approved the order."""
    UNVERIFIED = "unverified"
    UNSCORED = "unscored"
    UNDER_MINIMUM = "under_minimum"
    OVERDUE = "overdue"
    """Another order is overdue: like the three above, it sends the order to a reviewer."""
    BY_CUSTOMER = "by_customer"
    """The customer cancelled and gave no reason of their own."""
    UNPAID = "unpaid"
    """The checkout was not paid in time (`billing.unpaid_timeout_minutes`)."""


SENTENCES = {
    ReasonCode.PASSED: "identity verified, score meets the minimum, nothing overdue",
    ReasonCode.UNVERIFIED: "identity is not verified",
    ReasonCode.UNSCORED: "no credit score evaluated",
    ReasonCode.UNDER_MINIMUM: "score {score} is under the minimum {minimum}",
    ReasonCode.OVERDUE: "another order is overdue",
    ReasonCode.BY_CUSTOMER: "cancelled by the customer",
    ReasonCode.UNPAID: "unpaid after {minutes} minutes",
}
"""The platform's words for each reason, `{name}` a figure: these are what stored events say, so they never change."""

_PATTERNS = {
    code: re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(sentence)) + "$")
    for code, sentence in SENTENCES.items()
}


@dataclass(frozen=True)
class Reason:
    """One of the platform's reasons, with its figures; `str()` is the platform's sentence."""

    code: ReasonCode
    score: int | None = None
    minimum: int | None = None
    minutes: int | None = None

    def __str__(self) -> str:
        return SENTENCES[self.code].format(score=self.score, minimum=self.minimum, minutes=self.minutes)

    @classmethod
    def parse(cls, text: str) -> Reason | None:
        """The reason a stored sentence says, or None for words a person wrote (a reviewer's, a customer's)."""
        for code, pattern in _PATTERNS.items():
            if found := pattern.match(text):
                return cls(code, **{name: int(value) for name, value in found.groupdict().items()})
        return None


PASSED = Reason(ReasonCode.PASSED)
BY_CUSTOMER = Reason(ReasonCode.BY_CUSTOMER)


def automated_review(verified: bool, score: int | None, minimum: int, blocked: bool) -> tuple[Reason, ...]:
    """What keeps an order from approval without a reviewer: identity verified, a score at the policy's minimum,
    no other order overdue (the credit line not blocked). Nothing means it passes."""
    reasons = []
    if not verified:
        reasons.append(Reason(ReasonCode.UNVERIFIED))
    if score is None:
        reasons.append(Reason(ReasonCode.UNSCORED))
    elif score < minimum:
        reasons.append(Reason(ReasonCode.UNDER_MINIMUM, score, minimum))
    if blocked:
        reasons.append(Reason(ReasonCode.OVERDUE))
    return tuple(reasons)


def unpaid(minutes: int) -> Reason:
    """Why the daily job cancelled an order whose checkout was not paid within `minutes`."""
    return Reason(ReasonCode.UNPAID, minutes=minutes)

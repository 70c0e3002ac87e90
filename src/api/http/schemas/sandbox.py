"""Sandbox mode: the messages sent, payments settled, the test clock, bureau scores and parcels."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from api.http.schemas.common import (
    ID_NUMBER_PATTERN,
    LINE_PATTERN,
    NOTES_PATTERN,
    Answer,
    Body,
    Money,
    Phone,
    Query,
    rules,
)


class SmsQuery(Query):
    phone: Phone


class SmsOut(Answer):
    message_id: str
    phone: str
    text: str
    sent_at: AwareDatetime


class Completion(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"outcome": "success", "paid_at": "2026-01-31T10:00:00+08:00"}, {"outcome": "fail"}]
        },
    )

    outcome: Literal["success", "fail"]
    paid_at: AwareDatetime | None = None


class CompletionOut(Answer):
    payment_id: UUID
    outcome: Literal["success", "fail"]
    status: Literal["pending", "succeeded", "failed"]
    acknowledgement: str


class ClockSet(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"now": "2026-03-01T09:00:00+08:00"}]})

    now: AwareDatetime


class ClockOut(Answer):
    now: AwareDatetime


class BureauScoreIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id_number": "110105199003070025", "score": 720}]})
    RULES = rules({"id_number": "an ID number whose check digit is right (GB 11643)"})

    id_number: Annotated[str, StringConstraints(pattern=ID_NUMBER_PATTERN)]
    score: Annotated[int, Field(ge=350, le=950)]


class BureauScoreOut(Answer):
    id_number: str
    score: int


class ParcelMove(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"carrier": "SF Express", "tracking_no": "SF1234567890", "stage": "delivered", "location": "Shanghai"}
            ]
        }
    )

    carrier: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    stage: Literal["picked_up", "in_transit", "delivered"]
    location: Annotated[str, StringConstraints(max_length=64, pattern=NOTES_PATTERN)] = ""


FreezeRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
"""A freeze's out_request_no, as the platform makes them."""


class FreezeCompletion(Body):
    """The customer confirms a freeze at the sandbox provider, which waives `credit_amount` of it on its own credit."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"credit_amount": "500.00"}, {}]})

    credit_amount: Money = Field(default=Decimal("0.00"))


class FreezeCompletionOut(Answer):
    out_request_no: str
    amount: Money
    fund_amount: Money
    credit_amount: Money
    secured: bool
    """Whether the order's deposit is now frozen, so its checkout may be paid."""

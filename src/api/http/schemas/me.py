"""The customer: the identity submitted, the credit evaluation and the credit line."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from api.http.schemas.common import ID_NUMBER_PATTERN, Answer, Body, Image, Money, Name, rules


class IdentitySubmission(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Han Meimei",
                    "id_number": "110105199003070025",
                    "id_card_image": "/9j/4AAQSkZJRgABAQ==",
                    "selfie_image": "/9j/4AAQSkZJRgABAg==",
                }
            ]
        }
    )
    RULES = rules({"id_number": "an ID number whose check digit is right (GB 11643)"})

    name: Name
    id_number: Annotated[str, StringConstraints(pattern=ID_NUMBER_PATTERN)]
    id_card_image: Image
    selfie_image: Image


class IdentityResult(Answer):
    status: Literal["verified", "rejected"]
    reason: str | None = None


class CreditEvaluationOut(Answer):
    score: int
    level: str | None
    source: str
    quota: Money
    reserved: Money
    available: Money


class CreditLineOut(Answer):
    quota: Money
    reserved: Money
    available: Money
    level: str | None = None
    blocked: bool = False

"""Reconciliation: what a day's provider bills and the platform's records disagree on."""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

from pydantic import AwareDatetime, Field

from api.http.schemas.common import Answer, Money, Query, QueryDate, rules

EARLIEST = Date(2000, 1, 1)
"""No provider keeps a bill older than this; an earlier day is refused, not looked for."""


class ReconciliationQuery(Query):
    RULES = rules({"date": "before today (Beijing time)"})

    day: QueryDate = Field(
        alias="date",
        ge=EARLIEST,
        description="The providers' day (Beijing time), YYYY-MM-DD, from 2000 on and before today.",
    )
    provider: str | None = Field(default=None, max_length=64, description="One configured payment provider.")


class DifferenceOut(Answer):
    """`missing_on_platform`: the provider moved money the platform has no record of (the most serious);
    `status_differs`: the platform records it pending or not moved; `amount_differs`; `missing_at_provider`: the
    platform records money moved that the bill does not show."""

    provider: str
    kind: Literal["missing_on_platform", "status_differs", "amount_differs", "missing_at_provider"]
    record_kind: Literal["payment", "refund", "freeze", "capture", "unfreeze"]
    reference: str = Field(description="The platform's id: a payment id or a refund id.")
    provider_reference: str = Field(description="The provider's trade or refund number, when known.")
    platform_amount: Money | None
    provider_amount: Money | None
    platform_status: Literal["moved", "pending", "failed"] | None


class RunOut(Answer):
    """One provider's bill of the day set against the records: `done`, or `failed` saying why (no bill yet)."""

    provider: str
    state: Literal["done", "failed"]
    compared: int = Field(description="Movements compared, on either side.")
    differences: int
    ran_at: AwareDatetime
    detail: str | None


class ReconciliationOut(Answer):
    date: Date
    runs: list[RunOut]
    differences: list[DifferenceOut]

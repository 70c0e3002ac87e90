"""Rent by auto-debit: the agreement, asked and ended, and every charge made under it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, StringConstraints

from api.http.schemas.common import NOTES_PATTERN, SLUG_PATTERN, Answer, Body, Money


class AutoDebitIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"provider": "sandbox"}]})

    provider: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None


class AutoDebitCancelIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"reason": "I pay by hand"}]})

    reason: Annotated[str, StringConstraints(pattern=NOTES_PATTERN, max_length=200)] | None = None


class AttemptOut(Answer):
    """One charge: the `number`-th of installment `seq`, on `day`; `payment_id` is the provider's out_trade_no."""

    seq: int
    number: int
    payment_id: UUID
    amount: Money
    day: date
    at: AwareDatetime
    state: Literal["charging", "succeeded", "failed"]
    transaction_id: str
    reason: str


class AutoDebitOut(Answer):
    """The order's agreement: `signing` until the customer signs at the provider, `active` while charged,
    `cancelled` by the customer or at the provider; and every attempt, oldest first. `pay_params` (after a POST
    only) is what the app hands the provider to sign."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "5b0c2a8e-3f5d-4b7e-9c1a-2d3e4f5a6b7c",
                    "state": "active",
                    "provider": "alipay",
                    "external_agreement_no": "ADLMGCVDR7LVFXXHA2FVHU7F22NPHQ01",
                    "agreement_no": "20265228000000001234",
                    "signed_at": "2026-02-01T10:00:00+08:00",
                    "cancelled_reason": "",
                    "retry_days": [1, 3, 7],
                    "attempts": [],
                    "pay_params": None,
                }
            ]
        }
    )

    order_id: UUID
    state: Literal["none", "signing", "active", "cancelled"]
    provider: str
    external_agreement_no: str
    agreement_no: str
    signed_at: AwareDatetime | None
    cancelled_reason: str
    retry_days: list[int]
    attempts: list[AttemptOut]
    pay_params: dict[str, str] | None = None


class SandboxAgreementIn(Body):
    """What the sandbox's customer does: sign the agreement, end it in the app, or set the balance charges may take
    (`null`: any amount)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"action": "sign"}, {"action": "balance", "balance": "0.00"}]}
    )

    action: Literal["sign", "unsign", "balance"]
    balance: Money | None = None


class SandboxAgreementOut(Answer):
    external_agreement_no: str
    agreement_no: str
    status: str
    balance: Money | None


ExternalAgreementNo = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,32}$")]

"""Asking a customer for a payment through a provider."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, StringConstraints

from api.http.schemas.common import SLUG_PATTERN, Answer, Body, Money

ProviderName = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]


class PaymentIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"purpose": "checkout"},
                {"purpose": "installments", "amount": "329.00"},
                {"purpose": "checkout", "provider": "sandbox"},
                {"purpose": "preauth"},
            ]
        }
    )

    purpose: Literal["checkout", "installments", "buyout", "damage", "preauth"]
    amount: Money | None = None
    provider: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None


class PaymentOut(Answer):
    """For `preauth`, `payment_id` names the order's deposit and `out_request_no` the freeze asked of the
    provider (its notification comes to the same notify route); `amount` is what is to be frozen."""

    payment_id: UUID
    provider: str
    amount: Money
    pay_params: dict[str, str]
    out_request_no: str | None = None


class PaymentMethodOut(Answer):
    """A way to pay: the `provider` to name in a payment, and the name a customer knows it by."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"provider": "alipay", "name": "支付宝"}]})

    provider: str
    name: str

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
            ]
        }
    )

    purpose: Literal["checkout", "installments", "buyout", "damage"]
    amount: Money | None = None
    provider: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None


class PaymentOut(Answer):
    payment_id: UUID
    provider: str
    amount: Money
    pay_params: dict[str, str]


class PaymentMethodOut(Answer):
    """A way to pay: the `provider` to name in a payment, and the name a customer knows it by."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"provider": "alipay", "name": "支付宝"}]})

    provider: str
    name: str

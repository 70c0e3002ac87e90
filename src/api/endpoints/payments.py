"""Payments: asked of the customer through a provider, and the provider's signed notifications."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints
from starlette.responses import Response

from api import answers, schemas
from api.endpoint import CUSTOMER, PUBLIC, Call, Endpoints, Raw
from leasecore.money.payments import PaymentPurpose

endpoints = Endpoints("payments")

ProviderName = Annotated[str, StringConstraints(pattern=schemas.SLUG_PATTERN)]


@endpoints.post(
    "/v1/orders/{id}/payments",
    access=CUSTOMER,
    body=schemas.PaymentIn,
    answer=schemas.PaymentOut,
    status=201,
    idempotent=True,
    summary="Pay for an order",
)
def request_payment(call: Call[schemas.PaymentIn, None]) -> schemas.PaymentOut:
    """The platform prices `checkout`, `buyout` and `damage` itself; `installments` may give an `amount`
    (a partial payment), by default everything due now. The answer carries what the app hands the provider."""
    answers.owned(call.views, call.id, call.customer_id)
    body = call.body
    asked = call.app.collect(call.id, PaymentPurpose(body.purpose), provider=body.provider, amount=body.amount)
    call.written()
    return schemas.PaymentOut(
        payment_id=UUID(asked.payment_id),
        provider=asked.provider,
        amount=asked.amount,
        pay_params=dict(asked.pay_params),
    )


@endpoints.post(
    "/v1/payments/notify/{provider}",
    access=PUBLIC,
    body=Raw,
    answer=str,
    path_types={"provider": ProviderName},
    media_type="text/plain",
    summary="A provider's payment notification",
)
def notify(call: Call[bytes, None]) -> Response:
    """The provider's signed callback: verified (tampered or unsigned: 400, nothing recorded), then recorded
    once per provider transaction; answered as the provider expects (`success`)."""
    acknowledgement = call.service.receive_notification(call.path["provider"], call.body, call.headers)
    return Response(acknowledgement.body, acknowledgement.status, media_type=acknowledgement.media_type)

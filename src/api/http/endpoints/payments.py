"""Payments: asked of the customer through a provider, and the provider's signed notifications."""

from __future__ import annotations

from starlette.responses import Response

from api.http import answers
from api.http.endpoint import CUSTOMER, PUBLIC, Call, Endpoints, Raw
from api.http.schemas import payments as schemas
from leasecore.money.deposit import Deposit
from leasecore.money.payments import PaymentPurpose

endpoints = Endpoints("payments")


@endpoints.get(
    "/v1/payment-methods",
    access=PUBLIC,
    answer=list[schemas.PaymentMethodOut],
    summary="Ways to pay",
)
def payment_methods(call: Call[None, None]) -> list[schemas.PaymentMethodOut]:
    """The configured payment providers, the default first: a checkout page offers them before anyone pays, so no
    token is needed. In sandbox mode the sandbox provider alone."""
    return [
        schemas.PaymentMethodOut.model_validate(method, from_attributes=True) for method in call.service.payment_methods
    ]


@endpoints.post(
    "/v1/orders/{id}/payments",
    access=CUSTOMER,
    body=schemas.PaymentIn,
    answer=schemas.PaymentOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Pay for an order",
)
def request_payment(call: Call[schemas.PaymentIn, None]) -> schemas.PaymentOut:
    """The platform prices `checkout`, `buyout` and `damage` itself; `installments` may give an `amount`
    (a partial payment), by default everything due now. `preauth` asks the provider to freeze the deposit of a
    `deposit_mode: preauth` order (its `checkout` is refused until the freeze is notified). `provider` chooses one
    of `GET /v1/payment-methods` (the first by default; another is 422). The answer carries what the app hands
    the provider, without waiting for the read models (a read that must see the payment passes `X-Read-After`)."""
    answers.own(call.app, call.id, call.customer_id)
    body = call.body
    if body.purpose == "preauth":
        return _freeze(call)
    asked = call.app.collect(
        call.id,
        PaymentPurpose(body.purpose),
        provider=body.provider,
        amount=body.amount,
        payment_id=call.derived_id("payment"),
    )
    return schemas.PaymentOut.model_validate(asked, from_attributes=True)


def _freeze(call: Call[schemas.PaymentIn, None]) -> schemas.PaymentOut:
    """The freeze of a pre-authorized deposit, as a payment answer: the deposit names it, the app confirms it."""
    asked = call.app.collect_preauth(call.id, provider=call.body.provider)
    return schemas.PaymentOut(
        payment_id=Deposit.create_id(call.id),
        provider=asked.provider,
        amount=asked.amount,
        pay_params=asked.pay_params,
        out_request_no=asked.out_request_no,
    )


@endpoints.post(
    "/v1/payments/notify/{provider}",
    access=PUBLIC,
    body=Raw,
    answer=str,
    path_types={"provider": schemas.ProviderName},
    media_type="text/plain",
    summary="A provider's payment notification",
)
def notify(call: Call[bytes, None]) -> Response:
    """The provider's signed callback: verified (tampered or unsigned: 400, nothing recorded), then recorded
    once per provider transaction (a freeze's once per auth_no); answered as the provider expects (`success`)."""
    acknowledgement = call.service.receive_notification(call.path["provider"], call.body, call.headers)
    return Response(acknowledgement.body, acknowledgement.status, media_type=acknowledgement.media_type)

"""Rent by auto-debit: the customer asks for the agreement (and signs it at the provider), sees it and every
charge, and cancels it; staff see the same; sandbox mode plays the customer at the provider."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import projections.auto_debits
import projections.orders
from api.http import answers
from api.http.endpoint import CUSTOMER, Call, Endpoints, staff
from api.http.schemas import auto_debit as schemas
from api.processes import auto_debit as charging
from leasecore.errors import NotFound
from leasecore.money.auto_debit import RETRY_DAYS
from leasecore.staff import Role
from projections.auto_debits import AgreementView

endpoints = Endpoints("auto-debit")
STAFF = staff(Role.OPERATOR, Role.RISK, Role.FINANCE, Role.ADMIN)


def agreement_out(
    order_id: UUID, view: AgreementView | None, pay_params: dict[str, Any] | None = None
) -> schemas.AutoDebitOut:
    """The agreement as customer and staff see it; an order that never asked for one is `none`."""
    if view is None:
        return schemas.AutoDebitOut(
            order_id=order_id,
            state="none",
            provider="",
            external_agreement_no="",
            agreement_no="",
            signed_at=None,
            cancelled_reason="",
            retry_days=list(RETRY_DAYS),
            attempts=[],
        )
    return schemas.AutoDebitOut.model_validate(
        {
            **{name: getattr(view, name) for name in ("order_id", "state", "provider", "external_agreement_no")},
            **{name: getattr(view, name) for name in ("agreement_no", "signed_at", "cancelled_reason")},
            "retry_days": list(RETRY_DAYS),
            "attempts": [schemas.AttemptOut.model_validate(a, from_attributes=True) for a in view.attempts],
            "pay_params": {str(k): str(v) for k, v in pay_params.items()} if pay_params is not None else None,
        }
    )


@endpoints.post(
    "/v1/orders/{id}/auto-debit",
    access=CUSTOMER,
    body=schemas.AutoDebitIn,
    answer=schemas.AutoDebitOut,
    idempotent=True,
    summary="Pay rent by auto-debit",
)
def request_auto_debit(call: Call[schemas.AutoDebitIn, None]) -> schemas.AutoDebitOut:
    """Asks the provider (`provider`, default the first offering it) for an agreement: the answer's `pay_params`
    are what the app hands the provider for the customer to sign (Alipay `alipay.user.agreement.page.sign`); the
    provider's notification then makes it `active`. From then each installment is charged on its due date and, after
    a failure, on days 1, 3 and 7. Asked again while `signing`, the same agreement; 409 while `active`."""
    answers.own(call.app, call.id, call.customer_id)
    _, request = call.app.request_auto_debit(call.id, call.body.provider)
    call.written()
    return agreement_out(call.id, projections.auto_debits.agreement(call.views, call.id), request.pay_params)


@endpoints.get(
    "/v1/orders/{id}/auto-debit", access=CUSTOMER, answer=schemas.AutoDebitOut, summary="The auto-debit agreement"
)
def get_auto_debit(call: Call[None, None]) -> schemas.AutoDebitOut:
    """The order's agreement and every charge made under it, with the provider's reason for each failure."""
    answers.owned(call.views, call.id, call.customer_id)
    return agreement_out(call.id, projections.auto_debits.agreement(call.views, call.id))


@endpoints.post(
    "/v1/orders/{id}/auto-debit/cancel",
    access=CUSTOMER,
    body=schemas.AutoDebitCancelIn,
    answer=schemas.AutoDebitOut,
    idempotent=True,
    summary="Stop auto-debit",
)
def cancel_auto_debit(call: Call[schemas.AutoDebitCancelIn, None]) -> schemas.AutoDebitOut:
    """Nothing is charged from now on; the agreement is ended at the provider too. Cancelling twice is harmless."""
    answers.own(call.app, call.id, call.customer_id)
    charging.cancel(call.app, call.id, call.body.reason or "turned off by the customer")
    call.written()
    return agreement_out(call.id, projections.auto_debits.agreement(call.views, call.id))


@endpoints.get(
    "/v1/admin/orders/{id}/auto-debit", access=STAFF, answer=schemas.AutoDebitOut, summary="An order's auto-debit"
)
def admin_auto_debit(call: Call[None, None]) -> schemas.AutoDebitOut:
    """Any order's agreement and every charge made under it."""
    if projections.orders.order(call.views, call.id) is None:
        raise NotFound("order", call.id)
    return agreement_out(call.id, projections.auto_debits.agreement(call.views, call.id))

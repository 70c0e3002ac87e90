"""Sandbox mode only: the customer at the sandbox provider signs, ends or funds an auto-debit agreement."""

from __future__ import annotations

from typing import Any

from adapters.payments.sandbox_agreements import SandboxAgreement, SandboxAgreements
from api.http.endpoint import PUBLIC, Call, Endpoints
from api.http.schemas import auto_debit as schemas
from leasecore.errors import NotFound

endpoints = Endpoints("sandbox", sandbox=True)


def sandbox_agreements(call: Call[Any, Any]) -> SandboxAgreements:
    gateway = call.app.ports.agreements.get("sandbox")
    if not isinstance(gateway, SandboxAgreements):
        raise NotFound("sandbox agreements", "sandbox")
    return gateway


@endpoints.post(
    "/v1/sandbox/agreements/{external_agreement_no}",
    access=PUBLIC,
    body=schemas.SandboxAgreementIn,
    answer=schemas.SandboxAgreementOut,
    path_types={"external_agreement_no": schemas.ExternalAgreementNo},
    summary="Play the customer at the sandbox provider's agreement",
)
def sandbox_agreement(call: Call[schemas.SandboxAgreementIn, None]) -> schemas.SandboxAgreementOut:
    """`sign`: the customer signs, and the signed `dut_user_sign` notification goes to the notify route; `unsign`:
    the customer ends it in the provider's app (`dut_user_unsign`); `balance`: what later charges may take (a charge
    beyond it fails with ACQ.BUYER_BALANCE_NOT_ENOUGH; `null`, any amount)."""
    agreements, number = sandbox_agreements(call), call.path["external_agreement_no"]
    if agreements.agreement(number) is None:
        raise NotFound("sandbox agreement", number)
    agreement: SandboxAgreement
    if call.body.action == "sign":
        agreement = agreements.complete_signing(number)
    elif call.body.action == "unsign":
        agreement = agreements.unsign_by_customer(number)
    else:
        agreement = agreements.set_balance(number, call.body.balance)
    call.written()
    return schemas.SandboxAgreementOut.model_validate(agreement, from_attributes=True)

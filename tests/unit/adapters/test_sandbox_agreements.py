"""The sandbox's auto-debit agreements: signed and ended by notifications Alipay's code reads and verifies, charged
against a balance a test may set, each charge once per out_trade_no, and its charges trades like any other."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from adapters.errors import PaymentStateConflict
from adapters.payments.sandbox import SandboxPayments
from adapters.payments.sandbox_agreements import BALANCE_NOT_ENOUGH, SandboxAgreements
from leasecore.ports import AgreementTerms, InvalidSignature, PaymentState

NOTIFY_URL = "http://leasecore.test/v1/payments/notify/sandbox"
TERMS = AgreementTerms("ADLMGCVDR7LVFXXHA2FVHU7F22NPHQ01", D("200.00"), date(2026, 2, 28), 11, "rent")


@pytest.fixture
def delivered() -> list[bytes]:
    return []


@pytest.fixture
def agreements(clock, provider_key, delivered) -> SandboxAgreements:
    payments = SandboxPayments(clock, private_key=provider_key, deliver=lambda body, headers: delivered.append(body))
    return SandboxAgreements(payments)


def signed(agreements: SandboxAgreements, delivered: list[bytes]) -> str:
    agreements.sign_agreement(TERMS, NOTIFY_URL)
    agreement = agreements.complete_signing(TERMS.external_agreement_no)
    notice = agreements.agreement_notification(delivered[-1], {})
    assert notice is not None and (notice.signed, notice.agreement_no) == (True, agreement.agreement_no)
    return agreement.agreement_no


def test_signing_delivers_a_signed_notification_and_asking_again_is_the_same_agreement(agreements, delivered):
    first = agreements.sign_agreement(TERMS, NOTIFY_URL)
    again = agreements.sign_agreement(TERMS, NOTIFY_URL)
    assert first.pay_params["sign_url"].endswith(TERMS.external_agreement_no)
    assert "alipay.user.agreement.page.sign" in first.pay_params["sign_string"]
    assert signed(agreements, delivered) == agreements.agreement(again.external_agreement_no).agreement_no


def test_a_tampered_notification_does_not_verify(agreements, delivered):
    signed(agreements, delivered)
    with pytest.raises(InvalidSignature):
        agreements.agreement_notification(delivered[-1].replace(b"NORMAL", b"UNSIGN"), {})


def test_a_charge_is_paid_once_per_out_trade_no_and_is_a_trade_of_the_sandbox(agreements, delivered):
    agreement_no = signed(agreements, delivered)
    first = agreements.charge_agreement(agreement_no, "pay-2-1", D("200.00"), "rent 2")
    again = agreements.charge_agreement(agreement_no, "pay-2-1", D("200.00"), "rent 2")

    assert first.paid and first == again
    asked = agreements.payments.query_payment("pay-2-1")
    assert (asked.state, asked.transaction_id) == (PaymentState.PAID, first.transaction_id)


def test_a_charge_beyond_the_balance_fails_and_the_balance_pays_what_it_covers(agreements, delivered):
    agreement_no = signed(agreements, delivered)
    agreements.set_balance(TERMS.external_agreement_no, D("250.00"))

    assert agreements.charge_agreement(agreement_no, "pay-2-1", D("200.00"), "rent 2").paid
    refused = agreements.charge_agreement(agreement_no, "pay-3-1", D("200.00"), "rent 3")
    assert (refused.paid, refused.reason) == (False, BALANCE_NOT_ENOUGH)
    assert agreements.agreement(TERMS.external_agreement_no).balance == D("50.00")
    assert agreements.payments.query_payment("pay-3-1").state is PaymentState.CLOSED


def test_an_ended_agreement_charges_nothing_and_cannot_be_signed_again(agreements, delivered):
    agreement_no = signed(agreements, delivered)
    agreements.unsign_by_customer(TERMS.external_agreement_no)
    notice = agreements.agreement_notification(delivered[-1], {})

    assert notice is not None and not notice.signed
    assert not agreements.charge_agreement(agreement_no, "pay-2-1", D("200.00"), "rent 2").paid
    with pytest.raises(PaymentStateConflict):
        agreements.complete_signing(TERMS.external_agreement_no)

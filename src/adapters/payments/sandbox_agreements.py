"""The sandbox's auto-debit agreements: signed on the sandbox's page (or by a test), charged at once against a
balance a test may set (none set: any charge is paid), ended by the platform or by the customer "in the app".

Its notifications are Alipay's (`dut_user_sign`, `dut_user_unsign`), signed with the sandbox payment provider's
key and read by the same code as Alipay's; its charges are trades of the sandbox payment provider, so asking about
one (`query_payment`) or refunding it works as for any payment.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import quote

from adapters import alipay_openapi
from adapters.amounts import require_positive, yuan_string
from adapters.errors import PaymentStateConflict
from adapters.payments import alipay_agreements
from adapters.payments.sandbox import SandboxPayments, SandboxPaymentStatus
from adapters.sandbox_store import SandboxDocuments, SandboxStore, from_document, to_document
from leasecore.ports import AgreementNotification, AgreementRequest, AgreementTerms, ChargeResult, PaymentState

SIGN_URL = "https://sandbox.leasecore.invalid/agreements"
BALANCE_NOT_ENOUGH = "ACQ.BUYER_BALANCE_NOT_ENOUGH: 买家余额不足"
AGREEMENT_ENDED = "ACQ.AGREEMENT_STATUS_NOT_NORMAL: 协议状态非正常"
AGREEMENT, AGREEMENT_NO = "agreement", "agreement-no"
"""The kinds of document kept in the payment provider's store: each agreement, and its external number by its
agreement_no."""


@dataclass(frozen=True)
class SandboxAgreement:
    """What the sandbox knows of one agreement: asked, signed (`agreement_no`), ended; the customer's balance."""

    external_agreement_no: str
    terms: AgreementTerms
    notify_url: str
    agreement_no: str
    status: str = "TEMP"
    """TEMP until signed, then NORMAL, then UNSIGN, as Alipay names them."""
    balance: Decimal | None = None
    """What charges may still take; None: whatever they ask."""


class SandboxAgreements:
    """An `AgreementGateway` with no network, over the sandbox payment provider's trades and key."""

    def __init__(self, payments: SandboxPayments, *, sign_url: str = SIGN_URL) -> None:
        self.payments, self.sign_url = payments, sign_url
        self.provider = payments.provider
        self._store = payments.store

    def sign_agreement(self, terms: AgreementTerms, notify_url: str) -> AgreementRequest:
        """An agreement waiting for the customer; asked again, the same one."""
        external_no = terms.external_agreement_no
        with self._store.transaction() as documents:
            if self._get(documents, external_no) is None:
                self._keep(documents, SandboxAgreement(external_no, terms, notify_url, self._agreement_no(external_no)))
        biz_content = alipay_agreements.sign_biz_content(terms, alipay_agreements.DEFAULT_SIGN_SCENE)
        params = alipay_openapi.request_params(
            self.payments.app_id, alipay_agreements.SIGN_METHOD, biz_content, self.payments.clock_now(), notify_url
        )
        signed = alipay_openapi.sign_request(params, self.payments.private_key)
        pay_params = {
            "sign_url": f"{self.sign_url}/{quote(external_no, safe='')}",
            "sign_string": alipay_openapi.encode_form(signed),
        }
        return AgreementRequest(external_no, self.provider, pay_params)

    def agreement(self, external_no: str) -> SandboxAgreement | None:
        return self._get(self._store, external_no)

    def complete_signing(self, external_no: str) -> SandboxAgreement:
        """The customer signs on the sandbox's page: the signed `dut_user_sign` notification goes out."""
        agreement = self._move(external_no, "NORMAL")
        body = self.notification(agreement, alipay_agreements.SIGN_NOTIFY_TYPE)
        self.payments.deliver(agreement.notify_url, body, {"Content-Type": alipay_openapi.FORM_CONTENT_TYPE})
        return agreement

    def unsign_by_customer(self, external_no: str) -> SandboxAgreement:
        """The customer ends the agreement in the provider's app: the signed `dut_user_unsign` notification."""
        agreement = self._move(external_no, "UNSIGN")
        body = self.notification(agreement, alipay_agreements.UNSIGN_NOTIFY_TYPE)
        self.payments.deliver(agreement.notify_url, body, {"Content-Type": alipay_openapi.FORM_CONTENT_TYPE})
        return agreement

    def set_balance(self, external_no: str, balance: Decimal | None) -> SandboxAgreement:
        """What later charges may take (None: anything); a charge beyond it fails as Alipay's does."""
        with self._store.transaction() as documents:
            agreement = replace(self._known(documents, external_no), balance=balance)
            self._keep(documents, agreement)
            return agreement

    def agreement_notification(self, body: bytes, headers: Mapping[str, str]) -> AgreementNotification | None:
        params = alipay_openapi.verify_notification(body, self.payments.public_key)
        return alipay_agreements.agreement_notification(params, self.payments.app_id)

    def charge_agreement(self, agreement_no: str, payment_id: str, amount: Decimal, subject: str) -> ChargeResult:
        """Paid at once when the agreement is signed and the balance covers it; charged once per payment_id."""
        amount = require_positive(amount)
        existing = self.payments.query_payment(payment_id)
        if existing.state is PaymentState.PAID and existing.transaction_id:
            return ChargeResult(payment_id, True, amount, existing.transaction_id, existing.paid_at)
        if existing.state is PaymentState.CLOSED:
            return ChargeResult(payment_id, False, amount, reason="ACQ.TRADE_HAS_CLOSE: 交易已经关闭")
        with self._store.transaction() as documents:
            agreement = self._by_agreement_no(documents, agreement_no)
            refusal = self._refusal(agreement, amount)
            if agreement is not None and not refusal and agreement.balance is not None:
                self._keep(documents, replace(agreement, balance=agreement.balance - amount))
        trade = self.payments.record_charge(payment_id, amount, subject, paid=not refusal)
        if trade.status is not SandboxPaymentStatus.PAID:
            return ChargeResult(payment_id, False, amount, reason=refusal or "closed")
        return ChargeResult(payment_id, True, amount, trade.trade_no, trade.settled_at)

    def unsign_agreement(self, agreement_no: str) -> None:
        with self._store.transaction() as documents:
            agreement = self._by_agreement_no(documents, agreement_no)
            if agreement is not None:
                self._keep(documents, replace(agreement, status="UNSIGN"))

    def _refusal(self, agreement: SandboxAgreement | None, amount: Decimal) -> str:
        if agreement is None or agreement.status != "NORMAL":
            return AGREEMENT_ENDED
        if agreement.balance is not None and amount > agreement.balance:
            return BALANCE_NOT_ENOUGH
        return ""

    def _get(self, documents: SandboxDocuments | SandboxStore, external_no: str) -> SandboxAgreement | None:
        document = documents.get(AGREEMENT, f"{self.provider}/{external_no}")
        return None if document is None else from_document(SandboxAgreement, document)

    def _by_agreement_no(self, documents: SandboxDocuments, agreement_no: str) -> SandboxAgreement | None:
        index = documents.get(AGREEMENT_NO, f"{self.provider}/{agreement_no}")
        return None if index is None else self._get(documents, index["external_agreement_no"])

    def _keep(self, documents: SandboxDocuments, agreement: SandboxAgreement) -> None:
        external_no = agreement.external_agreement_no
        documents.put(AGREEMENT, f"{self.provider}/{external_no}", to_document(agreement))
        documents.put(AGREEMENT_NO, f"{self.provider}/{agreement.agreement_no}", {"external_agreement_no": external_no})

    def _known(self, documents: SandboxDocuments, external_no: str) -> SandboxAgreement:
        agreement = self._get(documents, external_no)
        if agreement is None:
            raise PaymentStateConflict(f"the sandbox knows no agreement {external_no}")
        return agreement

    def _move(self, external_no: str, status: str) -> SandboxAgreement:
        with self._store.transaction() as documents:
            agreement = self._known(documents, external_no)
            if agreement.status == "UNSIGN":
                raise PaymentStateConflict(f"agreement {external_no} has ended")
            agreement = replace(agreement, status=status)
            self._keep(documents, agreement)
            return agreement

    def notification(self, agreement: SandboxAgreement, notify_type: str) -> bytes:
        """The signed notification of the agreement as it stands, as Alipay posts it: `dut_user_sign` or
        `dut_user_unsign`."""
        now = alipay_openapi.format_alipay_time(self.payments.clock_now())
        signed = notify_type == alipay_agreements.SIGN_NOTIFY_TYPE
        params = {
            "notify_time": now,
            "notify_type": notify_type,
            "notify_id": uuid.uuid4().hex,
            "app_id": self.payments.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "agreement_no": agreement.agreement_no,
            "external_agreement_no": agreement.external_agreement_no,
            "personal_product_code": alipay_agreements.PERSONAL_PRODUCT_CODE,
            "sign_scene": alipay_agreements.DEFAULT_SIGN_SCENE,
            "status": agreement.status,
            "alipay_user_id": "2088000000000000",
            "single_amount": yuan_string(agreement.terms.single_amount),
            "sign_time" if signed else "unsign_time": now,
        }
        return alipay_openapi.encode_form(alipay_openapi.sign_notification(params, self.payments.private_key)).encode()

    def _agreement_no(self, external_no: str) -> str:
        """A 20-digit agreement number like Alipay's, the same every time for the same external number."""
        digest = int.from_bytes(hashlib.sha256(f"{self.payments.app_id}/{external_no}".encode()).digest()[:8], "big")
        return f"2026{digest % 10**16:016d}"

"""The sandbox payment provider: no network, yet it signs, calls back and refuses like a real one.

Its notifications follow Alipay's scheme exactly (form-urlencoded, RSA2 over the sorted parameters except `sign`
and `sign_type`), signed with a locally generated RSA-2048 key that may be kept in a PEM file across restarts.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import alipay_openapi
from adapters.amounts import require_cents, require_positive, yuan_string
from adapters.china_time import SHANGHAI
from adapters.errors import DeliveryFailed, PaymentStateConflict, UnknownPayment
from adapters.keys import (
    generate_private_key,
    load_or_create_private_key,
    load_private_key,
    private_key_pem,
    public_key_pem,
)
from adapters.sandbox_store import (
    MemorySandboxStore,
    SandboxDocuments,
    SandboxStore,
    from_document,
    to_document,
)
from adapters.settings import ProviderSettings
from leasecore.clock import SystemClock
from leasecore.ports import (
    BillLine,
    Clock,
    FreezeNotification,
    FreezeOperationReceipt,
    FreezeRequest,
    PaymentNotification,
    PaymentQuery,
    PaymentRequest,
    PaymentState,
    RecordKind,
    RefundReceipt,
)

PROVIDER = "sandbox"
SANDBOX_APP_ID = "2021000000000000"
PAY_URL = "https://sandbox.leasecore.invalid/pay"
ZERO = Decimal("0.00")
CALLS_KEPT = 1000
"""How many takes and unfreezes a sandbox keeps in memory for the tests to read (`SandboxFreezes.calls`)."""
PAYMENT, REFUND, FREEZE, FREEZE_AUTH, FREEZE_OPERATION, FREEZE_DONE, KEY = (
    "payment",
    "refund",
    "freeze",
    "freeze-auth",
    "freeze-operation",
    "freeze-done",
    "key",
)
"""The kinds of document this sandbox keeps, each under `provider/reference`."""

SETTINGS = ProviderSettings("沙箱支付", optional=("key_path", "app_id"))
"""The sandbox needs nothing; `key_path` keeps its RSA key across restarts (made there when missing)."""

Outcome = Literal["success", "fail"]
Deliver = Callable[[bytes, Mapping[str, str]], None]


class SandboxPaymentStatus(Enum):
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"


@dataclass(frozen=True)
class SandboxPayment:
    """What the sandbox provider knows of one payment."""

    payment_id: str
    amount: Decimal
    subject: str
    notify_url: str
    trade_no: str
    created_at: datetime
    request: PaymentRequest
    status: SandboxPaymentStatus = SandboxPaymentStatus.PENDING
    settled_at: datetime | None = None
    refunded: Decimal = ZERO

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded if self.status is SandboxPaymentStatus.PAID else ZERO


@dataclass(frozen=True)
class _Refund:
    payment_id: str
    receipt: RefundReceipt
    at: datetime | None = None


class SandboxPayments:
    """A `PaymentGateway` that needs no network; `complete` plays the customer paying and the provider calling back."""

    acknowledgement = alipay_openapi.ACKNOWLEDGEMENT

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        key_path: Path | str | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
        app_id: str = SANDBOX_APP_ID,
        deliver: Deliver | None = None,
        http_client: httpx.Client | None = None,
        pay_url: str = PAY_URL,
        provider: str = PROVIDER,
        store: SandboxStore | None = None,
    ) -> None:
        self.provider, self.app_id, self.pay_url = provider, app_id, pay_url
        self._clock = clock or SystemClock()
        self.store: SandboxStore = store or MemorySandboxStore()
        self._key_path, self._key = key_path, private_key
        self._deliver, self._http = deliver, http_client

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def public_key_pem(self) -> str:
        """What a merchant would configure as "the provider's public key"."""
        return public_key_pem(self.public_key).decode("ascii")

    def create_payment(self, payment_id: str, amount: Decimal, subject: str, notify_url: str) -> PaymentRequest:
        """A pending payment; asking again for the same payment and amount returns the same request."""
        amount, key = require_positive(amount), self.private_key
        with self.store.transaction() as documents:
            existing = self._stored(documents, payment_id)
            if existing is not None:
                return _same_request(existing, amount)
            now = self._clock.now()
            request = PaymentRequest(
                payment_id, self.provider, amount, self._pay_params(key, payment_id, amount, subject, notify_url, now)
            )
            self._keep(
                documents,
                SandboxPayment(payment_id, amount, subject, notify_url, self._trade_no(payment_id, now), now, request),
            )
            return request

    def payment(self, payment_id: str) -> SandboxPayment:
        return self._payment(self.store, payment_id)

    def notification(
        self, payment_id: str, outcome: Outcome, paid_at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The signed notification of the customer paying (or failing to); a repeat resends the recorded outcome."""
        instant = _aware(paid_at) if paid_at is not None else self._clock.now()
        with self.store.transaction() as documents:
            payment = _settle(self._payment(documents, payment_id), outcome, instant)
            self._keep(documents, payment)
        unsigned = self._notification_params(payment, payment.settled_at or instant)
        params = alipay_openapi.sign_notification(unsigned, self.private_key)
        body = alipay_openapi.encode_form(params).encode("ascii")
        return body, {"Content-Type": alipay_openapi.FORM_CONTENT_TYPE}

    def complete(
        self, payment_id: str, outcome: Outcome, paid_at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Settle the payment and deliver its signed notification, as the provider's servers would."""
        body, headers = self.notification(payment_id, outcome, paid_at)
        if self._deliver is not None:
            self._deliver(body, headers)
        else:
            self._post(self.payment(payment_id).notify_url, body, headers)
        return body, headers

    def settle_unnotified(self, payment_id: str, outcome: Outcome, paid_at: datetime | None = None) -> SandboxPayment:
        """Settle the payment as the provider would, but lose its notification on the way: the money moved and
        the merchant was never told, until it asks (`query_payment`)."""
        instant = _aware(paid_at) if paid_at is not None else self._clock.now()
        with self.store.transaction() as documents:
            payment = _settle(self._payment(documents, payment_id), outcome, instant)
            self._keep(documents, payment)
            return payment

    def query_payment(self, payment_id: str) -> PaymentQuery:
        """What the sandbox's records say; a payment it never created is not paid, as Alipay says of a trade
        the customer never opened (ACQ.TRADE_NOT_EXIST)."""
        payment = self._stored(self.store, payment_id)
        if payment is None:
            return PaymentQuery(payment_id, self.provider, PaymentState.NOT_PAID)
        if payment.status is SandboxPaymentStatus.PAID:
            return PaymentQuery(
                payment_id, self.provider, PaymentState.PAID, payment.trade_no, payment.amount, payment.settled_at
            )
        state = PaymentState.CLOSED if payment.status is SandboxPaymentStatus.CLOSED else PaymentState.NOT_PAID
        return PaymentQuery(payment_id, self.provider, state)

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Authentic only when signed by this sandbox's key for this app; anything else raises `InvalidSignature`."""
        params = alipay_openapi.verify_notification(body, self.public_key)
        return alipay_openapi.payment_notification(params, self.provider, self.app_id)

    def refund(self, payment_id: str, refund_id: str, amount: Decimal) -> RefundReceipt:
        """Once per refund_id; never more in total than was paid for that payment."""
        amount = require_cents(amount)
        with self.store.transaction() as documents:
            previous = documents.get(REFUND, f"{self.provider}/{refund_id}")
            if previous is not None:
                return self._repeated_refund(from_document(_Refund, previous), payment_id, amount)
            payment = self._stored(documents, payment_id)
            refusal = _refund_refusal(payment_id, payment, amount)
            if refusal or payment is None:
                return RefundReceipt(refund_id, self.provider, amount, accepted=False, reason=refusal)
            self._keep(documents, replace(payment, refunded=payment.refunded + amount))
            receipt = RefundReceipt(refund_id, self.provider, amount, accepted=True)
            refund = _Refund(payment_id, receipt, self._clock.now())
            documents.put(REFUND, f"{self.provider}/{refund_id}", to_document(refund))
            return receipt

    def daily_bill(self, day: date) -> list[BillLine]:
        """The sandbox's bill of `day` (Beijing time) made from its own records, as Alipay's lists them: each
        payment on the day it was paid, each refund on the day it was accepted, each freeze on the day the customer
        confirmed it (the money really frozen, not what was waived on credit), each take and unfreeze on the day it
        was done."""
        payments = [
            BillLine(RecordKind.PAYMENT, paid.payment_id, paid.amount, paid.trade_no, paid.settled_at)
            for paid in self._all_payments()
            if paid.status is SandboxPaymentStatus.PAID
        ]
        refunds = [
            BillLine(RecordKind.REFUND, refund.receipt.refund_id, refund.receipt.amount, at=refund.at)
            for refund in (from_document(_Refund, document) for document in self.store.documents(REFUND))
            if refund.receipt.accepted and refund.receipt.provider == self.provider
        ]
        lines = payments + refunds + self.freeze_book.bill_lines()
        return [line for line in lines if line.at and line.at.astimezone(SHANGHAI).date() == day]

    def _payment(self, documents: SandboxDocuments | SandboxStore, payment_id: str) -> SandboxPayment:
        payment = self._stored(documents, payment_id)
        if payment is None:
            raise UnknownPayment(f"the sandbox provider knows no payment {payment_id}")
        return payment

    def _stored(self, documents: SandboxDocuments | SandboxStore, payment_id: str) -> SandboxPayment | None:
        """This provider's payments are kept under its name, so sandboxes of several names may share a store."""
        document = documents.get(PAYMENT, f"{self.provider}/{payment_id}")
        return None if document is None else from_document(SandboxPayment, document)

    def _keep(self, documents: SandboxDocuments, payment: SandboxPayment) -> None:
        documents.put(PAYMENT, f"{self.provider}/{payment.payment_id}", to_document(payment))

    def _all_payments(self) -> list[SandboxPayment]:
        found = (from_document(SandboxPayment, document) for document in self.store.documents(PAYMENT))
        return [payment for payment in found if payment.request.provider == self.provider]

    def _repeated_refund(self, previous: _Refund, payment_id: str, amount: Decimal) -> RefundReceipt:
        """The same refund asked again gets the first answer; a refund_id reused for another refund is refused."""
        if previous.payment_id == payment_id and previous.receipt.amount == amount:
            return previous.receipt
        first = previous.receipt
        reason = f"refund id {first.refund_id} was already used for {first.amount} on payment {previous.payment_id}"
        return RefundReceipt(first.refund_id, self.provider, amount, accepted=False, reason=reason)

    def _pay_params(
        self, key: rsa.RSAPrivateKey, payment_id: str, amount: Decimal, subject: str, notify_url: str, now: datetime
    ) -> dict[str, str]:
        """A pay page URL and an `alipay.trade.app.pay` order string, signed with the sandbox key."""
        biz_content = {
            "out_trade_no": payment_id,
            "total_amount": yuan_string(amount),
            "subject": subject,
            "product_code": "QUICK_MSECURITY_PAY",
        }
        params = alipay_openapi.request_params(self.app_id, "alipay.trade.app.pay", biz_content, now, notify_url)
        order_string = alipay_openapi.encode_form(alipay_openapi.sign_request(params, key))
        return {"pay_url": f"{self.pay_url}/{quote(payment_id, safe='')}", "order_string": order_string}

    def _trade_no(self, payment_id: str, now: datetime) -> str:
        """A 28-digit provider transaction id like Alipay's, the same every time for the same payment."""
        digest = int.from_bytes(hashlib.sha256(f"{self.app_id}/{payment_id}".encode()).digest()[:8], "big")
        day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
        return f"{day}2200{digest % 10**16:016d}"

    def _notification_params(self, payment: SandboxPayment, settled_at: datetime) -> dict[str, str]:
        paid = payment.status is SandboxPaymentStatus.PAID
        settled = alipay_openapi.format_alipay_time(settled_at)
        return {
            "notify_time": alipay_openapi.format_alipay_time(self._clock.now()),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": payment.trade_no,
            "out_trade_no": payment.payment_id,
            "subject": payment.subject,
            "total_amount": yuan_string(payment.amount),
            "receipt_amount": yuan_string(payment.amount) if paid else "",
            "trade_status": "TRADE_SUCCESS" if paid else alipay_openapi.CLOSED_STATUS,
            "gmt_create": alipay_openapi.format_alipay_time(payment.created_at),
            "gmt_payment": settled if paid else "",
            "gmt_close": "" if paid else settled,
        }

    def _post(self, notify_url: str, body: bytes, headers: Mapping[str, str]) -> None:
        client = self._http or httpx.Client(timeout=10.0)
        try:
            response = client.post(notify_url, content=body, headers=dict(headers))
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"the notification could not reach {notify_url}: {error}") from error
        finally:
            if self._http is None:
                client.close()
        if not response.is_success:
            raise DeliveryFailed(f"{notify_url} answered the notification with HTTP {response.status_code}")

    # Deposit pre-authorization (押金预授权): freezes, takes and unfreezes as Alipay's fund authorization does.

    freezes_deposits = True

    def create_freeze(self, out_request_no: str, amount: Decimal, title: str, notify_url: str) -> FreezeRequest:
        """A freeze awaiting the customer; asking again for the same request and amount returns the same one."""
        amount = require_positive(amount)
        book, key = self.freeze_book, self.private_key
        with self.store.transaction() as documents:
            existing = book.get(documents, out_request_no)
            if existing is not None:
                if existing.amount != amount:
                    raise PaymentStateConflict(f"freeze {out_request_no} was asked for {existing.amount}, not {amount}")
                return existing.request
            now = self._clock.now()
            biz_content = {
                "out_order_no": out_request_no,
                "out_request_no": out_request_no,
                "order_title": title,
                "amount": yuan_string(amount),
                "product_code": "PRE_AUTH_ONLINE",
            }
            params = alipay_openapi.request_params(self.app_id, FREEZE_METHOD, biz_content, now, notify_url)
            order_string = alipay_openapi.encode_form(alipay_openapi.sign_request(params, key))
            pay_params = {
                "pay_url": f"{self.pay_url}/freeze/{quote(out_request_no, safe='')}",
                "order_string": order_string,
            }
            request = FreezeRequest(out_request_no, self.provider, amount, pay_params)
            auth_no = self._trade_no("auth/" + out_request_no, now)
            operation_id = self._trade_no("operation/" + out_request_no, now)
            book.keep(
                documents, SandboxFreeze(out_request_no, amount, title, notify_url, auth_no, operation_id, now, request)
            )
            return request

    def freeze_notification(self, body: bytes, headers: Mapping[str, str]) -> FreezeNotification | None:
        """A freeze notification signed by this sandbox's key; None for a payment's."""
        params = alipay_openapi.verify_notification(body, self.public_key)
        if not alipay_openapi.is_freeze_notification(params):
            return None
        return alipay_openapi.freeze_notification(params, self.provider, self.app_id)

    def freeze(
        self, out_request_no: str, credit: Decimal = ZERO, frozen_at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The customer confirms the freeze, `credit` of it waived on the provider's own credit; the signed
        notification is delivered as `complete` delivers a payment's. A repeat resends the first outcome."""
        book, key = self.freeze_book, self.private_key
        instant = _aware(frozen_at) if frozen_at is not None else self._clock.now()
        with self.store.transaction() as documents:
            freeze = _known_freeze(book, documents, out_request_no)
            if freeze.frozen_at is None:
                if not ZERO <= require_cents(credit) <= freeze.amount:
                    raise ValueError(f"credit must lie between 0 and the {freeze.amount} asked")
                freeze = replace(freeze, frozen_at=instant, credit=credit)
                book.keep(documents, freeze)
            params = alipay_openapi.sign_notification(self._freeze_params(freeze), key)
        body = alipay_openapi.encode_form(params).encode("ascii")
        headers = {"Content-Type": alipay_openapi.FORM_CONTENT_TYPE}
        if self._deliver is not None:
            self._deliver(body, headers)
        else:
            self._post(freeze.notify_url, body, headers)
        return body, headers

    def freeze_unnotified(self, out_request_no: str, credit: Decimal = ZERO) -> SandboxFreeze:
        """The customer confirms the freeze, but its notification is lost on the way: the money is frozen and the
        merchant never told, until it asks (`query_freeze`)."""
        book = self.freeze_book
        with self.store.transaction() as documents:
            freeze = _known_freeze(book, documents, out_request_no)
            if freeze.frozen_at is None:
                freeze = replace(freeze, frozen_at=self._clock.now(), credit=require_cents(credit))
                book.keep(documents, freeze)
            return freeze

    def _freeze_params(self, freeze: SandboxFreeze) -> dict[str, str]:
        assert freeze.frozen_at is not None
        return {
            "notify_time": alipay_openapi.format_alipay_time(self._clock.now()),
            "notify_type": FREEZE_NOTIFY_TYPE,
            "notify_id": uuid.uuid4().hex,
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "auth_no": freeze.auth_no,
            "operation_id": freeze.operation_id,
            "out_order_no": freeze.out_request_no,
            "out_request_no": freeze.out_request_no,
            "operation_type": "FREEZE",
            "amount": yuan_string(freeze.amount),
            "total_freeze_amount": yuan_string(freeze.amount),
            "credit_amount": yuan_string(freeze.credit),
            "fund_amount": yuan_string(freeze.fund),
            "status": "SUCCESS",
            "gmt_trans": alipay_openapi.format_alipay_time(freeze.frozen_at),
        }

    def take_from_freeze(
        self, auth_no: str, ref: str, amount: Decimal, subject: str, completes: bool
    ) -> FreezeOperationReceipt:
        """Once per ref (a repeat gets the first answer); never more than is still frozen. `completes` unfreezes
        whatever the take leaves, as Alipay's auth_confirm_mode COMPLETE does."""
        return _operate(self, "take", auth_no, ref, amount, completes)

    def unfreeze(self, auth_no: str, ref: str, amount: Decimal, remark: str) -> FreezeOperationReceipt:
        """Once per ref (a repeat gets the first answer); never more than is still frozen."""
        return _operate(self, "unfreeze", auth_no, ref, amount, False)

    def query_freeze(self, out_request_no: str) -> FreezeNotification | None:
        """The freeze as the sandbox knows it; None while the customer has not confirmed it."""
        freeze = self.freeze_book.get(self.store, out_request_no)
        if freeze is None or freeze.frozen_at is None:
            return None
        return alipay_openapi.freeze_notification(self._freeze_params(freeze), self.provider, self.app_id)

    @property
    def freeze_book(self) -> SandboxFreezes:
        """The freezes this sandbox provider knows, made on first use."""
        book = self.__dict__.get("_freeze_book")
        if book is None:
            book = self.__dict__.setdefault("_freeze_book", SandboxFreezes(self.store, self.provider))
        return book  # type: ignore[no-any-return]

    # Auto-debit: charges made under an agreement (adapters.payments.sandbox_agreements) are trades like any other.

    def record_charge(self, payment_id: str, amount: Decimal, subject: str, paid: bool) -> SandboxPayment:
        """A trade made and settled at once, as a charge under an agreement is; asked again under the same
        payment_id, the trade already made."""
        amount = require_positive(amount)
        with self.store.transaction() as documents:
            existing = self._stored(documents, payment_id)
            if existing is not None:
                return existing
            now = self._clock.now()
            request = PaymentRequest(payment_id, self.provider, amount, {})
            status = SandboxPaymentStatus.PAID if paid else SandboxPaymentStatus.CLOSED
            payment = SandboxPayment(
                payment_id, amount, subject, "", self._trade_no(payment_id, now), now, request, status, now
            )
            self._keep(documents, payment)
            return payment

    def clock_now(self) -> datetime:
        return self._clock.now()

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """What signs the sandbox's notifications, agreements' too; found on first use, once the store is open."""
        if self._key is None:
            self._key = _sandbox_key(self._key_path, self.store, self.provider)
        return self._key

    def deliver(self, notify_url: str, body: bytes, headers: Mapping[str, str]) -> None:
        """A signed notification sent as the provider's servers would."""
        if self._deliver is not None:
            self._deliver(body, headers)
        else:
            self._post(notify_url, body, headers)


def _sandbox_key(key_path: Path | str | None, store: SandboxStore, provider: str) -> rsa.RSAPrivateKey:
    """The key kept at `key_path`, else the store's: made once, so every process sharing the store signs with it
    and a notification one made is authentic to all."""
    if key_path is not None:
        return load_or_create_private_key(key_path)
    with store.transaction() as documents:
        kept = documents.get(KEY, provider)
        if kept is not None:
            return load_private_key(kept["pem"])
        key = generate_private_key()
        documents.put(KEY, provider, {"pem": private_key_pem(key).decode("ascii")})
        return key


def _same_request(existing: SandboxPayment, amount: Decimal) -> PaymentRequest:
    if existing.amount != amount:
        raise PaymentStateConflict(f"payment {existing.payment_id} was created for {existing.amount}, not {amount}")
    return existing.request


def _refund_refusal(payment_id: str, payment: SandboxPayment | None, amount: Decimal) -> str:
    if payment is None:
        return f"no payment {payment_id}"
    if payment.status is not SandboxPaymentStatus.PAID:
        return f"payment {payment_id} is {payment.status.value}, not paid"
    if amount <= 0:
        return f"a refund must be positive, not {amount}"
    if amount > payment.refundable:
        return f"a refund of {amount} exceeds the {payment.refundable} still refundable on payment {payment_id}"
    return ""


def _settle(payment: SandboxPayment, outcome: Outcome, instant: datetime) -> SandboxPayment:
    """A pending payment is paid or closed once; the recorded outcome is final."""
    status = _status_of(outcome)
    if payment.status is SandboxPaymentStatus.PENDING:
        return replace(payment, status=status, settled_at=instant)
    if payment.status is not status:
        raise PaymentStateConflict(f"payment {payment.payment_id} is {payment.status.value} already")
    return payment


def _status_of(outcome: str) -> SandboxPaymentStatus:
    if outcome == "success":
        return SandboxPaymentStatus.PAID
    if outcome == "fail":
        return SandboxPaymentStatus.CLOSED
    raise ValueError(f"a payment outcome is 'success' or 'fail', not {outcome!r}")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("paid_at must be timezone-aware")
    return instant


# Deposit pre-authorization (押金预授权): the sandbox freezes, takes and unfreezes as Alipay's fund authorization
# does, and signs its freeze notification the same way.

FREEZE_METHOD = "alipay.fund.auth.order.app.freeze"
FREEZE_NOTIFY_TYPE = "fund_auth_freeze"


@dataclass(frozen=True)
class SandboxFreeze:
    """What the sandbox provider knows of one freeze: asked, then frozen (part of it waived on credit)."""

    out_request_no: str
    amount: Decimal
    title: str
    notify_url: str
    auth_no: str
    operation_id: str
    created_at: datetime
    request: FreezeRequest
    frozen_at: datetime | None = None
    credit: Decimal = ZERO
    taken: Decimal = ZERO
    unfrozen: Decimal = ZERO

    @property
    def fund(self) -> Decimal:
        return self.amount - self.credit

    @property
    def rest(self) -> Decimal:
        return self.fund - self.taken - self.unfrozen if self.frozen_at else ZERO


class SandboxFreezes:
    """The freezes of a `SandboxPayments`, kept in its store; its `freeze` plays the customer confirming and the
    provider notifying."""

    def __init__(self, store: SandboxStore, provider: str) -> None:
        self.store, self.provider = store, provider
        self.calls: deque[tuple[str, str]] = deque(maxlen=CALLS_KEPT)
        """The takes and unfreezes this process asked lately (the last `CALLS_KEPT`), repeats included (kind, ref),
        so tests see what a retry sent."""

    @property
    def freezes(self) -> dict[str, SandboxFreeze]:
        """Every freeze as it stands now, by its out_request_no."""
        found = (from_document(SandboxFreeze, document) for document in self.store.documents(FREEZE))
        return {freeze.out_request_no: freeze for freeze in found if freeze.request.provider == self.provider}

    def get(self, documents: SandboxDocuments | SandboxStore, out_request_no: str) -> SandboxFreeze | None:
        document = documents.get(FREEZE, f"{self.provider}/{out_request_no}")
        return None if document is None else from_document(SandboxFreeze, document)

    def by_auth_no(self, documents: SandboxDocuments, auth_no: str) -> SandboxFreeze | None:
        index = documents.get(FREEZE_AUTH, f"{self.provider}/{auth_no}")
        return None if index is None else self.get(documents, index["out_request_no"])

    def keep(self, documents: SandboxDocuments, freeze: SandboxFreeze) -> None:
        documents.put(FREEZE, f"{self.provider}/{freeze.out_request_no}", to_document(freeze))
        documents.put(FREEZE_AUTH, f"{self.provider}/{freeze.auth_no}", {"out_request_no": freeze.out_request_no})

    def operation(self, documents: SandboxDocuments | SandboxStore, ref: str) -> FreezeOperationReceipt | None:
        document = documents.get(FREEZE_OPERATION, f"{self.provider}/{ref}")
        return None if document is None else from_document(FreezeOperationReceipt, document)

    def keep_operation(self, documents: SandboxDocuments, receipt: FreezeOperationReceipt) -> None:
        documents.put(FREEZE_OPERATION, f"{self.provider}/{receipt.ref}", to_document(receipt))

    def bill_lines(self) -> list[BillLine]:
        """Every freeze confirmed, take and unfreeze done, as bill lines."""
        frozen = [
            BillLine(RecordKind.FREEZE, freeze.out_request_no, freeze.fund, freeze.auth_no, freeze.frozen_at)
            for freeze in self.freezes.values()
            if freeze.frozen_at is not None
        ]
        moved: list[BillLine] = []
        for done in self.store.documents(FREEZE_DONE):
            receipt = self.operation(self.store, done["ref"]) if done["provider"] == self.provider else None
            if receipt is not None and receipt.accepted:
                at = datetime.fromisoformat(done["at"])
                moved.append(BillLine(RecordKind(done["kind"]), receipt.ref, receipt.amount, receipt.provider_ref, at))
        return frozen + moved


def _operate(
    gateway: SandboxPayments, kind: str, auth_no: str, ref: str, amount: Decimal, completes: bool
) -> FreezeOperationReceipt:
    book = gateway.freeze_book
    amount = require_cents(amount)
    book.calls.append((kind, ref))
    with gateway.store.transaction() as documents:
        previous = book.operation(documents, ref)
        if previous is not None:
            return previous
        freeze = book.by_auth_no(documents, auth_no)
        refusal = (
            f"no freeze {auth_no}"
            if freeze is None
            else f"{amount} is not between 0 and the {freeze.rest} still frozen"
            if not ZERO < amount <= freeze.rest
            else ""
        )
        if freeze is None or refusal:
            return FreezeOperationReceipt(ref, gateway.provider, amount, False, reason=refusal)
        if kind == "take":
            freeze = replace(freeze, taken=freeze.taken + amount)
            if completes:
                freeze = replace(freeze, unfrozen=freeze.unfrozen + freeze.rest)
        else:
            freeze = replace(freeze, unfrozen=freeze.unfrozen + amount)
        book.keep(documents, freeze)
        receipt = FreezeOperationReceipt(
            ref, gateway.provider, amount, True, gateway._trade_no(f"{kind}/{ref}", gateway._clock.now())
        )
        book.keep_operation(documents, receipt)
        done = {"provider": gateway.provider, "ref": ref, "at": gateway._clock.now().isoformat()}
        kind_done = RecordKind.CAPTURE if kind == "take" else RecordKind.UNFREEZE
        documents.put(FREEZE_DONE, f"{gateway.provider}/{ref}", {**done, "kind": kind_done.value})
        return receipt


def _known_freeze(book: SandboxFreezes, documents: SandboxDocuments, out_request_no: str) -> SandboxFreeze:
    freeze = book.get(documents, out_request_no)
    if freeze is None:
        raise UnknownPayment(f"the sandbox provider knows no freeze {out_request_no}")
    return freeze

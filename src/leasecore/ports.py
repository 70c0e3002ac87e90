"""Ports: what the core needs from the outside world, each a Protocol named for its capability."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from leasecore.credit.customer import IdentityCheck


class Clock(Protocol):
    """Where the time comes from; the domain never reads the system clock itself."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class PaymentRequest:
    """What the app needs to hand the customer to the provider (a pay URL, an SDK string)."""

    payment_id: str
    provider: str
    amount: Decimal
    pay_params: dict[str, Any]


@dataclass(frozen=True)
class PaymentNotification:
    """A verified provider callback: the provider's transaction id and when the money moved."""

    payment_id: str
    provider: str
    transaction_id: str
    amount: Decimal
    succeeded: bool
    paid_at: datetime
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundReceipt:
    """The provider's answer to a refund; a refusal is `accepted=False` with the provider's `reason`."""

    refund_id: str
    provider: str
    amount: Decimal
    accepted: bool
    reason: str = ""


class PaymentState(Enum):
    """Where the provider says a payment stands when asked."""

    PAID = "paid"
    NOT_PAID = "not_paid"
    """Still payable, or never opened by the customer (the provider knows no such trade yet)."""
    CLOSED = "closed"


@dataclass(frozen=True)
class PaymentQuery:
    """The provider's answer when asked about a payment: its state and, once paid, the transaction that paid it."""

    payment_id: str
    provider: str
    state: PaymentState
    transaction_id: str | None = None
    amount: Decimal | None = None
    paid_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.state is PaymentState.PAID and (not self.transaction_id or self.amount is None or not self.paid_at):
            raise ValueError(f"a paid answer about {self.payment_id} names its transaction, amount and time")


@dataclass(frozen=True)
class Acknowledgement:
    """What a provider expects back once its notification is recorded."""

    status: int
    body: str
    media_type: str


class PaymentGateway(Protocol):
    """A payment provider (Alipay, WeChat Pay, the sandbox, …) and the answer its notifications expect."""

    provider: str
    acknowledgement: Acknowledgement

    def create_payment(self, payment_id: str, amount: Decimal, subject: str, notify_url: str) -> PaymentRequest: ...

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Parse and verify a callback; raise `InvalidSignature` when it is not authentic."""
        ...

    def refund(self, payment_id: str, refund_id: str, amount: Decimal) -> RefundReceipt: ...

    def query_payment(self, payment_id: str) -> PaymentQuery:
        """Ask the provider where a payment stands, for when its notification never came."""
        ...


class InvalidSignature(Exception):
    """A provider message whose signature does not verify: tampered, unsigned or from elsewhere."""


@dataclass(frozen=True)
class BureauScore:
    score: int
    provider: str
    reference: str = ""


class CreditBureau(Protocol):
    """An external credit bureau (e.g. a Sesame-style score, 350–950)."""

    def score(self, name: str, id_number: str) -> BureauScore: ...


class IdentityVerifier(Protocol):
    """ID card OCR and liveness / face match against the ID photo."""

    def verify(self, name: str, id_number: str, id_card_image: bytes, selfie_image: bytes) -> IdentityCheck: ...


class SmsSender(Protocol):
    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        """Send a text message; returns the provider's message id. `ref` is the platform's own id of the message,
        handed to the provider where it takes one (it comes back in delivery receipts)."""
        ...


@dataclass(frozen=True)
class TrackingStatus:
    carrier: str
    tracking_no: str
    delivered: bool
    events: tuple[str, ...] = ()


class Logistics(Protocol):
    """A parcel-tracking service (快递鸟, the sandbox): asked where a parcel is, or told to push its changes to
    `/v1/logistics/notify/{provider}` and answered as it expects there."""

    provider: str

    def track(self, carrier: str, tracking_no: str) -> TrackingStatus: ...

    def subscribe(self, carrier: str, tracking_no: str, callback_url: str) -> None:
        """Ask the service to push the parcel's changes to `callback_url`; raises when it refuses or is unreachable."""
        ...

    def verify_push(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingStatus]:
        """The parcels a push reports; raise `InvalidSignature` when it is not authentic."""
        ...

    def push_acknowledgement(self) -> Acknowledgement:
        """What the service expects back once a push is taken."""
        ...


@dataclass(frozen=True)
class SignedContract:
    contract_id: str
    signed_at: datetime
    document_url: str = ""


@dataclass(frozen=True)
class SigningSession:
    """A sign flow the provider opened for an order's contract: the page the signer signs on, or no page when the
    provider signed at once (the sandbox) and the signed document can be fetched straight away."""

    flow_id: str
    sign_url: str | None = None

    @property
    def completed(self) -> bool:
        return self.sign_url is None


@dataclass(frozen=True)
class SigningOutcome:
    """A verified callback about a sign flow: whether it ended signed, and the provider's words when it did not. A
    callback about a step on the way (`final=False`) changes nothing."""

    flow_id: str
    completed: bool
    reason: str = ""
    final: bool = True


@dataclass(frozen=True)
class SignedDocument:
    """The signed contract as the provider keeps it: its id there, the SHA-256 of its bytes, where to fetch it."""

    document_id: str
    sha256: str
    url: str = ""


class ESignature(Protocol):
    """Electronic contracts (电子签章): signed at once (`sign`), or through the provider's sign flow, whose
    completion the provider calls back (`start_signing`, `verify_callback`, `signed_document`)."""

    provider: str
    acknowledgement: Acknowledgement

    def sign(self, order_id: UUID, signer_name: str, signer_id_number: str, text: str) -> SignedContract: ...

    def start_signing(
        self,
        order_id: UUID,
        signer_name: str,
        signer_id_number: str,
        signer_phone: str,
        text: str,
        notify_url: str,
        return_url: str = "",
    ) -> SigningSession:
        """Open a sign flow for the contract's text; the provider calls `notify_url` back when it ends, and sends the
        signer to `return_url` once signed."""
        ...

    def resume_signing(self, flow_id: str, signer_phone: str, return_url: str = "") -> SigningSession:
        """The signer's page for a flow already open (a sign URL expires; a second flow would be a second contract)."""
        ...

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> SigningOutcome:
        """Parse and verify a completion callback; raise `InvalidSignature` when it is not authentic."""
        ...

    def signing_outcome(self, flow_id: str) -> SigningOutcome:
        """Where a flow stands when asked, for when its callback never came: final once it has ended."""
        ...

    def signed_document(self, flow_id: str) -> SignedDocument:
        """The document a completed flow signed, its SHA-256 computed from the bytes fetched."""
        ...


class DailyWork(Protocol):
    """Finds the orders the daily job has to look at, without scanning every lease."""

    def orders_to_assess(self, as_of: date) -> Iterable[UUID]: ...


@dataclass(frozen=True)
class FreeUnits:
    """Serials a stock index believes free, and how far into the log (a notification id) it had read."""

    serials: Sequence[str]
    position: int


class StockIndex(Protocol):
    """Finds a SKU's free units for some dates without loading every unit. It may lag behind the log: a
    command checks each unit it is offered before booking it."""

    def free_units(
        self, sku_id: UUID, start: date, end: date | None, limit: int, besides: Collection[str] = ()
    ) -> FreeUnits:
        """Up to `limit` units free over the dates, other than `besides`, in a random order."""
        ...


@dataclass(frozen=True)
class Sealed:
    """A value encrypted under one of a customer's keys: the key's id, the nonce and the ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


class PersonalDataCipher(Protocol):
    """Personal data encrypted under a key per customer (crypto-shredding, PIPL's right to deletion): once a
    customer's keys are erased, what was sealed under them cannot be read again, by anyone."""

    def seal(self, customer_id: UUID, plaintext: bytes, associated: bytes) -> Sealed:
        """`plaintext` encrypted under the customer's current key (made on first use), bound to `associated`."""
        ...

    def open(self, sealed: Sealed, associated: bytes) -> bytes | None:
        """The plaintext, or None when its key was erased."""
        ...

    def erase(self, customer_id: UUID) -> int:
        """Delete every key of the customer (how many there were); what they sealed is unreadable from now on."""
        ...

    def forget(self, customer_id: UUID) -> None:
        """Drop what is kept in memory of the customer's keys (another process erased them)."""
        ...


@dataclass(frozen=True)
class Ports:
    """The outside services the application calls, by capability; one left out refuses what needs it."""

    bureau: CreditBureau | None = None
    sms: SmsSender | None = None
    identity: IdentityVerifier | None = None
    esign: ESignature | None = None
    logistics: Logistics | None = None
    gateways: Mapping[str, PaymentGateway] = field(default_factory=dict)
    notify_url: Callable[[str], str] = field(default=lambda provider: f"/v1/payments/notify/{provider}")
    """Where a provider sends its notifications (the service's public URL in front)."""
    signing_notify_url: Callable[[str], str] = field(default=lambda provider: f"/v1/esign/notify/{provider}")
    """Where the e-signature provider calls back when a sign flow ends (the service's public URL in front)."""
    agreements: Mapping[str, AgreementGateway] = field(default_factory=dict)
    """The payment providers that also charge rent under an agreement (auto-debit), by the same names."""


class RecordKind(Enum):
    """What kind of money movement a bill line or a platform record is: money taken, given back, frozen on the
    customer's account, taken from a freeze, or released from it."""

    PAYMENT = "payment"
    REFUND = "refund"
    FREEZE = "freeze"
    CAPTURE = "capture"
    UNFREEZE = "unfreeze"


@dataclass(frozen=True)
class BillLine:
    """One money movement on a provider's daily bill, named by the platform's own id for it (the payment id a
    trade was opened with, the refund id a refund was asked with) and by the provider's trade number."""

    kind: RecordKind
    reference: str
    amount: Decimal
    provider_reference: str = ""
    at: datetime | None = None


class BillSource(Protocol):
    """A payment provider's daily statement of what it moved for the merchant (对账单)."""

    provider: str

    def daily_bill(self, day: date) -> list[BillLine]:
        """Every movement of `day` (the provider's own day, Beijing time), once the provider has made the bill;
        a bill not yet made, or refused, raises."""
        ...


# Deposit pre-authorization (押金预授权): a freeze asked of a payment provider, then taken from or unfrozen.


@dataclass(frozen=True)
class FreezeRequest:
    """What the app hands the customer to confirm a freeze with the provider (an SDK order string, a package)."""

    out_request_no: str
    provider: str
    amount: Decimal
    pay_params: dict[str, Any]


@dataclass(frozen=True)
class FreezeNotification:
    """A verified word from the provider that it froze money: `fund_amount` really frozen, `credit_amount`
    waived on the provider's own credit; `auth_no` and `operation_id` are its ids of the freeze."""

    out_request_no: str
    provider: str
    auth_no: str
    operation_id: str
    amount: Decimal
    fund_amount: Decimal
    credit_amount: Decimal
    frozen_at: datetime
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FreezeOperationReceipt:
    """The provider's answer to a take from a freeze or an unfreeze, asked under the platform's `ref`: accepted
    with the provider's own id of it, or refused with the provider's reason."""

    ref: str
    provider: str
    amount: Decimal
    accepted: bool
    provider_ref: str = ""
    reason: str = ""


@runtime_checkable
class DepositFreezer(Protocol):
    """A payment provider that freezes a deposit (Alipay fund authorization, WeChat Pay Score), then takes damage
    and arrears from the freeze or unfreezes it. Every call names the platform's reference, which the provider
    dedupes on, so asking again after a lost answer is harmless."""

    provider: str
    acknowledgement: Acknowledgement

    @property
    def freezes_deposits(self) -> bool:
        """Whether this provider is set up to freeze deposits (a WeChat Pay merchant needs a Pay Score service)."""
        ...

    def create_freeze(self, out_request_no: str, amount: Decimal, title: str, notify_url: str) -> FreezeRequest: ...

    def freeze_notification(self, body: bytes, headers: Mapping[str, str]) -> FreezeNotification | None:
        """A freeze notification, verified (`InvalidSignature` when not authentic); None when the callback is not
        about a freeze (a payment's, handled as one)."""
        ...

    def take_from_freeze(
        self, auth_no: str, ref: str, amount: Decimal, subject: str, completes: bool
    ) -> FreezeOperationReceipt: ...

    def unfreeze(self, auth_no: str, ref: str, amount: Decimal, remark: str) -> FreezeOperationReceipt: ...

    def query_freeze(self, out_request_no: str) -> FreezeNotification | None:
        """The freeze as the provider knows it, for when its notification never came; None while not frozen."""
        ...


# Auto-debit (代扣): rent charged under an agreement the customer signed with the provider.


@dataclass(frozen=True)
class AgreementTerms:
    """What the customer is asked to sign: monthly charges of at most `single_amount`, from `first_charge` on."""

    external_agreement_no: str
    single_amount: Decimal
    first_charge: date
    periods: int
    subject: str
    total_amount: Decimal | None = None


@dataclass(frozen=True)
class AgreementRequest:
    """What the app hands the provider for the customer to sign (a sign URL, an SDK string)."""

    external_agreement_no: str
    provider: str
    pay_params: dict[str, Any]


@dataclass(frozen=True)
class AgreementNotification:
    """A verified provider callback about an agreement: signed (with the provider's `agreement_no`) or unsigned."""

    external_agreement_no: str
    agreement_no: str
    signed: bool
    at: datetime
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    """The provider's synchronous answer to a charge under an agreement: paid, or refused with its `reason`."""

    payment_id: str
    paid: bool
    amount: Decimal
    transaction_id: str = ""
    paid_at: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.paid and (not self.transaction_id or self.paid_at is None):
            raise ValueError(f"a paid charge {self.payment_id} names its transaction and time")


class AgreementGateway(Protocol):
    """A payment provider that also charges under signed agreements (Alipay 周期扣款, the sandbox)."""

    provider: str

    def sign_agreement(self, terms: AgreementTerms, notify_url: str) -> AgreementRequest: ...

    def agreement_notification(self, body: bytes, headers: Mapping[str, str]) -> AgreementNotification | None:
        """A verified agreement callback; None when the body is some other notification (a payment's)."""
        ...

    def charge_agreement(self, agreement_no: str, payment_id: str, amount: Decimal, subject: str) -> ChargeResult:
        """Charge under the agreement; the same `payment_id` (out_trade_no) is charged at most once."""
        ...

    def unsign_agreement(self, agreement_no: str) -> None: ...

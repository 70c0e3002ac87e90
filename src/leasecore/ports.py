"""Ports: what the core needs from the outside world, each a Protocol named for its capability."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol
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
    def track(self, carrier: str, tracking_no: str) -> TrackingStatus: ...


@dataclass(frozen=True)
class SignedContract:
    contract_id: str
    signed_at: datetime
    document_url: str = ""


class ESignature(Protocol):
    """Electronic contracts (电子签章)."""

    def sign(self, order_id: UUID, signer_name: str, signer_id_number: str, text: str) -> SignedContract: ...


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
    agreements: Mapping[str, AgreementGateway] = field(default_factory=dict)
    """The payment providers that also charge rent under an agreement (auto-debit), by the same names."""


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

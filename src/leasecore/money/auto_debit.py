"""Rent by auto-debit (代扣): an agreement the customer signs with a payment provider, under which the platform
charges each installment on its due date and, after a failure, again on days 1, 3 and 7.

The agreement is an aggregate of its own, one per order, rather than more facts on the order: its life (signing at
the provider, signed, cancelled, signed again) and its charge attempts are the provider's business, many per month,
and the lease only needs the money each successful charge brings, which arrives as an ordinary installments payment.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState
from leasecore.lease.ledger import Balance, Ledger
from leasecore.values import ZERO, derived_id

RETRY_DAYS = (1, 3, 7)
"""After an installment's first failed charge, it is charged again this many days later, then no more."""

MAX_ATTEMPTS = 1 + len(RETRY_DAYS)

AGREEMENT_PREFIX = "AD"


class AgreementState(Enum):
    SIGNING = "signing"
    """Asked of the provider; the customer has not signed yet."""
    ACTIVE = "active"
    CANCELLED = "cancelled"


class AttemptState(Enum):
    CHARGING = "charging"
    """Recorded before the provider was asked; its outcome is not known yet."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """One charge of one installment under the agreement: the `number`-th for installment `seq`, on `day`."""

    seq: int
    number: int
    payment_id: UUID
    amount: Decimal
    day: date
    at: datetime
    state: AttemptState = AttemptState.CHARGING
    transaction_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ChargeDue:
    """An installment to charge today: its attempt number and the amount it still owes."""

    seq: int
    number: int
    amount: Decimal

    def payment_id(self, order_id: UUID) -> UUID:
        return attempt_payment_id(order_id, self.seq, self.number)


def attempt_payment_id(order_id: UUID, seq: int, number: int) -> UUID:
    """The payment (and the provider's out_trade_no) of an attempt, derived from what it is, so an attempt asked
    twice (a crash between asking and recording) is the same trade, which the provider charges at most once."""
    return derived_id("auto-debit-charge", order_id, seq, number)


def external_agreement_no(order_id: UUID, signing: int) -> str:
    """The platform's number for the `signing`-th agreement of an order, 30 characters (the provider takes 32):
    it names the order, so a provider's notification finds its agreement."""
    encoded = base64.b32encode(order_id.bytes).decode("ascii").rstrip("=")
    return f"{AGREEMENT_PREFIX}{encoded}{signing:02d}"


def order_of(agreement_no: str) -> UUID:
    """The order an external agreement number belongs to; ValueError when it is not one of ours."""
    body = agreement_no[len(AGREEMENT_PREFIX) : -2]
    if not agreement_no.startswith(AGREEMENT_PREFIX) or len(body) != 26 or not agreement_no[-2:].isdigit():
        raise ValueError(f"{agreement_no!r} is not an agreement number of this platform")
    try:
        return UUID(bytes=base64.b32decode(body + "======"))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{agreement_no!r} is not an agreement number of this platform") from error


def next_attempt_day(attempts: list[Attempt], due_date: date) -> date | None:
    """When an installment is charged next: on its due date first; after a failure on days 1, 3 and 7 counted from
    the first failure; never after a success or the last retry."""
    if any(attempt.state is AttemptState.SUCCEEDED for attempt in attempts):
        return None
    if not attempts:
        return due_date
    if len(attempts) >= MAX_ATTEMPTS:
        return None
    return attempts[0].day + timedelta(days=RETRY_DAYS[len(attempts) - 1])


class AutoDebit(Aggregate):
    """An order's auto-debit agreement and every charge made under it; only an active agreement is charged."""

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return derived_id("auto-debit", order_id)

    class Opened(Aggregate.Created):
        order_id: UUID
        customer_id: UUID

    @event(Opened)
    def __init__(self, order_id: UUID, customer_id: UUID, timestamp: datetime) -> None:
        self.order_id, self.customer_id = order_id, customer_id
        self.state = AgreementState.CANCELLED
        self.provider = ""
        self.external_agreement_no = ""
        self.agreement_no = ""
        self.signings = 0
        self.signed_at: datetime | None = None
        self.cancelled_reason = ""
        self.attempts: dict[UUID, Attempt] = {}

    @classmethod
    def open(cls, order_id: UUID, customer_id: UUID, now: datetime) -> AutoDebit:
        return cls(order_id=order_id, customer_id=customer_id, timestamp=now)

    @property
    def is_active(self) -> bool:
        return self.state is AgreementState.ACTIVE

    def attempts_of(self, seq: int) -> list[Attempt]:
        return sorted((a for a in self.attempts.values() if a.seq == seq), key=lambda a: a.number)

    def in_doubt(self) -> list[Attempt]:
        """Attempts asked of the provider whose outcome was never recorded (the process stopped in between)."""
        return [a for a in self.attempts.values() if a.state is AttemptState.CHARGING]

    # Signing and cancelling.

    def request_signing(self, provider: str, now: datetime) -> bool:
        """The customer asks to pay rent by agreement through `provider`; asked again while signing through the
        same provider, it is the same request (False). An active agreement is not signed twice."""
        if not provider.strip():
            raise InvalidInput("provider", "must be named")
        if self.state is AgreementState.ACTIVE:
            raise InvalidState(f"auto-debit of order {self.order_id}", "active", "sign another agreement")
        if self.state is AgreementState.SIGNING and self.provider == provider:
            return False
        signing = self.signings + 1
        self._signing_requested(provider, external_agreement_no(self.order_id, signing), timestamp=now)
        return True

    def sign(self, external_no: str, agreement_no: str, now: datetime) -> bool:
        """The provider says the customer signed the agreement asked last; a repeat of the same notification, or a
        signature of an agreement no longer asked for, changes nothing (False)."""
        if not agreement_no.strip():
            raise InvalidInput("agreement_no", "must be given")
        if self.state is not AgreementState.SIGNING or external_no != self.external_agreement_no:
            return False
        self._signed(agreement_no, timestamp=now)
        return True

    def cancel(self, reason: str, now: datetime) -> bool:
        """No charge once cancelled, by the customer or by the provider (the customer unsigned there); cancelling
        twice is a no-op (False)."""
        if self.state is AgreementState.CANCELLED:
            return False
        self._cancelled(reason.strip() or "cancelled", timestamp=now)
        return True

    # Charging.

    def charge_due(self, ledger: Ledger, today: date) -> ChargeDue | None:
        """The oldest installment to charge today: the agreement is active, the installment is due and still owes
        something (none once paid by hand), no attempt is in doubt, and today is on its retry calendar."""
        if not self.is_active or self.in_doubt():
            return None
        for balance in sorted(ledger.balances, key=lambda b: b.seq):
            due = self._charge_of(balance, today)
            if due is not None:
                return due
        return None

    def _charge_of(self, balance: Balance, today: date) -> ChargeDue | None:
        if balance.due_date > today or balance.owed <= ZERO:
            return None
        attempts = self.attempts_of(balance.seq)
        day = next_attempt_day(attempts, balance.due_date)
        if day is None or day > today:
            return None
        return ChargeDue(balance.seq, len(attempts) + 1, balance.owed)

    def attempt(self, due: ChargeDue, today: date, now: datetime) -> Attempt:
        """An attempt recorded before the provider is asked, so a crash leaves it in doubt, never forgotten."""
        if not self.is_active:
            raise InvalidState(f"auto-debit of order {self.order_id}", self.state.value, "charge")
        payment_id = due.payment_id(self.order_id)
        if payment_id not in self.attempts:
            self._charge_attempted(due.seq, due.number, payment_id, due.amount, today, timestamp=now)
        return self.attempts[payment_id]

    def charge_succeeded(self, payment_id: UUID, transaction_id: str, now: datetime) -> bool:
        """The provider took the money; once per attempt (False when already recorded)."""
        attempt = self._attempt(payment_id)
        if attempt.state is AttemptState.SUCCEEDED:
            return False
        self._charge_succeeded(payment_id, transaction_id, timestamp=now)
        return True

    def charge_failed(self, payment_id: UUID, reason: str, now: datetime) -> bool:
        """The provider refused the charge, with its reason; once per attempt (False when already recorded)."""
        attempt = self._attempt(payment_id)
        if attempt.state is not AttemptState.CHARGING:
            return False
        self._charge_failed(payment_id, reason.strip() or "refused", timestamp=now)
        return True

    def _attempt(self, payment_id: UUID) -> Attempt:
        try:
            return self.attempts[payment_id]
        except KeyError:
            raise InvalidInput("payment_id", f"{payment_id} is no charge of this agreement") from None

    # The facts.

    class SigningRequested(Aggregate.Event):
        provider: str
        external_agreement_no: str

    @event(SigningRequested)
    def _signing_requested(self, provider: str, external_agreement_no: str, timestamp: datetime) -> None:
        self.state, self.provider, self.external_agreement_no = AgreementState.SIGNING, provider, external_agreement_no
        self.signings += 1
        self.agreement_no, self.signed_at, self.cancelled_reason = "", None, ""

    class Signed(Aggregate.Event):
        agreement_no: str

    @event(Signed)
    def _signed(self, agreement_no: str, timestamp: datetime) -> None:
        self.state, self.agreement_no, self.signed_at = AgreementState.ACTIVE, agreement_no, timestamp

    class Cancelled(Aggregate.Event):
        reason: str

    @event(Cancelled)
    def _cancelled(self, reason: str, timestamp: datetime) -> None:
        self.state, self.cancelled_reason = AgreementState.CANCELLED, reason

    class ChargeAttempted(Aggregate.Event):
        seq: int
        number: int
        payment_id: UUID
        amount: Decimal
        day: date

    @event(ChargeAttempted)
    def _charge_attempted(
        self, seq: int, number: int, payment_id: UUID, amount: Decimal, day: date, timestamp: datetime
    ) -> None:
        self.attempts[payment_id] = Attempt(seq, number, payment_id, amount, day, timestamp)

    class ChargeSucceeded(Aggregate.Event):
        payment_id: UUID
        transaction_id: str

    @event(ChargeSucceeded)
    def _charge_succeeded(self, payment_id: UUID, transaction_id: str, timestamp: datetime) -> None:
        attempt = self.attempts[payment_id]
        self.attempts[payment_id] = replace(attempt, state=AttemptState.SUCCEEDED, transaction_id=transaction_id)

    class ChargeFailed(Aggregate.Event):
        payment_id: UUID
        reason: str

    @event(ChargeFailed)
    def _charge_failed(self, payment_id: UUID, reason: str, timestamp: datetime) -> None:
        self.attempts[payment_id] = replace(self.attempts[payment_id], state=AttemptState.FAILED, reason=reason)

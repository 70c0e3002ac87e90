"""Rent by auto-debit: the agreement asked of the provider, signed or ended by its notifications, and each charge
recorded before the provider is asked and settled by its answer (the calls themselves are the scheduled process's)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from uuid import UUID

from leasecore.application.base import command
from leasecore.application.payments import PaymentCommands
from leasecore.errors import InvalidInput, NotFound, Refused
from leasecore.lease.lease import Lease, LeaseStatus
from leasecore.money.auto_debit import AgreementState, Attempt, AutoDebit, order_of
from leasecore.money.payments import Payment, PaymentPurpose
from leasecore.ports import (
    Acknowledgement,
    AgreementGateway,
    AgreementNotification,
    AgreementRequest,
    AgreementTerms,
    ChargeResult,
    InvalidSignature,
)
from leasecore.values import ZERO, money

SIGNABLE = (
    LeaseStatus.PENDING_REVIEW,
    LeaseStatus.PENDING_CONTRACT,
    LeaseStatus.PENDING_SHIPMENT,
    LeaseStatus.SHIPPED,
    LeaseStatus.LEASING,
)
"""An order whose monthly rent is still ahead of it may have it charged by agreement."""


class AutoDebitCommands(PaymentCommands):
    """Rent by auto-debit: agreements asked, signed, cancelled; charges recorded and settled."""

    def auto_debit(self, order_id: UUID) -> AutoDebit:
        return self.get(AutoDebit, AutoDebit.create_id(order_id), "auto-debit agreement")

    def find_auto_debit(self, order_id: UUID) -> AutoDebit | None:
        try:
            return self.auto_debit(order_id)
        except NotFound:
            return None

    @property
    def agreement_gateways(self) -> Mapping[str, AgreementGateway]:
        return self.ports.agreements

    def agreement_gateway(self, provider: str | None) -> AgreementGateway:
        """The provider named (the first offering agreements by default), or a refusal naming those that do."""
        name = provider or next(iter(self.agreement_gateways), None)
        gateway = self.agreement_gateways.get(name or "")
        if gateway is None:
            offered = ", ".join(self.agreement_gateways) or "none configured"
            raise InvalidInput("provider", f"auto-debit is offered by: {offered}")
        return gateway

    def request_auto_debit(self, order_id: UUID, provider: str | None = None) -> tuple[AutoDebit, AgreementRequest]:
        """The customer asks for rent by agreement: recorded, then the provider's signing parameters for the app;
        asked again while waiting for the signature, the same agreement is asked again."""
        gateway = self.agreement_gateway(provider)
        debit = self._ask_signing(order_id, gateway.provider)
        terms = self._agreement_terms(self.lease(order_id), debit.external_agreement_no)
        return debit, gateway.sign_agreement(terms, self.notify_url(gateway.provider))

    @command
    def _ask_signing(self, order_id: UUID, provider: str) -> AutoDebit:
        lease = self.lease(order_id)
        lease.require(*SIGNABLE, action="pay rent by auto-debit")
        if not lease.terms.is_long:
            raise Refused("a short-term order pays all its rent at checkout: there is nothing to charge by agreement")
        now = self.clock.now()
        debit = self.find_auto_debit(order_id) or AutoDebit.open(order_id, lease.customer_id, now)
        debit.request_signing(provider, now)
        self.save(debit)
        return debit

    def _agreement_terms(self, lease: Lease, external_no: str) -> AgreementTerms:
        """Monthly charges from the next due date, each at most the largest installment still unpaid with the most
        late fee it can carry (the provider refuses a charge above the agreement's single amount)."""
        ahead = [balance for balance in lease.assessed(self.clock.now()).balances if balance.owed > ZERO]
        if not ahead:
            raise Refused("no rent is left to pay on this order")
        cap_share = lease.terms.late_fee.cap_share
        largest = max(balance.amount + money(cap_share * balance.amount) for balance in ahead)
        subject = f"leasecore order {str(lease.id)[:8]}: monthly rent"
        return AgreementTerms(external_no, largest, min(b.due_date for b in ahead), len(ahead), subject)

    @command
    def cancel_auto_debit(self, order_id: UUID, reason: str) -> AutoDebit:
        """No more charges under the order's agreement; the caller then ends it at the provider."""
        debit = self.auto_debit(order_id)
        if debit.cancel(reason, self.clock.now()):
            self.save(debit)
        return debit

    def receive_notification(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """An agreement signed or ended at the provider is recorded here; any other notification is a payment's."""
        gateway = self.agreement_gateways.get(provider)
        notice = gateway.agreement_notification(body, headers) if gateway is not None else None
        if gateway is None or notice is None:
            return super().receive_notification(provider, body, headers)
        self.record_agreement_notice(provider, notice)
        payments = self.gateways.get(provider)
        if payments is None:
            raise NotFound("payment provider", provider)
        return payments.acknowledgement

    @command
    def record_agreement_notice(self, provider: str, notice: AgreementNotification) -> AutoDebit:
        """Signed: the agreement asked last becomes active; unsigned: it is cancelled. Once each."""
        try:
            debit = self.auto_debit(order_of(notice.external_agreement_no))
        except (ValueError, NotFound):
            raise InvalidSignature(f"{notice.external_agreement_no!r} is not one of our agreements") from None
        if debit.provider != provider:
            raise InvalidSignature(f"agreement {notice.external_agreement_no} was asked of {debit.provider}")
        now = self.clock.now()
        if notice.signed:
            changed = debit.sign(notice.external_agreement_no, notice.agreement_no, now)
        else:
            ours = (
                notice.agreement_no == debit.agreement_no or notice.external_agreement_no == debit.external_agreement_no
            )
            changed = ours and debit.cancel(f"ended at {provider} by the customer", now)
        if changed:
            self.save(debit)
        return debit

    @command
    def begin_auto_debit_charge(self, order_id: UUID, day: date) -> Attempt | None:
        """The installment to charge on `day`, recorded (with its payment) before the provider is asked; None when
        nothing is to be charged: no active agreement, nothing due, paid by hand, or no retry that day."""
        debit = self.auto_debit(order_id)
        lease = self.lease(order_id)
        if debit.state is not AgreementState.ACTIVE or lease.status is not LeaseStatus.LEASING:
            return None
        due = debit.charge_due(lease.ledger_on(day), day)
        if due is None:
            return None
        now = self.clock.now()
        attempt = debit.attempt(due, day, now)
        payment = Payment.request(
            order_id,
            lease.customer_id,
            PaymentPurpose.INSTALLMENTS,
            due.amount,
            debit.provider,
            now,
            attempt.payment_id,
        )
        self.save(debit, payment)
        return attempt

    @command
    def record_auto_debit_charge(self, order_id: UUID, result: ChargeResult) -> Attempt:
        """The provider's answer to a charge: paid, the order takes the money (once per provider transaction);
        refused, the attempt fails with the provider's reason and the calendar says when to try again."""
        debit = self.auto_debit(order_id)
        payment_id = UUID(result.payment_id)
        payment = self.payment(payment_id)
        now = self.clock.now()
        if result.paid and result.paid_at is not None:
            debit.charge_succeeded(payment_id, result.transaction_id, now)
            took = payment.succeed(result.transaction_id, result.amount, result.paid_at, now)
            taken = (
                self._take_installments(order_id, result.transaction_id, result.amount, result.paid_at) if took else []
            )
            self.save(debit, payment, *taken)
        else:
            debit.charge_failed(payment_id, result.reason, now)
            payment.fail(result.reason, now)
            self.save(debit, payment)
        return debit.attempts[payment_id]

"""Money in: payments asked through a provider, and rent, checkout, buyout and balance taken."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from leasecore.application.base import command
from leasecore.application.end_of_term import EndOfTermCommands
from leasecore.errors import InvalidInput, NotFound, Refused
from leasecore.lease.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.money.payments import Payment, PaymentPurpose, PaymentStatus
from leasecore.ports import Acknowledgement, InvalidSignature, PaymentRequest, PaymentState
from leasecore.values import ZERO, money


class PaymentCommands(EndOfTermCommands):
    """Money in: payments asked through a provider, and rent, checkout, buyout and balance taken."""

    @command
    def pay_installments(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """A rent payment, once per provider transaction; paying what is overdue lifts the block."""
        self.save(*self._take_installments(order_id, ref, amount, paid_at))

    def _take_installments(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        if lease.status not in RENT_PAYABLE:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.pay_rent(ref, amount, paid_at, now)
        return [lease, *self._follow_overdue(lease, now)]

    @command
    def request_payment(
        self,
        order_id: UUID,
        purpose: PaymentPurpose,
        provider: str,
        amount: Decimal | None = None,
        payment_id: UUID | None = None,
    ) -> Payment:
        """A payment to collect through a provider. The platform prices checkout, buyout and damage
        itself; an installments payment may be partial, by default everything due now. Under a `payment_id` that
        exists already (another request under the same key saved it first) it is that payment."""
        if payment_id is not None and payment_id in self.repository:
            return self.payment(payment_id)
        lease = self.lease(order_id)
        now = self.clock.now()
        if purpose is not PaymentPurpose.INSTALLMENTS:
            amount = self._amount_due(lease, purpose, now)
        elif amount is None:
            lease.require(*RENT_PAYABLE, action="pay rent")
            amount = lease.owed_by(now)
            if amount == ZERO:
                raise Refused("nothing is due now; give an amount to pay ahead")
        elif amount <= ZERO or amount != money(amount):
            raise InvalidInput("amount", "must be an amount of money above 0, in fen")
        else:
            lease.require(*RENT_PAYABLE, action="pay rent")
            owed = lease.owed(now)
            if amount > owed:
                raise InvalidInput("amount", f"exceeds everything still owed on the order, {owed}")
        payment = Payment.request(order_id, lease.customer_id, purpose, amount, provider, now, payment_id)
        self.save(payment)
        return payment

    def collect(
        self,
        order_id: UUID,
        purpose: PaymentPurpose,
        *,
        provider: str | None = None,
        amount: Decimal | None = None,
        payment_id: UUID | None = None,
    ) -> PaymentRequest:
        """A payment recorded at the platform's price and asked of the chosen provider (the first configured
        by default); the answer carries what the app hands the provider. Asked again under the same
        `payment_id` (a form sent twice), it is the same payment asked again, never a second one."""
        provider = provider or next(iter(self.gateways), None)
        gateway = self.gateways.get(provider or "")
        if provider is None or gateway is None:
            raise InvalidInput("provider", f"choose one of: {', '.join(self.gateways) or 'none configured'}")
        if payment_id is not None and payment_id in self.repository:
            payment = self.payment(payment_id)
            if payment.order_id != order_id or payment.purpose is not purpose:
                raise InvalidInput("payment_id", "names another payment")
            gateway = self.gateways.get(payment.provider, gateway)
        else:
            payment = self.request_payment(order_id, purpose, provider, amount, payment_id)
        subject = f"leasecore order {str(order_id)[:8]}: {purpose.value}"
        return gateway.create_payment(str(payment.id), payment.amount, subject, self.notify_url(provider))

    def receive_notification(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """A provider's callback: verified (tampered or unsigned: `InvalidSignature`, nothing recorded), then the
        payment succeeds or fails once per provider transaction; answered as that provider expects."""
        gateway = self.gateways.get(provider)
        if gateway is None:
            raise NotFound("payment provider", provider)
        notification = gateway.verify_notification(body, headers)
        try:
            payment_id = UUID(notification.payment_id)
        except ValueError:
            raise InvalidSignature(f"{notification.payment_id!r} is not one of our payments") from None
        payment = self.payment(payment_id)
        if payment.provider != provider:
            raise InvalidSignature(f"payment {payment_id} was requested through {payment.provider}, not {provider}")
        if notification.succeeded:
            self.complete_payment(payment_id, notification.transaction_id, notification.amount, notification.paid_at)
        else:
            self.fail_payment(payment_id, f"closed by {provider} unpaid")
        return gateway.acknowledgement

    def settle_pending(self, payment_id: UUID) -> PaymentStatus:
        """A payment still pending (its notification lost, or not yet sent) settled by asking its provider: paid
        is recorded as the notification would have been, once per provider transaction; closed fails it; not paid
        leaves it pending. A payment already settled is not asked about again. Returns its status after."""
        payment = self.payment(payment_id)
        if payment.status is not PaymentStatus.PENDING:
            return payment.status
        gateway = self.gateways.get(payment.provider)
        if gateway is None:
            raise NotFound("payment provider", payment.provider)
        answer = gateway.query_payment(str(payment_id))
        if answer.state is PaymentState.PAID and answer.transaction_id and answer.amount is not None and answer.paid_at:
            payment = self.complete_payment(payment_id, answer.transaction_id, answer.amount, answer.paid_at)
        elif answer.state is PaymentState.CLOSED:
            payment = self.fail_payment(payment_id, f"closed by {payment.provider} unpaid")
        return payment.status

    def _amount_due(self, lease: Lease, purpose: PaymentPurpose, now: datetime) -> Decimal:
        """What the order owes now for checkout, buyout or damage; refused when there is nothing."""
        if purpose is PaymentPurpose.CHECKOUT:
            lease.require(LeaseStatus.PENDING_PAYMENT, action="pay the checkout")
            if not self.deposit(lease.id).is_secured:
                raise Refused(f'freeze the deposit first: POST /v1/orders/{lease.id}/payments {{"purpose": "preauth"}}')
            return lease.due_now
        if purpose is PaymentPurpose.BUYOUT:
            _, to_pay = self.buyout_quote(lease.id)
            if to_pay == ZERO:
                raise Refused("the deposit held covers the buyout: choose buyout at the end of term, nothing to pay")
            return to_pay
        lease.require(LeaseStatus.PENDING_SETTLEMENT, action="pay the balance")
        return lease.owed(now)

    @command
    def complete_payment(self, payment_id: UUID, transaction_id: str, amount: Decimal, paid_at: datetime) -> Payment:
        """The provider says the money moved: the order takes it (or refunds it if it no longer can),
        once per provider transaction, saved together with the payment."""
        payment = self.payment(payment_id)
        if not payment.succeed(transaction_id, amount, paid_at, self.clock.now()):
            return payment
        take = {
            PaymentPurpose.CHECKOUT: self._take_checkout,
            PaymentPurpose.INSTALLMENTS: self._take_installments,
            PaymentPurpose.BUYOUT: self._take_buyout,
            PaymentPurpose.DAMAGE: self._take_balance,
        }[payment.purpose]
        self.save(payment, *take(payment.order_id, transaction_id, amount, paid_at))
        return payment

    @command
    def fail_payment(self, payment_id: UUID, reason: str) -> Payment:
        payment = self.payment(payment_id)
        payment.fail(reason, self.clock.now())
        self.save(payment)
        return payment

"""Charging rent under auto-debit agreements, run by the daily job's scheduler for each business day.

For each order with an active agreement the application decides what to charge that day (the due date, then days
1, 3 and 7 after the first failure; nothing once paid by hand or cancelled) and records the attempt with its
payment before the provider is asked: the payment's id, derived from (order, installment, attempt), is the
provider's `out_trade_no`, which the provider charges at most once. The provider's synchronous answer is then
recorded. A process that stopped in between leaves the attempt in doubt; the next run asks the provider about that
trade first and records what it says, or, when the provider never saw it, sends the same trade again (unless the
agreement was cancelled meanwhile: then the attempt fails, never charged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import projections.auto_debits
from leasecore.application import LeaseApplication
from leasecore.money.auto_debit import Attempt, AutoDebit
from leasecore.ports import AgreementGateway, ChargeResult, PaymentState
from projections.store import ViewStore

log = logging.getLogger(__name__)


@dataclass
class ChargeRun:
    """What one day's charging did: the attempts settled, and the orders whose provider could not answer."""

    day: date
    paid: list[UUID] = field(default_factory=list)
    failed: list[UUID] = field(default_factory=list)
    in_doubt: list[UUID] = field(default_factory=list)


class AutoDebitCharger:
    """Charges the installments due under active agreements, each attempt exactly once at the provider."""

    def __init__(self, app: LeaseApplication, views: ViewStore) -> None:
        self.app, self.views = app, views

    def charge(self, day: date) -> ChargeRun:
        """Every active agreement's charge of `day`; one order's trouble does not hold up the others."""
        run = ChargeRun(day)
        for order_id in projections.auto_debits.orders_to_charge(self.views):
            try:
                self.charge_order(order_id, day, run)
            except Exception as error:
                log.warning("auto-debit of order %s on %s: %s", order_id, day, error)
                run.in_doubt.append(order_id)
        return run

    def charge_order(self, order_id: UUID, day: date, run: ChargeRun) -> None:
        debit = self.app.auto_debit(order_id)
        gateway = self.app.agreement_gateway(debit.provider)
        for doubtful in debit.in_doubt():
            self._settle_in_doubt(order_id, debit, doubtful, gateway, run)
        attempt = self.app.begin_auto_debit_charge(order_id, day)
        if attempt is not None:
            self._send(order_id, self.app.auto_debit(order_id), attempt, gateway, run)

    def _settle_in_doubt(
        self, order_id: UUID, debit: AutoDebit, attempt: Attempt, gateway: AgreementGateway, run: ChargeRun
    ) -> None:
        payments = self.app.gateways[debit.provider]
        answer = payments.query_payment(str(attempt.payment_id))
        if answer.state is PaymentState.PAID and answer.transaction_id and answer.amount and answer.paid_at:
            result = ChargeResult(str(attempt.payment_id), True, answer.amount, answer.transaction_id, answer.paid_at)
            self._record(order_id, result, run)
        elif answer.state is PaymentState.CLOSED:
            reason = f"closed by {debit.provider} unpaid"
            self._record(order_id, ChargeResult(str(attempt.payment_id), False, attempt.amount, reason=reason), run)
        elif not debit.is_active:
            reason = (
                f"the agreement was cancelled ({debit.cancelled_reason}) before the charge reached {debit.provider}"
            )
            self._record(order_id, ChargeResult(str(attempt.payment_id), False, attempt.amount, reason=reason), run)
        else:
            self._send(order_id, debit, attempt, gateway, run)

    def _send(
        self, order_id: UUID, debit: AutoDebit, attempt: Attempt, gateway: AgreementGateway, run: ChargeRun
    ) -> None:
        subject = f"leasecore order {str(order_id)[:8]}: rent {attempt.seq}"
        result = gateway.charge_agreement(debit.agreement_no, str(attempt.payment_id), attempt.amount, subject)
        self._record(order_id, result, run)

    def _record(self, order_id: UUID, result: ChargeResult, run: ChargeRun) -> None:
        attempt = self.app.record_auto_debit_charge(order_id, result)
        (run.paid if result.paid else run.failed).append(attempt.payment_id)


def cancel(app: LeaseApplication, order_id: UUID, reason: str) -> AutoDebit:
    """The agreement cancelled here first, so nothing more is charged from now on, then ended at the provider; a
    provider that cannot be reached is logged and changes nothing here (a charge is never asked again)."""
    before = app.auto_debit(order_id)
    debit = app.cancel_auto_debit(order_id, reason)
    if before.is_active and before.agreement_no:
        try:
            app.agreement_gateway(debit.provider).unsign_agreement(before.agreement_no)
        except Exception as error:
            log.warning("ending agreement %s at %s failed: %s", before.agreement_no, debit.provider, error)
    return debit

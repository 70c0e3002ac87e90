"""The sandbox provider's daily bill, made from its own records, Beijing time (SandboxPayments.daily_bill)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal as D

from adapters.china_time import SHANGHAI
from adapters.payments.sandbox import SandboxPayments
from leasecore.clock import SettableClock
from leasecore.ports import BillLine, RecordKind

LATE = datetime(2026, 1, 30, 23, 59, 30, tzinfo=SHANGHAI)


def test_payments_paid_and_refunds_accepted_are_billed_on_their_own_beijing_day() -> None:
    clock = SettableClock(LATE)
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: None)
    for payment_id in ("paid", "closed", "pending"):
        sandbox.create_payment(payment_id, D("100.00"), "rent", "https://leasecore.test/notify")
    sandbox.settle_unnotified("paid", "success")
    sandbox.settle_unnotified("closed", "fail")
    clock.set(LATE + timedelta(minutes=1))
    assert sandbox.refund("paid", "rf-1", D("40.00")).accepted
    assert not sandbox.refund("paid", "rf-2", D("90.00")).accepted

    trade_no = sandbox.payment("paid").trade_no
    assert sandbox.daily_bill(date(2026, 1, 30)) == [BillLine(RecordKind.PAYMENT, "paid", D("100.00"), trade_no, LATE)]
    assert [(line.kind, line.reference, line.amount) for line in sandbox.daily_bill(date(2026, 1, 31))] == [
        (RecordKind.REFUND, "rf-1", D("40.00"))
    ]

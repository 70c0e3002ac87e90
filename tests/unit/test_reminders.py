"""When the daily job runs and what a reminder says: the billing document's `daily_job_at` and `remind_before_days`,
and reminders carrying what is actually due or overdue with its late fees, never the whole schedule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from uuid import UUID

from leasecore.lease.ledger import LateFeeRule, Receipt, assess
from leasecore.lease.reminders import Notice, Reminder, ReminderKind, collection_notice, due_notices
from leasecore.lease.schedule import Installment

ORDER = UUID("12345678-1234-5678-1234-567812345678")
RULE = LateFeeRule(3, D("0.001"), D("0.00"), D("0.20"))
SCHEDULE = tuple(Installment(seq, date(2026, seq, 28), D("349.92"), D("0.00")) for seq in range(1, 7))
CHECKOUT = Receipt("checkout", D("349.92"), datetime(2026, 1, 28, tzinfo=UTC))


def test_a_collection_reminder_carries_the_overdue_installment_and_its_fee_not_the_whole_schedule():
    ledger = assess(SCHEDULE, [CHECKOUT], RULE, date(2026, 3, 9))
    assert ledger.owed > D("1700")  # five installments remain
    notice = collection_notice(ledger, "sms")
    assert notice == Notice(ReminderKind.COLLECTION_SMS, 2, date(2026, 2, 28), D("352.02"), D("2.10"), 6)
    assert notice.text(ORDER) == (
        "[leasecore] Order 12345678: 352.02 CNY is overdue by 6 day(s), late fees of 2.10 CNY included. "
        "Please pay in the app to stop late fees."
    )


def test_a_collection_reminder_adds_up_every_overdue_installment_less_what_was_paid():
    ledger = assess(
        SCHEDULE, [CHECKOUT, Receipt("part", D("100.00"), datetime(2026, 3, 1, tzinfo=UTC))], RULE, date(2026, 4, 20)
    )
    notice = collection_notice(ledger, "call")
    assert notice is not None and (notice.kind, notice.seq, notice.days_overdue) == (
        ReminderKind.COLLECTION_CALL,
        2,
        48,
    )
    overdue = [b for b in ledger.balances if b.seq in (2, 3)]
    assert notice.amount == sum((b.owed for b in overdue), D(0))
    assert notice.late_fee == sum((b.late_fee - b.fee_paid for b in overdue), D(0))
    assert "our collections team will call you" in notice.text(ORDER)
    assert collection_notice(assess(SCHEDULE, [], RULE, date(2026, 1, 30)), "sms") is None


def test_a_due_reminder_names_the_installment_still_owing_that_falls_due_within_the_days_given():
    ahead = Receipt("ahead", D("49.92"), datetime(2026, 2, 20, tzinfo=UTC))
    ledger = assess(SCHEDULE, [CHECKOUT, ahead], RULE, date(2026, 2, 25))
    (notice,) = due_notices(ledger, date(2026, 2, 25), date(2026, 2, 28))
    assert (notice.kind, notice.seq, notice.amount, notice.late_fee) == (ReminderKind.DUE, 2, D("300.00"), D("0.00"))
    assert notice.text(ORDER) == (
        "[leasecore] Order 12345678: installment 2 of 300.00 CNY is due on 2026-02-28. "
        "Please pay in the app by then to avoid late fees."
    )
    assert due_notices(ledger, date(2026, 2, 24), date(2026, 2, 27)) == []
    all_of_it = Receipt("all", D("349.92"), datetime(2026, 2, 20, tzinfo=UTC))
    assert (
        due_notices(
            assess(SCHEDULE, [CHECKOUT, all_of_it], RULE, date(2026, 2, 25)), date(2026, 2, 25), date(2026, 2, 28)
        )
        == []
    )


def test_a_reminder_exists_once_per_order_installment_and_kind():
    notice = Notice(ReminderKind.DUE, 2, date(2026, 2, 28), D("349.92"), D("0.00"), 0)
    now = datetime(2026, 2, 25, tzinfo=UTC)
    first = Reminder.queue(ORDER, UUID(int=1), "13900000000", notice, now)
    again = Reminder.queue(ORDER, UUID(int=1), "13900000000", notice, now)
    other = Reminder.queue(ORDER, UUID(int=1), "13900000000", replace(notice, kind=ReminderKind.COLLECTION_SMS), now)
    assert first.id == again.id == Reminder.create_id(ORDER, 2, "due") != other.id
    assert [type(event) for event in first.collect_events()] == [Reminder.Queued]
    assert (first.phone, first.amount, first.text) == ("13900000000", D("349.92"), notice.text(ORDER))

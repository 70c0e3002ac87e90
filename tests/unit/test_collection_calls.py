"""Collection calls (催收电话) recorded on a lease: the outcome, notes and who called, a promise to pay with its day,
only while the order pays rent, and nothing it owes changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from leasecore.errors import InvalidInput, InvalidState
from leasecore.lease import CallOutcome, Lease
from leasecore.lease.reminders import ReminderKind, manual_notice
from tests.unit.test_lease import SIX_DAYS_LATE, overdue_six_days, placed


def test_a_call_is_a_lease_event_with_its_outcome_notes_and_who_called() -> None:
    lease = overdue_six_days()
    owed = lease.owed(SIX_DAYS_LATE)
    lease.record_call(CallOutcome.NO_ANSWER, "  rang twice  ", None, "ops-1", SIX_DAYS_LATE)
    lease.record_call(CallOutcome.PROMISED, "pays on Friday", date(2026, 3, 13), "ops-1", SIX_DAYS_LATE)

    missed, promised = lease.collect_events()
    assert isinstance(missed, Lease.CallRecorded) and isinstance(promised, Lease.CallRecorded)
    assert (missed.outcome, missed.notes, missed.promised_on, missed.staff) == (
        "no_answer",
        "rang twice",
        None,
        "ops-1",
    )
    assert (promised.outcome, promised.promised_on) == ("promised", date(2026, 3, 13))
    assert lease.calls_recorded == 2
    assert lease.owed(SIX_DAYS_LATE) == owed and lease.assessed(SIX_DAYS_LATE).balances[1].late_fee == D("1.20")


def test_a_promise_names_a_day_from_today_and_nothing_else_names_one() -> None:
    lease = overdue_six_days()
    for outcome, day, field in (
        (CallOutcome.PROMISED, None, "promised_on"),
        (CallOutcome.PROMISED, date(2026, 3, 8), "promised_on"),
        (CallOutcome.REACHED, date(2026, 3, 13), "promised_on"),
    ):
        with pytest.raises(InvalidInput) as refused:
            lease.record_call(outcome, "", day, "ops-1", SIX_DAYS_LATE)
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as long_notes:
        lease.record_call(CallOutcome.REACHED, "x" * 501, None, "ops-1", SIX_DAYS_LATE)
    assert long_notes.value.field == "notes"
    lease.record_call(CallOutcome.PROMISED, "", date(2026, 3, 9), "ops-1", SIX_DAYS_LATE)
    assert [type(event) for event in lease.collect_events()] == [Lease.CallRecorded]


def test_a_call_is_recorded_only_while_the_order_pays_rent() -> None:
    lease = placed()
    with pytest.raises(InvalidState, match="record a collection call"):
        lease.record_call(CallOutcome.REACHED, "", None, "ops-1", SIX_DAYS_LATE)


def test_a_reminder_sent_by_hand_says_what_is_overdue_about_the_oldest_installment() -> None:
    lease = overdue_six_days()
    notice = manual_notice(lease.assessed(SIX_DAYS_LATE))
    assert notice is not None
    assert (notice.kind, notice.seq, notice.amount, notice.late_fee, notice.days_overdue) == (
        ReminderKind.MANUAL,
        2,
        D("201.20"),
        D("1.20"),
        6,
    )
    assert notice.text(lease.id).endswith("Please pay in the app, or reply if you need help.")
    assert manual_notice(lease.assessed(lease.placed_at)) is None

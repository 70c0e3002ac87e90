"""The auto-debit agreement: its retry calendar (the due date, then days 1, 3 and 7 after the first failure),
what stops a charge, and attempt ids that make a charge asked twice the same trade."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.errors import InvalidState
from leasecore.lease.ledger import Balance, Ledger
from leasecore.money.auto_debit import (
    AgreementState,
    AttemptState,
    AutoDebit,
    ChargeDue,
    attempt_payment_id,
    external_agreement_no,
    order_of,
)

NOW = datetime(2026, 2, 1, 2, 0, tzinfo=UTC)
ORDER = UUID("5b0c2a8e-3f5d-4b7e-9c1a-2d3e4f5a6b7c")
DUE = date(2026, 2, 28)


def ledger(*balances: Balance, as_of: date = DUE) -> Ledger:
    return Ledger(as_of, balances)


def unpaid(seq: int = 2, due: date = DUE, rent: str = "200.00") -> Balance:
    return Balance(seq, due, D(rent), D("0.00"))


def paid(seq: int = 2, due: date = DUE) -> Balance:
    return Balance(seq, due, D("200.00"), D("0.00"), rent_paid=D("200.00"))


def signed(order_id: UUID = ORDER) -> AutoDebit:
    debit = AutoDebit.open(order_id, uuid4(), NOW)
    debit.request_signing("alipay", NOW)
    assert debit.sign(debit.external_agreement_no, "20265228000000001234", NOW)
    return debit


def charge(debit: AutoDebit, day: date, outcome: str) -> ChargeDue | None:
    """The scheduler's run of one day: what it charged, failed or succeeded as `outcome` says."""
    due = debit.charge_due(ledger(unpaid()), day)
    if due is not None:
        attempt = debit.attempt(due, day, NOW)
        if outcome == "fail":
            debit.charge_failed(attempt.payment_id, "ACQ.BUYER_BALANCE_NOT_ENOUGH: 余额不足", NOW)
        else:
            debit.charge_succeeded(attempt.payment_id, f"trade-{attempt.number}", NOW)
    return due


def test_an_agreement_is_asked_signed_and_cancelled_as_its_events_say() -> None:
    debit = signed()
    assert debit.cancel("the customer turned it off", NOW)
    assert not debit.cancel("again", NOW)

    assert [type(e) for e in debit.collect_events()] == [
        AutoDebit.Opened,
        AutoDebit.SigningRequested,
        AutoDebit.Signed,
        AutoDebit.Cancelled,
    ]
    assert (debit.state, debit.cancelled_reason) == (AgreementState.CANCELLED, "the customer turned it off")


def test_a_failed_charge_is_retried_on_days_1_3_and_7_after_the_first_failure_then_no_more() -> None:
    debit = signed()
    charged = [day for offset in range(15) if charge(debit, (day := DUE + timedelta(days=offset)), "fail")]

    assert charged == [DUE, DUE + timedelta(days=1), DUE + timedelta(days=3), DUE + timedelta(days=7)]
    assert [(a.number, a.state, a.reason[:28]) for a in debit.attempts_of(2)] == [
        (n, AttemptState.FAILED, "ACQ.BUYER_BALANCE_NOT_ENOUGH") for n in (1, 2, 3, 4)
    ]


def test_nothing_is_charged_before_the_due_date_and_a_success_ends_the_retries() -> None:
    debit = signed()
    assert charge(debit, DUE - timedelta(days=1), "fail") is None
    assert charge(debit, DUE, "fail") == ChargeDue(2, 1, D("200.00"))
    assert charge(debit, DUE + timedelta(days=1), "success") == ChargeDue(2, 2, D("200.00"))

    assert all(charge(debit, DUE + timedelta(days=n), "fail") is None for n in range(2, 10))
    assert [a.state for a in debit.attempts_of(2)] == [AttemptState.FAILED, AttemptState.SUCCEEDED]


def test_an_installment_paid_by_hand_is_not_charged() -> None:
    debit = signed()
    charge(debit, DUE, "fail")

    assert debit.charge_due(ledger(paid()), DUE + timedelta(days=1)) is None


def test_an_agreement_not_signed_or_cancelled_is_not_charged() -> None:
    asked = AutoDebit.open(ORDER, uuid4(), NOW)
    asked.request_signing("alipay", NOW)
    cancelled = signed()
    cancelled.cancel("unsigned at the provider", NOW)

    assert asked.charge_due(ledger(unpaid()), DUE) is None
    assert cancelled.charge_due(ledger(unpaid()), DUE) is None
    with pytest.raises(InvalidState):
        cancelled.attempt(ChargeDue(2, 1, D("200.00")), DUE, NOW)


def test_an_attempt_in_doubt_holds_back_every_other_charge_until_its_outcome_is_known() -> None:
    debit = signed()
    debit.attempt(debit.charge_due(ledger(unpaid()), DUE) or ChargeDue(0, 0, D(0)), DUE, NOW)

    assert [a.number for a in debit.in_doubt()] == [1]
    assert debit.charge_due(ledger(unpaid(), unpaid(3, DUE)), DUE) is None


def test_the_oldest_unpaid_installment_is_charged_first_for_what_it_still_owes() -> None:
    debit = signed()
    partly = Balance(2, DUE, D("200.00"), D("0.00"), rent_paid=D("50.00"), late_fee=D("0.40"))

    assert debit.charge_due(
        ledger(unpaid(3, DUE + timedelta(days=28)), partly, as_of=DUE + timedelta(days=28)), DUE + timedelta(days=28)
    ) == ChargeDue(2, 1, D("150.40"))


def test_an_attempt_asked_twice_is_one_attempt_and_one_trade() -> None:
    debit = signed()
    due = debit.charge_due(ledger(unpaid()), DUE)
    assert due is not None
    first, again = debit.attempt(due, DUE, NOW), debit.attempt(due, DUE, NOW)

    assert first == again and len(debit.attempts) == 1
    assert first.payment_id == attempt_payment_id(ORDER, 2, 1) == due.payment_id(ORDER)
    assert debit.charge_succeeded(first.payment_id, "trade-1", NOW)
    assert not debit.charge_succeeded(first.payment_id, "trade-1", NOW)
    assert not debit.charge_failed(first.payment_id, "late refusal", NOW)


@given(st.uuids(), st.integers(1, 20), st.integers(1, 4), st.uuids(), st.integers(1, 20), st.integers(1, 4))
def test_attempt_ids_differ_exactly_when_order_installment_or_number_differ(
    order: UUID, seq: int, number: int, other: UUID, other_seq: int, other_number: int
) -> None:
    same = (order, seq, number) == (other, other_seq, other_number)
    assert (attempt_payment_id(order, seq, number) == attempt_payment_id(other, other_seq, other_number)) is same


@given(st.uuids(), st.integers(1, 99))
def test_an_external_agreement_number_names_its_order_in_at_most_32_characters(order: UUID, signing: int) -> None:
    number = external_agreement_no(order, signing)
    assert len(number) <= 32 and number.isalnum()
    assert order_of(number) == order


def test_signing_again_after_a_cancel_gets_a_new_number_and_a_stale_signature_is_ignored() -> None:
    debit = signed()
    first = debit.external_agreement_no
    debit.cancel("the customer turned it off", NOW)
    debit.request_signing("alipay", NOW)

    assert debit.external_agreement_no != first
    assert not debit.sign(first, "stale", NOW)
    assert debit.state is AgreementState.SIGNING
    with pytest.raises(ValueError):
        order_of("not-ours")


@given(st.lists(st.booleans(), min_size=20, max_size=20))
def test_whatever_the_outcomes_charges_fall_only_on_the_calendar_and_stop_at_a_success(outcomes: list[bool]) -> None:
    """Day n's charge succeeds as `outcomes[n]` says: charges fall on the due date and days 1, 3 and 7 after it,
    at most four, none after the first success."""
    debit = signed()
    charged: list[int] = []
    for offset, paid_then in enumerate(outcomes):
        if charge(debit, DUE + timedelta(days=offset), "success" if paid_then else "fail") is not None:
            charged.append(offset)
    expected = [0, 1, 3, 7]
    first_success = next((n for n, day in enumerate(expected) if outcomes[day]), len(expected) - 1)
    assert charged == expected[: first_success + 1]

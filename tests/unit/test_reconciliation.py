"""A provider's bill set against the platform's records (leasecore.money.reconciliation)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from leasecore.money.reconciliation import Difference, DifferenceKind, Record, RecordStatus, reconcile
from leasecore.ports import BillLine, RecordKind

PAYMENT = Record(RecordKind.PAYMENT, "p-1", "alipay", D("300.00"), provider_reference="2026120122001")
REFUND = Record(RecordKind.REFUND, "rf-1", "alipay", D("100.00"))


def line_of(record: Record) -> BillLine:
    return BillLine(record.kind, record.reference, record.amount, record.provider_reference)


amounts = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
records = st.lists(
    st.builds(
        Record,
        kind=st.sampled_from(RecordKind),
        reference=st.text("0123456789abcdef", min_size=1, max_size=8),
        provider=st.just("alipay"),
        amount=amounts,
    ),
    unique_by=lambda record: record.key,
    min_size=1,
    max_size=12,
)


def test_a_bill_that_shows_what_was_recorded_agrees() -> None:
    found = reconcile([PAYMENT, REFUND], [line_of(PAYMENT), line_of(REFUND)])
    assert (found.compared, found.differences) == (2, ())


def test_money_the_provider_took_that_the_platform_never_recorded_is_listed_first() -> None:
    stray = BillLine(RecordKind.PAYMENT, "p-9", D("50.00"), "2026120122009")
    found = reconcile([PAYMENT], [stray])
    assert found.differences == (
        Difference(DifferenceKind.MISSING_ON_PLATFORM, RecordKind.PAYMENT, "p-9", None, D("50.00"), None,
                   "2026120122009"),
        Difference(DifferenceKind.MISSING_AT_PROVIDER, RecordKind.PAYMENT, "p-1", D("300.00"), None,
                   RecordStatus.MOVED, "2026120122001"),
    )  # fmt: skip


def test_a_payment_still_pending_that_the_bill_shows_paid_differs_in_status() -> None:
    pending = replace(PAYMENT, status=RecordStatus.PENDING)
    found = reconcile([], [line_of(PAYMENT)], {pending.key: pending})
    assert [(d.kind, d.platform_status) for d in found.differences] == [
        (DifferenceKind.STATUS_DIFFERS, RecordStatus.PENDING)
    ]


def test_a_payment_of_another_day_on_this_days_bill_agrees() -> None:
    assert reconcile([], [line_of(PAYMENT)], {PAYMENT.key: PAYMENT}).differences == ()


def test_a_refund_refused_or_pending_and_absent_from_the_bill_is_no_difference() -> None:
    assert reconcile([replace(REFUND, status=RecordStatus.FAILED)], []).differences == ()


def test_a_line_the_bill_lists_twice_shows_as_a_different_amount() -> None:
    found = reconcile([PAYMENT], [line_of(PAYMENT), line_of(PAYMENT)])
    assert [(d.kind, d.provider_amount) for d in found.differences] == [(DifferenceKind.AMOUNT_DIFFERS, D("600.00"))]


def test_the_same_reference_as_a_payment_and_as_a_refund_are_two_movements() -> None:
    refund = replace(PAYMENT, kind=RecordKind.REFUND)
    assert reconcile([PAYMENT], [line_of(refund)]).compared == 2


@given(records)
def test_records_against_a_bill_made_from_them_agree(recorded: list[Record]) -> None:
    found = reconcile(recorded, [line_of(record) for record in reversed(recorded)])
    assert (found.compared, found.differences) == (len(recorded), ())


@given(records, st.data())
def test_a_line_missing_from_the_bill_is_exactly_that_difference(recorded: list[Record], data: st.DataObject) -> None:
    lost = data.draw(st.sampled_from(recorded))
    bill = [line_of(record) for record in recorded if record is not lost]
    assert [(d.kind, d.record_kind, d.reference, d.platform_amount) for d in reconcile(recorded, bill).differences] == [
        (DifferenceKind.MISSING_AT_PROVIDER, lost.kind, lost.reference, lost.amount)
    ]


@given(records, st.data())
def test_a_record_the_platform_lacks_is_exactly_that_difference(recorded: list[Record], data: st.DataObject) -> None:
    lost = data.draw(st.sampled_from(recorded))
    kept = [record for record in recorded if record is not lost]
    found = reconcile(kept, [line_of(record) for record in recorded]).differences
    assert [(d.kind, d.reference, d.provider_amount) for d in found] == [
        (DifferenceKind.MISSING_ON_PLATFORM, lost.reference, lost.amount)
    ]


@given(records, st.data(), amounts)
def test_an_amount_altered_is_exactly_that_difference(recorded: list[Record], data: st.DataObject, altered: D) -> None:
    changed = data.draw(st.sampled_from(recorded))
    bill = [line_of(replace(r, amount=altered) if r is changed else r) for r in recorded]
    expected = [] if altered == changed.amount else [(DifferenceKind.AMOUNT_DIFFERS, changed.reference, altered)]
    assert [(d.kind, d.reference, d.provider_amount) for d in reconcile(recorded, bill).differences] == expected

"""Refunds go back along the way the money came in (leasecore.money.refunds)."""

from __future__ import annotations

from decimal import Decimal as D
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from leasecore.money.refunds import Refundable, allocate, refund_id

FIRST, SECOND, THIRD = UUID(int=1), UUID(int=2), UUID(int=3)
PAYMENTS = [
    Refundable(FIRST, "tx-1", 1, D("700.00")),
    Refundable(SECOND, "tx-2", 2, D("200.00")),
    Refundable(THIRD, "tx-3", 3, D("0.00")),
]


def test_a_refund_goes_back_to_the_payments_in_the_order_they_were_asked_for() -> None:
    assert allocate(PAYMENTS, D("800.00")) == [(FIRST, D("700.00")), (SECOND, D("100.00"))]


def test_credit_refunded_at_settlement_goes_back_to_the_newest_payment_first() -> None:
    assert allocate(PAYMENTS, D("250.00"), newest_first=True) == [(SECOND, D("200.00")), (FIRST, D("50.00"))]


def test_a_stray_payment_goes_back_to_the_transaction_it_came_from() -> None:
    assert allocate(PAYMENTS, D("200.00"), prefer="tx-2") == [(SECOND, D("200.00"))]


def test_what_no_payment_can_take_back_is_left_unmatched() -> None:
    assert allocate(PAYMENTS, D("1000.00")) == [(FIRST, D("700.00")), (SECOND, D("200.00")), (None, D("100.00"))]
    assert allocate([], D("5.00")) == [(None, D("5.00"))]


def test_a_payment_with_nothing_left_to_refund_takes_nothing() -> None:
    assert all(payment_id != THIRD for payment_id, _ in allocate(PAYMENTS, D("900.00")))


def test_a_refund_id_is_the_same_whenever_its_event_is_processed() -> None:
    assert refund_id("order/7", 0) == refund_id("order/7", 0) != refund_id("order/7", 1)


amounts = st.decimals(min_value=D("0.01"), max_value=D("10000.00"), places=2)


@given(st.lists(amounts, max_size=6), amounts, st.booleans())
def test_the_parts_add_up_to_the_refund_and_no_payment_gives_back_more_than_it_has(
    lefts: list[D], amount: D, newest_first: bool
) -> None:
    payments = [Refundable(UUID(int=seq), f"tx-{seq}", seq, left) for seq, left in enumerate(lefts, 1)]
    parts = allocate(payments, amount, newest_first=newest_first)
    assert sum(part for _, part in parts) == amount
    by_id = {payment.payment_id: payment.left for payment in payments}
    assert all(part <= by_id[payment_id] for payment_id, part in parts if payment_id is not None)
    assert all(part > 0 for _, part in parts)

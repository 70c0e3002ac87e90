from datetime import UTC, datetime
from decimal import Decimal as D
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.errors import InvalidInput, InvalidState
from leasecore.money.deposit import Deposit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_part_not_waived_is_paid_once_in_full():
    deposit = Deposit.require(uuid4(), D("3000.00"), D("2500.00"), NOW)
    with pytest.raises(InvalidInput, match="500.00"):
        deposit.pay(D("3000.00"), "p1", NOW)
    deposit.pay(D("500.00"), "p1", NOW)
    with pytest.raises(InvalidState, match="paid"):
        deposit.pay(D("500.00"), "p2", NOW)
    assert [type(e) for e in deposit.collect_events()] == [Deposit.Required, Deposit.Paid]


def test_deductions_never_exceed_what_is_held_and_the_rest_is_refunded():
    deposit = Deposit.require(uuid4(), D("3000.00"), D("0.00"), NOW)
    deposit.pay(D("3000.00"), "p1", NOW)
    deposit.deduct(D("1200.00"), "damage", NOW)
    with pytest.raises(InvalidInput):
        deposit.deduct(D("1800.01"), "damage", NOW)

    assert deposit.refund("settled", NOW) == D("1800.00")
    assert deposit.refund("settled", NOW) == D("0")
    assert (deposit.paid, deposit.deducted, deposit.refunded, deposit.held) == (
        D("3000.00"),
        D("1200.00"),
        D("1800.00"),
        D("0.00"),
    )


def test_a_waiver_larger_than_the_deposit_is_refused():
    with pytest.raises(InvalidInput, match="waiver"):
        Deposit.require(uuid4(), D("100.00"), D("100.01"), NOW)


@given(st.lists(st.decimals(min_value=D("-10"), max_value=D("2000"), places=2), max_size=10))
def test_nothing_ever_goes_negative(deductions):
    deposit = Deposit.require(uuid4(), D("3000.00"), D("1000.00"), NOW)
    deposit.pay(D("2000.00"), "p", NOW)
    for amount in deductions:
        try:
            deposit.deduct(amount, "damage", NOW)
        except InvalidInput:
            pass
        assert deposit.held >= 0 and deposit.refunded + deposit.deducted <= deposit.paid
    deposit.refund("settled", NOW)
    assert deposit.held == 0 and deposit.refunded + deposit.deducted == deposit.paid


@given(
    st.decimals(min_value=D("0.00"), max_value=D("9000.00"), places=2),
    st.decimals(min_value=D("0.00"), max_value=D("9000.00"), places=2),
)
def test_the_deposit_held_counts_toward_a_price_never_more_than_it_holds(paid: D, price: D):
    deposit = Deposit.require(uuid4(), paid, D("0.00"), NOW)
    deposit.pay(paid, "p1", NOW)
    taken = deposit.toward(price)
    assert taken == min(paid, price)
    assert price - taken == max(D("0.00"), price - paid)

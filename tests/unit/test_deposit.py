from datetime import UTC, datetime
from decimal import Decimal as D
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.errors import InvalidInput, InvalidState
from leasecore.money.deposit import Deposit, FrozenFunds

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


def preauth_deposit(amount: str = "3000.00", waived: str = "1000.00") -> Deposit:
    deposit = Deposit.require(uuid4(), D(amount), D(waived), NOW)
    deposit.require_freeze(NOW)
    return deposit


def frozen(deposit: Deposit, fund: str, credit: str = "0.00", auth_no: str = "A1", provider: str = "alipay") -> bool:
    ref = deposit.freeze_requests.get(provider) or deposit.request_freeze(provider, NOW)
    amount = D(fund) + D(credit)
    return deposit.record_freeze(FrozenFunds(provider, ref, auth_no, "OP" + auth_no, amount, D(fund), D(credit)), NOW)


def test_a_preauthorized_deposit_is_frozen_not_paid():
    deposit = preauth_deposit()
    assert (deposit.due, deposit.to_freeze, deposit.is_secured) == (D("0.00"), D("2000.00"), False)
    deposit.pay(D("0.00"), "checkout", NOW)
    notified = FrozenFunds(
        "alipay", deposit.request_freeze("alipay", NOW), "A1", "OP1", D("2000.00"), D("1500.00"), D("500.00")
    )
    assert deposit.record_freeze(notified, NOW)
    assert not deposit.record_freeze(notified, NOW)
    assert (deposit.is_secured, deposit.frozen, deposit.waived_by_provider, deposit.takeable) == (
        True,
        D("1500.00"),
        D("500.00"),
        D("1500.00"),
    )
    with pytest.raises(InvalidState, match="frozen"):
        deposit.request_freeze("alipay", NOW)


def test_a_deposit_the_waiver_covers_needs_no_freeze():
    deposit = preauth_deposit(waived="3000.00")
    assert (deposit.preauth, deposit.is_secured) == (False, True)


def test_a_freeze_of_another_amount_or_a_second_one_is_unfrozen_at_once():
    deposit = preauth_deposit()
    ref = deposit.request_freeze("alipay", NOW)
    deposit.request_freeze("wechatpay", NOW)
    wrong = FrozenFunds("alipay", ref, "A0", "OP0", D("1999.00"), D("1999.00"), D("0.00"))
    assert deposit.record_freeze(wrong, NOW)
    assert not deposit.is_secured and deposit.unfrozen == D("1999.00")
    assert frozen(deposit, "2000.00", auth_no="A1") and deposit.is_secured
    assert frozen(deposit, "2000.00", auth_no="A2", provider="wechatpay")
    assert (deposit.frozen, deposit.unfrozen, deposit.still_frozen) == (D("5999.00"), D("3999.00"), D("2000.00"))


def test_damage_and_arrears_are_taken_up_to_the_money_frozen_and_the_rest_unfrozen():
    deposit = preauth_deposit()
    frozen(deposit, "1500.00", "500.00")
    assert deposit.take_from_freeze(D("400.00"), "damage", NOW) == D("400.00")
    assert deposit.take_from_freeze(D("2000.00"), "arrears", NOW) == D("1100.00")
    assert deposit.take_from_freeze(D("1.00"), "arrears", NOW) == D("0.00")
    assert deposit.unfreeze_all("settled", NOW) == D("0.00")
    takes = deposit.pending_operations
    assert [(op.amount, op.completes) for op in takes] == [(D("400.00"), False), (D("1100.00"), True)]
    assert deposit.confirm_operation(takes[0].ref, "T1", NOW)
    assert not deposit.confirm_operation(takes[0].ref, "T1", NOW)
    with pytest.raises(InvalidInput, match="ref"):
        deposit.confirm_operation("ft-unknown", "T9", NOW)


@given(st.lists(st.decimals(min_value=D("-10"), max_value=D("2500"), places=2), max_size=6), st.booleans())
def test_frozen_money_is_taken_unfrozen_or_still_frozen_never_more(owed_amounts, end):
    deposit = preauth_deposit()
    frozen(deposit, "1800.00", "200.00")
    for owed in owed_amounts:
        deposit.take_from_freeze(owed, "arrears", NOW)
        assert deposit.taken + deposit.unfrozen + deposit.still_frozen == deposit.frozen
        assert deposit.still_frozen >= 0
    if end:
        deposit.unfreeze_all("settled", NOW)
        assert deposit.still_frozen == 0 and deposit.taken + deposit.unfrozen == D("1800.00")

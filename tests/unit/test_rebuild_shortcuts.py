"""Shortcuts a rebuild takes give what the longer way gave: the ledger's money collected summed in one pass, and an
installment row left as it is when restamping it would change only its version."""

from datetime import date
from decimal import Decimal as D
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from leasecore.lease.ledger import Balance, Collected, Ledger
from leasecore.values import ZERO, total
from projections.installments import _Order

amounts = st.decimals(min_value=D("0.00"), max_value=D("5000.00"), places=2)
balances = st.builds(
    Balance,
    seq=st.integers(1, 24),
    due_date=st.just(date(2026, 3, 1)),
    rent=amounts,
    protection=amounts,
    rent_paid=amounts,
    protection_paid=amounts,
    late_fee=amounts,
    fee_paid=amounts,
    fee_waived=amounts,
    credited=amounts,
)
collected = st.builds(Collected, rent=amounts, protection=amounts, fees=amounts, credit=amounts)


@given(st.lists(balances, max_size=13), amounts, collected)
def test_money_collected_is_each_sum_of_the_balances_less_what_goodwill_paid(found, credit, goodwill):
    ledger = Ledger(as_of=date(2026, 4, 1), balances=tuple(found), credit=credit, goodwill=goodwill)
    summed = Collected(
        rent=total(b.rent_paid for b in found),
        protection=total(b.protection_paid for b in found),
        fees=total(b.fee_paid for b in found),
        credit=credit,
    )
    assert ledger.collected() == summed - goodwill
    assert [str(figure) for figure in _figures(ledger.collected())] == [
        str(figure) for figure in _figures(summed - goodwill)
    ]


def _figures(money: Collected) -> tuple[D, ...]:
    return money.rent, money.protection, money.fees, money.credit


stages = st.sampled_from([None, "sms", "call", "agency"])


@given(st.booleans(), stages, st.booleans(), stages, st.booleans(), amounts)
def test_a_row_is_stamped_exactly_when_restamping_it_changes_only_its_version(
    payable, stage, row_payable, row_stage, row_collectible, owed
):
    order = _Order(uuid4(), uuid4(), payable, stage)
    row = {
        "order_version": 3,
        "seq": 1,
        "owed": owed,
        "payable": row_payable,
        "collectible": row_collectible,
        "collection_stage": row_stage,
    }
    restamped = order.restamp(row, 4)
    assert order.stamped(row) == ({**restamped, "order_version": 3} == row)
    assert restamped["collectible"] == (payable and owed > ZERO)

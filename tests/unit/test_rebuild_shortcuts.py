"""Shortcuts a rebuild takes give what the longer way gave: the ledger's money collected summed in one pass, an
installment row left as it is when restamping it would change only its version, collection sums carried from the last
ledger, finance skipping a ledger that collected nothing new, days overdue found in one pass."""

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from leasecore.lease.ledger import Balance, Collected, Ledger
from leasecore.values import ZERO, total
from leasecore.values import money as rounded
from projections.collection_tasks import _sums, _sums_since
from projections.finance import _collected_as, _ledger_change
from projections.installments import _Order, installments_view
from projections.projection import blank

amounts = st.decimals(min_value=D("0.00"), max_value=D("5000.00"), places=2)
MONEY_FIELDS = ("rent", "protection", "rent_paid", "protection_paid", "late_fee", "fee_paid", "fee_waived", "credited")
balances = st.builds(
    Balance, seq=st.integers(1, 24), due_date=st.just(date(2026, 3, 1)), **dict.fromkeys(MONEY_FIELDS, amounts)
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


def test_an_installment_row_fills_every_column_as_blank_would():
    order = _Order(uuid4(), uuid4(), True, "sms")
    balance = Balance(3, date(2026, 3, 1), D("100.00"), D("5.00"), rent_paid=D("40.00"), late_fee=D("1.20"))
    row = order.row(balance, 7)
    assert list(row) == [column.name for column in installments_view.columns]
    assert row == blank(
        installments_view,
        order_id=order.order_id,
        seq=3,
        order_version=7,
        customer_id=order.customer_id,
        due_date=balance.due_date,
        rent=balance.rent,
        protection=balance.protection,
        amount=balance.amount,
        rent_paid=balance.rent_paid,
        protection_paid=balance.protection_paid,
        late_fee=balance.late_fee,
        fee_paid=balance.fee_paid,
        paid=balance.paid,
        owed=balance.owed,
        days_overdue=balance.days_overdue,
        status=balance.status.value,
        fee_waived=balance.fee_waived,
        credited=balance.credited,
        payable=True,
        collectible=balance.owed > ZERO,
        collection_stage="sms",
    )


overdue_days = st.integers(0, 90)
dated_balances = st.builds(
    Balance,
    seq=st.integers(1, 24),
    due_date=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    days_overdue=overdue_days,
    overdue_from=st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    **dict.fromkeys(MONEY_FIELDS, amounts),
)


@st.composite
def later_balances(draw, before, kinds=("same", "copy", "fees", "one", "other")):
    """Balances after `before`: each the very one, a copy, one with fees accrued or another figure changed, or
    another, as a ledger continued gives them; now and then one or two more."""
    chosen = []
    for balance in before:
        kind = draw(st.sampled_from(kinds))
        if kind == "same":
            chosen.append(balance)
        elif kind == "copy":
            chosen.append(replace(balance))
        elif kind == "fees":
            chosen.append(replace(balance, late_fee=draw(amounts), days_overdue=draw(overdue_days)))
        elif kind == "one":
            field = draw(st.sampled_from(["rent_paid", "protection_paid", "fee_paid", "fee_waived", "credited"]))
            chosen.append(replace(balance, **{field: draw(amounts)}))
        else:
            chosen.append(draw(dated_balances))
    if draw(st.integers(0, 3)) == 0:
        chosen.extend(draw(st.lists(dated_balances, max_size=2)))
    return tuple(chosen)


@given(st.data(), st.lists(dated_balances, max_size=13))
def test_collection_sums_carried_from_the_last_balances_are_those_summed_afresh(data, before):
    after = data.draw(later_balances(before))
    carried = _sums_since(after, tuple(before), *_sums(before))
    afresh = _sums(after)
    assert [str(rounded(figure)) for figure in carried] == [str(rounded(figure)) for figure in afresh]


@settings(max_examples=300)
@given(st.data(), st.lists(dated_balances, max_size=6), amounts, collected)
def test_finance_books_nothing_for_a_ledger_that_collected_what_the_last_one_did(data, before, credit, goodwill):
    after = data.draw(later_balances(before, ("same", "copy", "fees", "one")))
    row = {name: ZERO for name in ("rent", "protection", "fees", "ledger_credit", "fees_waived", "goodwill_credit")}
    last = Ledger(as_of=date(2026, 4, 1), balances=tuple(before), credit=credit, goodwill=goodwill)
    _ledger_change(row, last)
    kept = dict(row)
    ledger = Ledger(as_of=date(2026, 4, 2), balances=after, credit=credit, goodwill=goodwill)
    if _collected_as((row, after, credit, goodwill), (row, last.balances, credit, goodwill)):
        change = _ledger_change(row, ledger)
        assert not any(change.values())
        assert {name: str(value) for name, value in row.items()} == {name: str(value) for name, value in kept.items()}


@given(st.lists(dated_balances, max_size=13))
def test_days_overdue_and_overdue_from_found_in_one_pass_are_those_of_their_definitions(found):
    ledger = Ledger(as_of=date(2026, 4, 1), balances=tuple(found))
    unpaid = [balance for balance in found if balance.owed > ZERO]
    days = max((balance.days_overdue for balance in unpaid), default=0)
    since = min((balance.overdue_from for balance in unpaid if balance.overdue_from), default=None)
    assert (ledger.days_overdue, ledger.overdue_from) == (days, since)

"""The rent ledger: oldest first, fees before rent, daily late fees in the billing timezone."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D
from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from leasecore.lease.ledger import InstallmentStatus, LateFeeRule, Receipt, assess
from leasecore.lease.schedule import Installment

RULE = LateFeeRule(grace_days=3, daily_rate=D("0.001"), fixed_per_day=D("0.00"), cap_share=D("0.20"))
SHANGHAI = timezone(timedelta(hours=8))
MARCH = Installment(1, date(2026, 3, 1), rent=D("200.00"))
APRIL = Installment(2, date(2026, 4, 1), rent=D("200.00"))


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_nothing_is_overdue_until_the_grace_days_have_passed():
    ledger = assess([MARCH], [], RULE, date(2026, 3, 4))

    (balance,) = ledger.balances
    assert (balance.days_overdue, balance.late_fee, balance.status) == (0, D("0"), InstallmentStatus.DUE)


def test_days_overdue_count_from_the_end_of_grace_and_each_day_accrues_its_fee():
    ledger = assess([MARCH], [], RULE, date(2026, 3, 10))

    (balance,) = ledger.balances
    assert balance.days_overdue == 6  # 10 March − (1 March + 3 grace days)
    assert balance.late_fee == D("1.20")  # 6 days × 200.00 × 0.001
    assert balance.status is InstallmentStatus.OVERDUE
    assert ledger.owed == D("201.20")


def test_a_partial_payment_pays_fees_first_and_lowers_the_fee_of_the_following_days():
    ledger = assess([MARCH], [Receipt("p1", D("100.00"), at(date(2026, 3, 7)))], RULE, date(2026, 3, 10))

    (balance,) = ledger.balances
    # 5, 6, 7 March on 200.00: 0.60 paid first; then 99.40 of rent; 8–10 March on 100.60: 0.10 a day.
    assert (balance.fee_paid, balance.rent_paid) == (D("0.60"), D("99.40"))
    assert balance.late_fee == D("0.90")
    assert balance.owed == D("100.90")


def test_fees_stop_once_the_rent_is_paid_and_are_capped_per_installment():
    paid = assess([MARCH], [Receipt("p1", D("200.60"), at(date(2026, 3, 7)))], RULE, date(2026, 6, 1))
    assert paid.balances[0].late_fee == D("0.60") and paid.owed == D("0.00") and paid.credit == D("0.00")
    assert paid.balances[0].status is InstallmentStatus.PAID

    capped = assess([MARCH], [], RULE, date(2027, 3, 1))
    assert capped.balances[0].late_fee == D("40.00")  # 20 % of 200.00


def test_each_days_fee_is_rounded_half_up_to_the_fen():
    small = Installment(1, date(2026, 3, 1), rent=D("5.00"))  # 0.005 a day → 0.01

    assert assess([small], [], RULE, date(2026, 3, 7)).balances[0].late_fee == D("0.03")


def test_the_fixed_fee_per_day_accrues_only_while_rent_is_unpaid():
    rule = LateFeeRule(3, D("0"), D("1.50"), D("1.00"))
    ledger = assess([MARCH], [Receipt("p", D("201.50"), at(date(2026, 3, 5)))], rule, date(2026, 3, 20))

    assert ledger.balances[0].late_fee == D("1.50") and ledger.owed == D("0.00")


def test_payments_go_to_the_oldest_installment_first_fees_before_rent_and_the_rest_ahead():
    receipt = Receipt("p1", D("250.00"), at(date(2026, 4, 8)))
    ledger = assess([MARCH, APRIL], [receipt], RULE, date(2026, 4, 8))

    march, april = ledger.balances
    # On 8 April March is 35 days overdue (7.00 of fees), April 4 days (0.80): each fee before its rent.
    assert (march.fee_paid, march.rent_paid, march.owed) == (D("7.00"), D("200.00"), D("0.00"))
    assert (april.fee_paid, april.rent_paid, april.owed) == (D("0.80"), D("42.20"), D("157.80"))


def test_more_than_the_whole_schedule_is_held_as_credit():
    ledger = assess([MARCH], [Receipt("p1", D("250.00"), at(date(2026, 2, 20)))], RULE, date(2026, 3, 1))

    assert ledger.credit == D("50.00") and ledger.owed == D("0.00")


def test_the_day_of_a_payment_is_its_day_in_the_billing_timezone():
    last_grace_day_late_evening = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    just_after_midnight = datetime(2026, 3, 4, 16, 30, tzinfo=UTC)  # 00:30 on 5 March

    on_time = assess([MARCH], [Receipt("a", D("200.00"), last_grace_day_late_evening)], RULE, date(2026, 3, 9))
    late = assess([MARCH], [Receipt("b", D("200.20"), just_after_midnight)], RULE, date(2026, 3, 9))

    assert on_time.balances[0].late_fee == D("0.00") and on_time.owed == D("0.00")
    assert late.balances[0].late_fee == D("0.20") and late.owed == D("0.00")


def test_a_payment_recorded_late_with_an_earlier_effective_time_counts_from_when_it_was_paid():
    early = Receipt("early", D("200.00"), at(date(2026, 3, 3)))
    later = Receipt("later", D("50.00"), at(date(2026, 3, 20)))

    for order in permutations([early, later]):
        ledger = assess([MARCH, APRIL], list(order), RULE, date(2026, 3, 25))
        assert ledger.fees == D("0.00")
        assert [b.rent_paid for b in ledger.balances] == [D("200.00"), D("50.00")]


amounts = st.decimals(min_value=D("0.01"), max_value=D("400.00"), places=2)
days = st.integers(min_value=0, max_value=120)


@given(st.lists(st.tuples(amounts, days), min_size=1, max_size=6))
def test_whatever_the_order_receipts_arrive_in_the_ledger_is_the_same(payments):
    receipts = [
        Receipt(f"r{n}", amount, at(date(2026, 2, 1) + timedelta(days=day))) for n, (amount, day) in enumerate(payments)
    ]
    as_of = date(2026, 7, 1)
    expected = assess([MARCH, APRIL], receipts, RULE, as_of)

    assert assess([MARCH, APRIL], list(reversed(receipts)), RULE, as_of) == expected


@given(st.lists(st.tuples(amounts, days), max_size=6), st.integers(min_value=0, max_value=400))
def test_money_received_is_all_accounted_for_and_fees_never_exceed_their_cap(payments, horizon):
    receipts = [
        Receipt(f"r{n}", amount, at(date(2026, 2, 1) + timedelta(days=day))) for n, (amount, day) in enumerate(payments)
    ]
    ledger = assess([MARCH, APRIL], receipts, RULE, date(2026, 2, 1) + timedelta(days=horizon))

    assert ledger.collected().total == sum((r.amount for r in receipts), D("0"))
    for balance in ledger.balances:
        assert D("0") <= balance.late_fee <= D("40.00")
        assert D("0") <= balance.owed
        assert balance.fee_paid <= balance.late_fee

"""The rent ledger: oldest first, fees before rent, daily late fees in the billing timezone."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN
from decimal import Decimal as D
from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from leasecore.lease.ledger import (
    Collected,
    FeeWaiver,
    GoodwillCredit,
    InstallmentStatus,
    LateFeeRule,
    Receipt,
    assess,
    assessed_later,
)
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


# Finance's adjustments: fee waivers and goodwill credits, facts placed in time with the receipts.


def test_a_waiver_lowers_the_fee_charged_for_good_and_each_later_day_accrues_its_own_fee():
    waiver = FeeWaiver(1, D("0.50"), at(date(2026, 3, 10)))
    before = assess([MARCH], [], RULE, date(2026, 3, 10))
    after = assess([MARCH], [], RULE, date(2026, 3, 10), [waiver])

    (balance,) = after.balances
    assert (before.balances[0].late_fee, before.owed) == (D("1.20"), D("201.20"))  # 6 days × 0.20
    assert (balance.late_fee, balance.fee_waived, after.owed, after.fees_waived) == (
        D("0.70"),
        D("0.50"),
        D("200.70"),
        D("0.50"),
    )
    assert (balance.days_overdue, balance.status) == (6, InstallmentStatus.OVERDUE)  # the rent is still unpaid
    next_day = assess([MARCH], [], RULE, date(2026, 3, 11), [waiver]).balances[0]
    assert (next_day.late_fee, next_day.fee_waived) == (D("0.90"), D("0.50"))


def test_the_cap_counts_waived_fees_as_accrued_so_they_are_never_charged_again():
    waiver = FeeWaiver(1, D("40.00"), at(date(2027, 3, 1)))
    later = assess([MARCH], [], RULE, date(2027, 9, 1), [waiver])

    (balance,) = later.balances
    assert (balance.late_fee, balance.fee_waived, later.owed) == (D("0.00"), D("40.00"), D("200.00"))


def test_with_the_whole_fee_waived_paying_the_rent_leaves_the_installment_paid():
    waiver = FeeWaiver(1, D("1.20"), at(date(2026, 3, 10), 9))
    rent = Receipt("rent", D("200.00"), at(date(2026, 3, 10), 18))

    without = assess([MARCH], [rent], RULE, date(2026, 3, 10))
    ledger = assess([MARCH], [rent], RULE, date(2026, 3, 10), [waiver])

    assert (without.owed, without.balances[0].fee_paid) == (D("1.20"), D("1.20"))  # fees first, 1.20 of rent left
    (balance,) = ledger.balances
    assert (balance.owed, balance.status, balance.days_overdue) == (D("0.00"), InstallmentStatus.PAID, 0)
    assert (balance.late_fee, balance.fee_waived, balance.rent_paid) == (D("0.00"), D("1.20"), D("200.00"))


def test_a_waiver_takes_no_more_than_the_fee_unpaid_at_its_instant():
    early = Receipt("early", D("200.00"), at(date(2026, 3, 3)))  # effective before the waiver, recorded after it
    waiver = FeeWaiver(1, D("1.20"), at(date(2026, 3, 10)))
    ledger = assess([MARCH], [early], RULE, date(2026, 3, 12), [waiver])

    assert (ledger.balances[0].fee_waived, ledger.fees, ledger.owed) == (D("0.00"), D("0.00"), D("0.00"))
    ignored = assess([MARCH], [], RULE, date(2026, 3, 10), [FeeWaiver(9, D("1.00"), at(date(2026, 3, 10)))])
    assert ignored == assess([MARCH], [], RULE, date(2026, 3, 10))  # no installment 9: nothing to waive


def test_a_goodwill_credit_pays_fees_then_rent_like_money_but_is_no_money_in():
    credit = GoodwillCredit(D("100.00"), at(date(2026, 3, 10)))
    ledger = assess([MARCH, APRIL], [], RULE, date(2026, 3, 12), [credit])

    march, april = ledger.balances
    assert (march.fee_paid, march.rent_paid, march.credited) == (D("1.20"), D("98.80"), D("100.00"))
    # 11 and 12 March on the 101.20 still unpaid: 0.10 a day.
    assert (march.late_fee, march.owed, april.credited) == (D("1.40"), D("101.40"), D("0.00"))
    assert ledger.goodwill == Collected(rent=D("98.80"), fees=D("1.20"))
    assert ledger.collected() == Collected()  # no money came in
    assert ledger.credit == D("0.00")


def test_what_a_goodwill_credit_cannot_pay_lapses_rather_than_becoming_credit_to_refund():
    paid = Receipt("r", D("150.00"), at(date(2026, 3, 2)))
    credit = GoodwillCredit(D("300.00"), at(date(2026, 3, 10)))
    ledger = assess([MARCH], [paid], RULE, date(2026, 3, 10), [credit])

    # 5–10 March on the 50.00 unpaid: 0.05 a day, 0.30; the credit pays 50.30 and the rest of it lapses.
    assert (ledger.owed, ledger.credit, ledger.goodwill.total) == (D("0.00"), D("0.00"), D("50.30"))
    assert ledger.collected() == Collected(rent=D("150.00"))


def test_receipts_and_adjustments_count_in_the_order_they_happened():
    credit = GoodwillCredit(D("50.00"), at(date(2026, 3, 10)))
    late = Receipt("late", D("200.00"), at(date(2026, 3, 12)))
    ledger = assess([MARCH], [late], RULE, date(2026, 3, 20), [credit])

    (balance,) = ledger.balances
    # 10 March: 1.20 of fees and 48.80 of rent from the credit; 11–12 March on 151.20: 0.15 a day; then the rest.
    assert (balance.credited, balance.late_fee, balance.fee_paid) == (D("50.00"), D("1.50"), D("1.50"))
    assert (ledger.owed, ledger.credit, ledger.collected().total) == (D("0.00"), D("48.50"), D("200.00"))


def test_at_one_instant_receipts_and_adjustments_count_in_the_order_they_were_recorded():
    instant = at(date(2026, 3, 10))
    rent = Receipt("rent", D("100.00"), instant)
    credit_first = assess([MARCH], [rent], RULE, date(2026, 3, 10), [GoodwillCredit(D("100.00"), instant, 0)])
    rent_first = assess([MARCH], [rent], RULE, date(2026, 3, 10), [GoodwillCredit(D("100.00"), instant, 1)])

    # The 1.20 of fees goes to whichever was recorded first.
    assert credit_first.goodwill == Collected(rent=D("98.80"), fees=D("1.20"))
    assert credit_first.collected() == Collected(rent=D("100.00"))
    assert rent_first.goodwill == Collected(rent=D("100.00"))
    assert rent_first.collected() == Collected(rent=D("98.80"), fees=D("1.20"))
    assert credit_first.owed == rent_first.owed == D("1.20")


waiver_days = st.integers(min_value=30, max_value=200)


def share_of(amount: D, percent: int) -> D:
    return (amount * percent / 100).quantize(D("0.01"), rounding=ROUND_DOWN)


@given(st.lists(st.tuples(amounts, days), max_size=4), waiver_days, st.integers(0, 100), st.integers(0, 60))
def test_owed_after_a_waiver_is_owed_before_less_what_was_waived_and_never_negative(payments, day, share, later):
    receipts = [
        Receipt(f"r{n}", amount, at(date(2026, 2, 1) + timedelta(days=d))) for n, (amount, d) in enumerate(payments)
    ]
    made = date(2026, 2, 1) + timedelta(days=day)
    receipts = [r for r in receipts if r.paid_at < at(made)]
    seq = 1 + share % 2
    standing = assess([MARCH, APRIL], receipts, RULE, made).balances[seq - 1]
    amount = share_of(standing.late_fee - standing.fee_paid, share)
    as_of = made + timedelta(days=later)
    waivers = [FeeWaiver(seq, amount, at(made, 23))] if amount else []

    before = assess([MARCH, APRIL], receipts, RULE, as_of)
    after = assess([MARCH, APRIL], receipts, RULE, as_of, waivers)

    assert after.owed == before.owed - amount >= 0
    assert after.fees_waived == amount and after.collected() == before.collected()
    for balance in after.balances:
        assert D("0") <= balance.fee_paid <= balance.late_fee
        assert balance.late_fee + balance.fee_waived <= D("40.00")


@given(st.lists(st.tuples(amounts, days), max_size=4), waiver_days, st.integers(1, 100))
def test_a_goodwill_credit_lowers_owed_by_its_amount_and_moves_no_money(payments, day, share):
    receipts = [
        Receipt(f"r{n}", amount, at(date(2026, 2, 1) + timedelta(days=d))) for n, (amount, d) in enumerate(payments)
    ]
    made = date(2026, 2, 1) + timedelta(days=day)
    receipts = [r for r in receipts if r.paid_at < at(made)]
    before = assess([MARCH, APRIL], receipts, RULE, made)
    amount = share_of(before.owed, share)
    credits = [GoodwillCredit(amount, at(made, 23))] if amount else []

    after = assess([MARCH, APRIL], receipts, RULE, made, credits)

    assert after.owed == before.owed - amount >= 0
    assert after.goodwill.total == amount == sum((b.credited for b in after.balances), D("0"))
    assert after.collected() == before.collected() and after.credit == before.credit


fixed_fees = st.sampled_from([D("0.00"), D("0.50")])
SCHEDULE = [MARCH, APRIL, Installment(3, date(2026, 5, 1), rent=D("150.00"), protection=D("10.00"))]
facts_in_time = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "receipt", "waiver", "goodwill"]), amounts, st.integers(0, 10), st.integers(1, 3)
    ),
    max_size=8,
)


def recorded(steps: list[tuple[str, D, int, int]]) -> tuple[list[Receipt], list[FeeWaiver | GoodwillCredit]]:
    """Facts recorded in time (each step some days after the one before, or the same day), as a lease records them."""
    receipts: list[Receipt] = []
    adjustments: list[FeeWaiver | GoodwillCredit] = []
    instant = at(date(2026, 2, 1))
    for kind, amount, days_after, seq in steps:
        instant += timedelta(days=days_after, minutes=1)
        if kind == "receipt":
            receipts.append(Receipt(f"r{len(receipts)}", amount, instant))
        elif kind == "waiver":
            adjustments.append(FeeWaiver(seq, amount, instant, len(receipts)))
        else:
            adjustments.append(GoodwillCredit(amount, instant, len(receipts)))
    return receipts, adjustments


@given(facts_in_time, fixed_fees, st.integers(0, 8), st.lists(st.integers(0, 90), min_size=1, max_size=4))
def test_a_ledger_continued_with_later_facts_and_days_equals_assessing_it_again(steps, fixed, known, later):
    """The ledger a folded lease continues (the facts recorded since applied on it, the fees accrued on to a later
    day) is the ledger `assess` gives from every fact; a balance that does not change is the same object."""
    rule = LateFeeRule(grace_days=3, daily_rate=D("0.001"), fixed_per_day=fixed, cap_share=D("0.20"))
    receipts, adjustments = recorded(steps)
    first = sorted([*receipts, *adjustments], key=lambda fact: fact.paid_at if isinstance(fact, Receipt) else fact.at)
    first = first[:known]
    seen = (sum(isinstance(f, Receipt) for f in first), len(first) - sum(isinstance(f, Receipt) for f in first))
    day = max([RULE.local_date(f.paid_at if isinstance(f, Receipt) else f.at) for f in first], default=date(2026, 2, 1))
    ledger = assess(SCHEDULE, receipts[: seen[0]], rule, day, adjustments[: seen[1]])
    for days_later in sorted(later):
        as_of = day + timedelta(days=days_later)
        continued = assessed_later(ledger, SCHEDULE, rule, as_of, receipts, adjustments, known=seen)
        assert continued == assess(SCHEDULE, receipts, rule, as_of, adjustments)
        for before, after in zip(ledger.balances, continued.balances, strict=True):
            if before == after:
                assert after is before
        ledger, seen, day = continued, (len(receipts), len(adjustments)), continued.as_of

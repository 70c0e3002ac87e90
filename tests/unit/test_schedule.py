from datetime import date
from decimal import Decimal as D

import pytest

from leasecore.lease.schedule import Installment, Rates, restart, schedule_for
from leasecore.values import LongTerm, ShortTerm, add_months, money


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 13, date(2027, 6, 30)),
    ],
)
def test_months_are_added_on_the_same_day_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_a_long_term_schedule_falls_due_monthly_from_the_start_on_its_day_of_month():
    schedule = schedule_for(LongTerm(4), date(2026, 1, 31), Rates(D("329.00"), D("19.90")), quantity=2)

    assert [(i.seq, i.due_date) for i in schedule] == [
        (1, date(2026, 1, 31)),
        (2, date(2026, 2, 28)),
        (3, date(2026, 3, 31)),
        (4, date(2026, 4, 30)),
    ]
    assert {(i.rent, i.protection, i.amount) for i in schedule} == {(D("658.00"), D("39.80"), D("697.80"))}


def test_short_term_rent_is_daily_rent_times_inclusive_days_times_quantity_due_at_the_start():
    (only,) = schedule_for(
        ShortTerm(date(2026, 3, 1), date(2026, 3, 10)), date(2026, 2, 1), Rates(D("49.00"), D("2.00")), quantity=3
    )

    assert only == Installment(1, date(2026, 3, 1), rent=D("1470.00"), protection=D("60.00"))


def test_receipt_restarts_the_due_dates_from_the_day_the_lease_starts():
    quoted = schedule_for(LongTerm(3), date(2026, 1, 10), Rates(D("100.00")), quantity=1)

    assert [i.due_date for i in restart(quoted, date(2026, 1, 31))] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.005", "0.01"), ("0.004", "0.00"), ("2.675", "2.68"), ("-0.005", "-0.01"), (7, "7.00")]
)
def test_money_rounds_half_up_to_the_fen(raw, expected):
    assert money(raw) == D(expected)


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        money(0.1)  # type: ignore[arg-type]

from datetime import UTC, datetime
from decimal import Decimal as D
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.credit.credit_line import CreditLine
from leasecore.errors import Overdue, QuotaExceeded

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_reservation_takes_at_most_what_is_available():
    line = CreditLine.grant(uuid4(), D("5000.00"), "B", NOW)
    first, second = uuid4(), uuid4()
    line.reserve(first, D("3000.00"), NOW)

    with pytest.raises(QuotaExceeded, match="2000.00"):
        line.reserve(second, D("2000.01"), NOW)
    line.reserve(second, D("2000.00"), NOW)
    assert line.available == D("0.00")
    assert [type(e) for e in line.collect_events()] == [
        CreditLine.Granted,
        CreditLine.WaiverReserved,
        CreditLine.WaiverReserved,
    ]


def test_a_reservation_is_released_exactly_once():
    line = CreditLine.grant(uuid4(), D("5000.00"), "B", NOW)
    order = uuid4()
    line.reserve(order, D("3000.00"), NOW)
    line.collect_events()

    assert line.release(order, NOW) == D("3000.00")
    assert line.release(order, NOW) == D("0")
    assert [type(e) for e in line.collect_events()] == [CreditLine.WaiverReleased]
    assert line.available == D("5000.00")


def test_no_new_reservations_while_an_order_is_overdue():
    line = CreditLine.grant(uuid4(), D("5000.00"), "B", NOW)
    late = uuid4()
    line.mark_overdue(late, NOW)
    with pytest.raises(Overdue):
        line.reserve(uuid4(), D("1.00"), NOW)
    line.clear_overdue(late, NOW)
    line.reserve(uuid4(), D("1.00"), NOW)


def test_a_lowered_quota_leaves_reservations_standing_but_nothing_available():
    line = CreditLine.grant(uuid4(), D("5000.00"), "B", NOW)
    line.reserve(uuid4(), D("4000.00"), NOW)
    line.adjust(D("1000.00"), "C", NOW)

    assert (line.reserved_total, line.available) == (D("4000.00"), D("0"))
    with pytest.raises(QuotaExceeded):
        line.reserve(uuid4(), D("0.01"), NOW)


@given(st.lists(st.tuples(st.booleans(), st.decimals(min_value=D("0.01"), max_value=D("3000"), places=2)), max_size=30))
def test_the_quota_is_never_over_committed(steps):
    line = CreditLine.grant(uuid4(), D("5000.00"), "B", NOW)
    for reserve, amount in steps:
        if reserve:
            try:
                line.reserve(uuid4(), amount, NOW)
            except QuotaExceeded:
                pass
        elif line.reserved:
            line.release(next(iter(line.reserved)), NOW)
        assert line.reserved_total <= line.quota

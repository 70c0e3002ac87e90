"""Payments recorded in any order yield the fees of recording them in the order they were paid."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import application
from leasecore.clock import SettableClock
from leasecore.values import LongTerm
from tests.support import START, build_world

SHANGHAI = timezone(timedelta(hours=8))
payments = st.lists(
    st.tuples(st.decimals(min_value=D("1.00"), max_value=D("400.00"), places=2), st.integers(0, 150)),
    min_size=1,
    max_size=5,
)


def ledger_after(recorded_in: list[int], paid: list[tuple[D, int]], as_of_day: int) -> object:
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    world = build_world(app, clock)
    order = world.leasing(world.customer(), world.request(LongTerm(6)))
    clock.set(START + timedelta(days=as_of_day))
    for index in recorded_in:
        amount, day = paid[index]
        paid_at = datetime(2026, 2, 1, 12, tzinfo=SHANGHAI) + timedelta(days=day)
        app.pay_installments(order, f"txn-{index}", amount, paid_at)
    app.run_daily()
    lease = app.lease(order)
    return lease.ledger, lease.assessed(clock.now()), lease.collection_stage


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paid=payments, order=st.randoms(use_true_random=False))
def test_recording_payments_in_any_order_yields_the_chronological_fees(paid, order) -> None:
    as_of_day = 170
    chronological = sorted(range(len(paid)), key=lambda i: (paid[i][1], f"txn-{i}"))
    shuffled = list(range(len(paid)))
    order.shuffle(shuffled)

    assert ledger_after(shuffled, paid, as_of_day) == ledger_after(chronological, paid, as_of_day)

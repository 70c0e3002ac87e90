"""The settlement the back office shows before an inspection is confirmed is the settlement confirming it makes:
`inspection_forecast` and `complete_inspection` follow the same rules, whether the deposit covers everything, falls
short, or there is none, with protection or without."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from leasecore.lease import LeaseStatus
from leasecore.values import DepositMode, LongTerm
from tests.support import World, local


@pytest.mark.parametrize(
    ("protection", "mode", "damage", "status"),
    [
        (True, DepositMode.WAIVER, D("1200.00"), LeaseStatus.SETTLED),
        (False, DepositMode.WAIVER, D("1200.00"), LeaseStatus.PENDING_SETTLEMENT),
        (False, DepositMode.FULL, D("1200.00"), LeaseStatus.SETTLED),
        (True, DepositMode.FULL, D("0.00"), LeaseStatus.SETTLED),
    ],
)
def test_the_forecast_is_what_the_inspection_settles(
    world: World, protection: bool, mode: DepositMode, damage: D, status: LeaseStatus
) -> None:
    app, clock = world.app, world.clock
    customer = world.customer(score=720)
    order = world.leasing(customer, world.request(LongTerm(6), protection=protection, mode=mode))
    app.pay_installments(order, "rest", app.lease(order).owed(clock.now()), clock.now())
    clock.set(local(2026, 7, 25))
    app.request_return(order, "SF-BACK")
    app.record_return(order)
    forecast = app.inspection_forecast(order, damage)
    assert app.lease(order).status is LeaseStatus.INSPECTING  # the forecast changes nothing
    held = app.deposit(order).held

    app.complete_inspection(order, damage, "")
    lease, deposit = app.lease(order), app.deposit(order)
    assert lease.status is status
    assert forecast.deposit_held == held
    assert forecast.inspection.liability == lease.charges.damage
    assert forecast.deducted == deposit.deducted
    assert forecast.deposit_refunded == deposit.refunded
    assert forecast.balance == lease.owed(clock.now())
    if protection:
        assert forecast.inspection.liability == min(damage, forecast.inspection.excess or damage)

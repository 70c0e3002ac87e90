"""Deposit pre-authorization through the application and the sandbox provider: the freeze asked and notified
(part of it waived on the provider's credit), the order going on once its first rent is paid too, damage and
arrears taken from the freeze at settlement and the rest unfrozen, everything unfrozen on cancel or reject; each
step once, however often notifications and provider calls are repeated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal as D
from uuid import UUID

import pytest

from adapters.payments.sandbox import SandboxPayments
from leasecore.errors import InvalidInput, Refused
from leasecore.lease import LeaseStatus
from leasecore.money.deposit import Deposit
from leasecore.money.payments import PaymentPurpose
from leasecore.values import DepositMode
from tests.support import World

SHANGHAI = timezone(timedelta(hours=8))


def sandbox(world: World) -> SandboxPayments:
    """A sandbox provider whose notifications reach the application's notify intake at once."""
    app = world.app

    def deliver(body: bytes, headers: Mapping[str, str]) -> None:
        app.receive_notification("sandbox", body, headers)

    gateway = SandboxPayments(world.clock, deliver=deliver)
    app.gateways = {"sandbox": gateway}
    return gateway


def placed(world: World, score: int = 650) -> UUID:
    return world.app.place_order(world.customer(score=score), world.request(mode=DepositMode.PREAUTH))


def frozen(world: World, gateway: SandboxPayments, credit: D = D("0.00"), score: int = 650) -> UUID:
    order = placed(world, score)
    request = world.app.collect_preauth(order)
    gateway.freeze(request.out_request_no, credit)
    return order


def paid(world: World, order: UUID) -> None:
    payment = world.app.collect(order, PaymentPurpose.CHECKOUT)
    sandbox_gateway = world.app.gateways["sandbox"]
    assert isinstance(sandbox_gateway, SandboxPayments)
    sandbox_gateway.complete(payment.payment_id, "success")


def test_the_deposit_not_waived_is_frozen_not_paid_and_the_checkout_waits_for_the_freeze(world: World) -> None:
    app, gateway = world.app, sandbox(world)
    order = placed(world)
    lease, deposit = app.lease(order), app.deposit(order)
    assert (lease.deposit, lease.waiver, lease.deposit_due, deposit.to_freeze) == (
        D("3000.00"),
        D("1000.00"),
        D("0.00"),
        D("2000.00"),
    )
    assert lease.due_now == lease.schedule[0].amount
    with pytest.raises(Refused, match="freeze the deposit first"):
        app.collect(order, PaymentPurpose.CHECKOUT)

    request = app.collect_preauth(order)
    assert app.collect_preauth(order) == request
    assert request.amount == D("2000.00") and "alipay.fund.auth.order.app.freeze" in request.pay_params["order_string"]
    for _ in range(2):
        gateway.freeze(request.out_request_no, D("500.00"))
    deposit = app.deposit(order)
    assert (deposit.frozen, deposit.waived_by_provider, deposit.still_frozen, deposit.is_secured) == (
        D("1500.00"),
        D("500.00"),
        D("1500.00"),
        True,
    )
    assert app.lease(order).status is LeaseStatus.PENDING_PAYMENT
    paid(world, order)
    assert app.lease(order).status is LeaseStatus.PENDING_CONTRACT
    assert [type(e) for e in app.events.get(deposit.id)] == [
        Deposit.Required,
        Deposit.FreezeRequired,
        Deposit.FreezeRequested,
        Deposit.Frozen,
    ]


def test_settlement_takes_damage_from_the_freeze_and_unfreezes_the_rest_once(world: World) -> None:
    app, gateway = world.app, sandbox(world)
    order = frozen(world, gateway, credit=D("500.00"))
    paid(world, order)
    app.record_contract(order, "c-1")
    app.ship(order, list(app.units_held(order)), "SF", "SF-1")
    app.confirm_receipt(order)
    lease = app.lease(order)
    lease_end = lease.ends_on
    assert lease_end is not None
    for seq in range(2, len(lease.schedule) + 1):
        app.pay_installments(order, f"rent-{seq}", lease.schedule[seq - 1].amount, world.clock.now())
    world.clock.set(datetime.combine(lease_end - timedelta(days=3), time(10), tzinfo=SHANGHAI))
    app.request_return(order, "SF-BACK")
    app.record_return(order)
    app.complete_inspection(order, D("400.00"), "scratched")
    deposit = app.deposit(order)
    assert app.lease(order).status is LeaseStatus.SETTLED
    assert (deposit.taken, deposit.unfrozen, deposit.still_frozen) == (D("400.00"), D("1100.00"), D("0.00"))
    assert [op.kind.value for op in deposit.pending_operations] == ["take", "unfreeze"]

    for _ in range(2):
        app.send_freeze_operations(order)
    deposit = app.deposit(order)
    assert deposit.pending_operations == ()
    assert [kind for kind, _ in gateway.freeze_book.calls] == ["take", "unfreeze"]
    freeze = next(iter(gateway.freeze_book.freezes.values()))
    assert (freeze.taken, freeze.unfrozen, freeze.rest) == (D("400.00"), D("1100.00"), D("0.00"))
    events = [type(e) for e in app.events.get(deposit.id)]
    assert events[-4:] == [
        Deposit.TakeFromFreezeRequested,
        Deposit.UnfreezeRequested,
        Deposit.TakenFromFreeze,
        Deposit.Unfrozen,
    ]


def test_cancel_unfreezes_everything_and_a_freeze_after_the_cancel_is_unfrozen_at_once(world: World) -> None:
    app, gateway = world.app, sandbox(world)
    order = frozen(world, gateway, credit=D("200.00"))
    app.cancel(order)
    app.send_freeze_operations(order)
    deposit = app.deposit(order)
    assert (deposit.frozen, deposit.unfrozen, deposit.still_frozen) == (D("1800.00"), D("1800.00"), D("0.00"))

    late = placed(world)
    request = app.collect_preauth(late)
    app.cancel(late)
    gateway.freeze(request.out_request_no)
    app.send_freeze_operations(late)
    deposit = app.deposit(late)
    assert (deposit.frozen, deposit.unfrozen, deposit.pending_operations) == (D("2000.00"), D("2000.00"), ())


def test_a_crash_between_the_provider_call_and_its_event_is_recovered_exactly_once(world: World) -> None:
    app, gateway = world.app, sandbox(world)
    order = frozen(world, gateway)
    app.cancel(order)
    confirm = app.confirm_freeze_operation

    def crash(*args: object) -> bool:
        raise RuntimeError("the process died before recording the provider's answer")

    app.confirm_freeze_operation = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        app.send_freeze_operations(order)
    app.confirm_freeze_operation = confirm  # type: ignore[method-assign]
    assert len(app.deposit(order).pending_operations) == 1
    app.send_freeze_operations(order)
    app.send_freeze_operations(order)
    deposit = app.deposit(order)
    assert deposit.pending_operations == () and deposit.unfrozen == D("2000.00")
    assert [type(e) for e in app.events.get(deposit.id)].count(Deposit.Unfrozen) == 1
    freeze = next(iter(gateway.freeze_book.freezes.values()))
    assert [kind for kind, _ in gateway.freeze_book.calls] == ["unfreeze", "unfreeze"]
    assert (freeze.unfrozen, freeze.rest) == (D("2000.00"), D("0.00"))


def test_only_a_provider_set_up_to_freeze_deposits_is_offered(world: World) -> None:
    app, gateway = world.app, sandbox(world)
    gateway.freezes_deposits = False  # type: ignore[misc]
    with pytest.raises(InvalidInput, match="provider"):
        app.collect_preauth(placed(world))

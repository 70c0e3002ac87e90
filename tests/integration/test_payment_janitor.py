"""The janitor: a payment the customer paid whose notification was lost is recorded once its provider is asked,
5 minutes after it was requested, then at 1 hour, then daily; a closed one fails; a provider that cannot answer
is asked again at the next sweep."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.errors import ProviderError
from adapters.payments.sandbox import SandboxPayments
from api.bootstrap import Platform, bootstrap
from api.cli import main
from api.processes.janitor import PaymentJanitor, next_check
from api.store import ApiStore, api_payment_checks
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock
from leasecore.lease import LeaseStatus
from leasecore.money.payments import Payment, PaymentPurpose, PaymentStatus
from leasecore.ports import PaymentQuery, Ports
from tests.support import START, World, build_world


class Desk:
    """A platform whose only provider is the sandbox, its API store, and the world's order to pay."""

    def __init__(self, platform: Platform, clock: SettableClock, sandbox: SandboxPayments) -> None:
        self.platform, self.clock, self.sandbox = platform, clock, sandbox
        self.store = ApiStore(platform.views)
        self.store.setup()
        self.world: World = build_world(platform.app, clock)

    @property
    def app(self) -> LeaseApplication:
        return self.platform.app

    def janitor(self, **options: Any) -> PaymentJanitor:
        return PaymentJanitor(self.app, self.platform.views, self.store, **options)

    def checkout(self) -> tuple[UUID, UUID]:
        """An order whose checkout payment was asked of the sandbox provider: (order, payment)."""
        order = self.app.place_order(self.world.customer(), self.world.request())
        request = self.app.collect(order, PaymentPurpose.CHECKOUT)
        return order, UUID(request.payment_id)

    def later(self, delta: timedelta) -> None:
        self.clock.set(START + delta)
        self.platform.runner.catch_up()

    def checks(self, payment_id: UUID) -> dict[str, Any]:
        query = select(api_payment_checks).where(api_payment_checks.c.payment_id == payment_id)
        with self.store.read() as connection:
            return dict(connection.execute(query).mappings().one())


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    clock = SettableClock(START)
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: None)
    platform = bootstrap(url, clock=clock, ports=Ports(gateways={"sandbox": sandbox}))
    try:
        yield Desk(platform, clock, sandbox)
    finally:
        platform.close()


def test_a_payment_whose_notification_was_lost_is_recorded_after_five_minutes_once(desk: Desk) -> None:
    order, payment = desk.checkout()
    desk.sandbox.settle_unnotified(str(payment), "success", START + timedelta(minutes=1))
    janitor = desk.janitor()

    desk.later(timedelta(minutes=4, seconds=59))
    assert janitor.sweep().asked == 0
    assert desk.app.payment(payment).status is PaymentStatus.PENDING

    desk.later(timedelta(minutes=5))
    sweep = janitor.sweep()

    assert (sweep.asked, sweep.succeeded, sweep.failed, sweep.errors) == (1, [payment], [], {})
    recorded = desk.app.payment(payment)
    assert (recorded.status, recorded.transaction_id, recorded.paid_amount, recorded.paid_at) == (
        PaymentStatus.SUCCEEDED,
        desk.sandbox.payment(str(payment)).trade_no,
        D("700.00"),
        START + timedelta(minutes=1),
    )
    assert desk.app.lease(order).status is LeaseStatus.PENDING_CONTRACT
    desk.platform.runner.catch_up()
    lease_events = len(list(desk.app.events.get(order)))
    assert janitor.sweep().asked == 0
    desk.later(timedelta(days=3))
    assert janitor.sweep().asked == 0
    assert [type(e) for e in desk.app.events.get(payment)] == [Payment.Requested, Payment.Succeeded]
    assert len(list(desk.app.events.get(order))) == lease_events


def test_the_notification_arriving_after_the_janitor_changes_nothing(desk: Desk) -> None:
    order, payment = desk.checkout()
    body, headers = desk.sandbox.notification(str(payment), "success")
    desk.later(timedelta(minutes=5))
    desk.janitor().sweep()
    events = len(list(desk.app.events.get(order)))

    desk.app.receive_notification("sandbox", body, headers)

    assert [type(e) for e in desk.app.events.get(payment)] == [Payment.Requested, Payment.Succeeded]
    assert len(list(desk.app.events.get(order))) == events


def test_a_trade_the_provider_closed_fails_the_payment_and_leaves_the_order_as_it_was(desk: Desk) -> None:
    order, payment = desk.checkout()
    desk.sandbox.settle_unnotified(str(payment), "fail")
    desk.later(timedelta(minutes=5))

    sweep = desk.janitor().sweep()

    assert (sweep.succeeded, sweep.failed) == ([], [payment])
    assert desk.app.payment(payment).status is PaymentStatus.FAILED
    assert desk.app.lease(order).status is LeaseStatus.PENDING_PAYMENT
    assert desk.checks(payment)["state"] == "failed"


def test_a_payment_never_paid_is_asked_about_at_five_minutes_one_hour_then_daily(desk: Desk) -> None:
    _, payment = desk.checkout()
    janitor = desk.janitor()
    asked_at = []
    for minutes in (5, 6, 59, 60, 61, 60 * 23, 60 * 24, 60 * 25, 60 * 48):
        desk.later(timedelta(minutes=minutes))
        if janitor.sweep().asked:
            asked_at.append(minutes)

    assert asked_at == [5, 60, 60 * 24, 60 * 48]
    assert desk.app.payment(payment).status is PaymentStatus.PENDING
    checks = desk.checks(payment)
    assert (checks["checks"], checks["state"]) == (4, "pending")
    assert checks["next_check_at"] == START + timedelta(days=3)


def test_a_provider_that_cannot_answer_is_asked_again_at_the_next_sweep(desk: Desk) -> None:
    _, payment = desk.checkout()
    desk.sandbox.settle_unnotified(str(payment), "success")
    answer = desk.sandbox.query_payment

    def outage(payment_id: str) -> PaymentQuery:
        raise ProviderError("Alipay is unreachable: timed out")

    desk.sandbox.query_payment = outage  # type: ignore[method-assign]
    desk.later(timedelta(minutes=5))
    janitor = desk.janitor()
    assert janitor.sweep().errors == {payment: "Alipay is unreachable: timed out"}
    assert (desk.checks(payment)["state"], desk.checks(payment)["detail"]) == (
        "error",
        "Alipay is unreachable: timed out",
    )

    desk.sandbox.query_payment = answer  # type: ignore[method-assign]
    assert janitor.sweep().succeeded == [payment]
    assert desk.app.payment(payment).status is PaymentStatus.SUCCEEDED


def test_a_sweep_asks_about_no_more_than_its_limit_least_recently_asked_first(desk: Desk) -> None:
    payments = [desk.checkout()[1] for _ in range(3)]
    desk.later(timedelta(minutes=5))
    janitor = desk.janitor(limit=2)

    assert janitor.sweep().asked == 2
    assert janitor.sweep().asked == 1
    assert {p for p in payments if desk.checks(p)["checks"] == 1} == set(payments)


def test_a_payment_pending_longer_than_a_provider_keeps_a_trade_is_no_longer_asked_about(desk: Desk) -> None:
    desk.checkout()
    desk.later(timedelta(days=30))

    assert desk.janitor().sweep().asked == 0


def test_the_command_line_sweeps_once_and_says_what_it_found(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In sandbox mode the command's own sandbox provider knows no trade of the server's: each is not paid yet."""
    clock = SettableClock(datetime.now(UTC) - timedelta(minutes=10))
    platform = bootstrap(sqlite_url, clock=clock, ports=Ports(gateways={"sandbox": SandboxPayments(clock)}))
    try:
        desk = Desk(platform, clock, SandboxPayments(clock))
        desk.app.collect(desk.app.place_order(desk.world.customer(), desk.world.request()), PaymentPurpose.CHECKOUT)
        platform.runner.catch_up()
    finally:
        platform.close()
    for name in ("LEASECORE_PROVIDERS", "LEASECORE_MODE", "LEASECORE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    assert main(["payments", "sweep", "--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out == (
        "asked the providers about 1 pending payment(s): 0 paid, 0 closed, 1 still pending, 0 unanswered\n"
    )
    assert main(["payments", "sweep", "--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out.startswith("asked the providers about 0 pending payment(s)")


def test_the_next_check_is_at_five_minutes_one_hour_then_each_whole_day() -> None:
    requested = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    expected = [
        (timedelta(0), timedelta(minutes=5)),
        (timedelta(minutes=5), timedelta(hours=1)),
        (timedelta(minutes=59), timedelta(hours=1)),
        (timedelta(hours=1), timedelta(days=1)),
        (timedelta(hours=23), timedelta(days=1)),
        (timedelta(days=1), timedelta(days=2)),
        (timedelta(days=6, hours=5), timedelta(days=7)),
    ]
    assert [next_check(requested, requested + age) - requested for age, _ in expected] == [when for _, when in expected]

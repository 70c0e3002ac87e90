"""Reconciliation on each database: the sandbox's bill of a day against the payments and refunds recorded that day,
kept per day and provider and replaced by a run again; yesterday reconciled by itself once the bills are made; and
`leasecore reconcile` saying what differs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import UUID

import pytest

from adapters.errors import ProviderError
from adapters.payments.sandbox import SandboxPayments
from api.bootstrap import Platform, bootstrap
from api.cli import main
from api.processes.reconciliation import Reconciler, reconciliations
from api.processes.refunds import RefundDispatcher
from api.store import ApiStore
from leasecore.clock import SettableClock
from leasecore.money.payments import PaymentPurpose
from leasecore.money.reconciliation import DifferenceKind, RecordStatus
from leasecore.ports import BillLine, BillSource, Ports
from tests.support import START, World, build_world

DAY = date(2026, 1, 31)
NEXT_MORNING = START + timedelta(days=1)  # 10:00 on 1 February in Shanghai


class Books:
    """A platform whose only provider is the sandbox, with its refund sender and its reconciler."""

    def __init__(self, platform: Platform, clock: SettableClock, sandbox: SandboxPayments) -> None:
        self.platform, self.clock, self.sandbox = platform, clock, sandbox
        self.store = ApiStore(platform.views)
        self.store.setup()
        self.world: World = build_world(platform.app, clock)
        self.refunds = RefundDispatcher(platform.views, self.store, {"sandbox": sandbox})

    def reconciler(self, source: BillSource | None = None) -> Reconciler:
        return Reconciler(self.platform.views, self.store, {"sandbox": source or self.sandbox}, self.clock)

    def paid_and_refunded(self) -> tuple[UUID, str]:
        """An order paid at checkout and cancelled, its refund accepted: (payment, refund)."""
        app = self.platform.app
        order = app.place_order(self.world.customer(), self.world.request())
        payment_id = app.collect(order, PaymentPurpose.CHECKOUT).payment_id
        body, headers = self.sandbox.notification(payment_id, "success")
        app.receive_notification("sandbox", body, headers)
        self.platform.runner.catch_up()
        app.cancel(order, "changed my mind")
        self.platform.runner.catch_up()
        assert self.refunds.dispatch() >= 1
        refund = next(line for line in self.sandbox.daily_bill(DAY) if line.kind.value == "refund")
        return UUID(payment_id), refund.reference


class Altered:
    """The sandbox's bill with one line's amount changed, or a bill that cannot be had."""

    provider = "sandbox"

    def __init__(self, real: SandboxPayments, reference: str = "", amount: D = D("0.00"), down: bool = False) -> None:
        self.real, self.reference, self.amount, self.down = real, reference, amount, down

    def daily_bill(self, day: date) -> list[BillLine]:
        if self.down:
            raise ProviderError("isp.bill_not_exist: the bill is not made yet")
        return [
            replace(l, amount=self.amount) if l.reference == self.reference else l for l in self.real.daily_bill(day)
        ]


@pytest.fixture(params=["sqlite", "postgres"])
def books(request: pytest.FixtureRequest) -> Iterator[Books]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    clock = SettableClock(START)
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: None)
    platform = bootstrap(url, clock=clock, ports=Ports(gateways={"sandbox": sandbox}))
    try:
        yield Books(platform, clock, sandbox)
    finally:
        platform.close()


def test_a_day_whose_bill_shows_every_payment_and_refund_agrees_and_is_kept(books: Books) -> None:
    books.paid_and_refunded()
    [run] = books.reconciler().run(DAY)
    bill = books.sandbox.daily_bill(DAY)
    assert [line.kind.value for line in bill] == ["payment", "refund", "refund"]
    assert (run.state, run.compared, run.differences) == ("done", 3, ())
    assert reconciliations(books.store, DAY) == [run]


def test_a_run_again_replaces_the_days_differences(books: Books) -> None:
    _, refund_id = books.paid_and_refunded()
    books.reconciler(Altered(books.sandbox, refund_id, D("1.00"))).run(DAY)
    [kept] = reconciliations(books.store, DAY, "sandbox")
    assert [(d.kind, d.reference, d.provider_amount, d.platform_status) for d in kept.differences] == [
        (DifferenceKind.AMOUNT_DIFFERS, refund_id, D("1.00"), RecordStatus.MOVED)
    ]
    books.reconciler().run(DAY)
    assert reconciliations(books.store, DAY)[0].differences == ()


def test_a_bill_that_cannot_be_had_is_a_failed_run_that_leaves_a_done_one_as_it_was(books: Books) -> None:
    books.paid_and_refunded()
    [failed] = books.reconciler(Altered(books.sandbox, down=True)).run(DAY)
    assert (failed.state, failed.detail) == ("failed", "isp.bill_not_exist: the bill is not made yet")
    assert reconciliations(books.store, DAY)[0].state == "failed"
    books.reconciler().run(DAY)
    books.reconciler(Altered(books.sandbox, down=True)).run(DAY)
    assert reconciliations(books.store, DAY)[0].state == "done"


def test_yesterday_is_reconciled_by_itself_once_the_bills_are_made_and_once(books: Books) -> None:
    books.paid_and_refunded()
    reconciler = books.reconciler()
    books.clock.set(NEXT_MORNING)
    assert reconciler.catch_up() == []
    books.clock.set(NEXT_MORNING + timedelta(minutes=30))
    assert [(run.day, run.state) for run in reconciler.catch_up()] == [(DAY, "done")]
    assert reconciler.catch_up() == []


def test_a_bill_not_made_yet_is_asked_for_again_an_hour_later(books: Books) -> None:
    down = Altered(books.sandbox, down=True)
    reconciler = books.reconciler(down)
    books.clock.set(NEXT_MORNING + timedelta(minutes=30))
    assert [run.state for run in reconciler.catch_up()] == ["failed"]
    down.down = False
    books.clock.set(NEXT_MORNING + timedelta(minutes=89))
    assert reconciler.catch_up() == []
    books.clock.set(NEXT_MORNING + timedelta(minutes=90))
    assert [run.state for run in reconciler.catch_up()] == ["done"]


def test_the_command_line_reconciles_a_day_and_says_what_differs(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In sandbox mode the command's own sandbox provider has moved no money: each payment the service recorded
    is missing at the provider."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    day = (yesterday + timedelta(hours=8)).date()
    clock = SettableClock(yesterday)
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: None)
    platform = bootstrap(sqlite_url, clock=clock, ports=Ports(gateways={"sandbox": sandbox}))
    try:
        app, world = platform.app, build_world(platform.app, clock)
        payment_id = app.collect(app.place_order(world.customer(), world.request()), PaymentPurpose.CHECKOUT).payment_id
        app.receive_notification("sandbox", *sandbox.notification(payment_id, "success"))
        platform.runner.catch_up()
    finally:
        platform.close()
    for name in ("LEASECORE_PROVIDERS", "LEASECORE_MODE", "LEASECORE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    assert main(["reconcile", "--date", day.isoformat(), "--database-url", sqlite_url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sandbox {day}: 1 compared, 1 difference(s)"
    assert out[1].split()[:3] == ["missing_at_provider", "payment", payment_id]
    assert main(["reconcile", "--date", (day - timedelta(days=3)).isoformat(), "--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out == f"sandbox {day - timedelta(days=3)}: 0 compared, 0 difference(s)\n"
    assert main(["reconcile", "--date", (day + timedelta(days=1)).isoformat(), "--database-url", sqlite_url]) == 2
    assert main(["reconcile", "--date", day.isoformat(), "--provider", "paypal", "--database-url", sqlite_url]) == 2
    assert main(["reconcile", "--date", "yesterday", "--database-url", sqlite_url]) == 2

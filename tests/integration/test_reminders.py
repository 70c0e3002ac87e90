"""Reminders the daily job records: before each due date and at each collection stage, carrying what is actually
due or overdue and its late fee, each once per order, installment and kind however often the job runs."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from decimal import Decimal as D
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from api.bootstrap import application
from leasecore.application import LeaseApplication
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, TermPrice
from leasecore.clock import SettableClock
from leasecore.lease.reminders import Reminder
from tests.support import START, World, build_world, close, phone_sku

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "13700000007"


def local(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def laptop(world: World) -> UUID:
    """A SKU whose 12-month rent is 349.92 a month."""
    app = world.app
    sku = replace(phone_sku(), id=uuid4(), term_prices=(TermPrice(12, D("349.92"), D("1000.00")),))
    app.list_product(
        ProductDetails(app.add_category("Laptops"), "Laptop T", "TestBrand", channels=("app",)),
        LongTermOffer((12,)),
        ShortTermOffer(3, 30),
        Protection(True, False, D("10.00"), D("1.00"), D("300.00")),
        [sku],
    )
    app.receive_units(sku.id, ["LAPTOP-1", "LAPTOP-2"])
    return sku.id


def leased_laptop(world: World) -> UUID:
    """Installment 2 of 349.92 falls due on 28 February, 3 on 31 March, 4 on 30 April."""
    return world.leasing(world.customer(phone=PHONE), world.request(sku_id=laptop(world)))


def run_on(world: World, month: int, day: int, times: int = 1) -> list[Reminder]:
    world.clock.set(local(month, day))
    ids = [reminder for _ in range(times) for reminder in world.app.run_daily().reminders]
    return [world.app.repository.get(reminder) for reminder in ids]


def test_the_collection_reminder_carries_the_overdue_installment_and_its_fee_not_the_whole_schedule(
    world: World,
) -> None:
    order = leased_laptop(world)
    (reminder,) = run_on(world, 3, 9)  # 6 days overdue: 6 × 0.35 of late fees
    assert (reminder.order_id, reminder.seq, reminder.kind, reminder.phone) == (order, 2, "collection_sms", PHONE)
    assert (reminder.amount, reminder.late_fee, reminder.days_overdue) == (D("352.02"), D("2.10"), 6)
    assert world.app.lease(order).ledger.owed == D("3851.22")  # the eleven installments left and the fee
    assert reminder.text == (
        f"[leasecore] Order {str(order)[:8]}: 352.02 CNY is overdue by 6 day(s), late fees of 2.10 CNY included. "
        "Please pay in the app to stop late fees."
    )
    assert reminder.id == Reminder.create_id(order, 2, "collection_sms")


def test_one_reminder_per_installment_and_kind_however_often_the_job_runs(world: World) -> None:
    order = leased_laptop(world)
    made = [
        *run_on(world, 2, 25, times=2),  # 3 days before installment 2 falls due
        *run_on(world, 2, 26, times=2),
        *run_on(world, 3, 4, times=2),  # installment 2 overdue: the sms stage
        *run_on(world, 3, 5),
        *run_on(world, 3, 18, times=2),  # 15 days overdue: the call stage
        *run_on(world, 3, 28, times=2),  # 3 days before installment 3
        *run_on(world, 3, 31),
        *run_on(world, 4, 3),  # 31 days overdue: the agency stage
    ]
    assert [(r.seq, r.kind, r.amount, r.late_fee) for r in made] == [
        (2, "due", D("349.92"), D("0.00")),
        (2, "collection_sms", D("350.27"), D("0.35")),
        (2, "collection_call", D("355.17"), D("5.25")),
        (3, "due", D("349.92"), D("0.00")),
        (2, "collection_agency", D("360.77"), D("10.85")),
    ]
    assert {r.order_id for r in made} == {order}
    assert "installment 3 of 349.92 CNY is due on 2026-03-31" in made[3].text
    assert "passed to a collection agency" in made[4].text


def test_an_order_overdue_again_after_paying_is_reminded_about_the_new_installment(world: World) -> None:
    order = leased_laptop(world)
    assert [(r.seq, r.kind) for r in run_on(world, 3, 9)] == [(2, "collection_sms")]
    world.app.pay_installments(order, "late-2", D("352.02"), world.clock.now())
    assert world.app.lease(order).collection_stage is None
    assert [(r.seq, r.kind) for r in run_on(world, 4, 5)] == [(3, "collection_sms")]


def test_catching_up_a_day_already_past_sends_no_reminder_of_a_due_date_already_past(world: World) -> None:
    leased_laptop(world)
    world.clock.set(local(4, 1))
    late = world.app.run_daily(local(3, 28).date())  # the 28th's job, run on 1 April
    assert [world.app.repository.get(r).kind for r in late.reminders] == ["collection_call"]  # 25 days overdue


def test_two_processes_running_the_job_at_once_record_each_reminder_once(sqlite_url: str) -> None:
    clock = SettableClock(START)
    apps = [application(sqlite_url, clock=clock) for _ in range(2)]
    try:
        world = build_world(apps[0], clock)
        order = leased_laptop(world)
        clock.set(local(3, 9))
        start = threading.Barrier(2)
        reports = []

        def run(app: LeaseApplication) -> None:
            start.wait()
            reports.append(app.run_daily())

        threads = [threading.Thread(target=run, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(len(report.reminders) for report in reports) == [0, 1]
        events = [type(e).__name__ for e in apps[1].events.get(Reminder.create_id(order, 2, "collection_sms"))]
        assert events == ["Queued"]
    finally:
        for app in apps:
            close(app)

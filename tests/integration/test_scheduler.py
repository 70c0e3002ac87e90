"""The daily job runs by itself at the billing document's local time, once per business day however many processes
share the database, and catches up the days missed, in order, each as of its own day."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import select

from api.bootstrap import Platform, bootstrap
from api.processes.scheduler import DailyScheduler, daily_runs, schedule
from api.store import ApiStore, api_daily_runs
from leasecore.application import DailyReport
from leasecore.clock import SettableClock
from leasecore.lease.reminders import Reminder
from tests.support import BILLING, START, build_world

ONE_AM = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
"""01:00 on 10 March in Shanghai: the job of the 9th is due, the 10th's is not yet."""


def shanghai(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class Process:
    """A service process's scheduler on a database, counting the days it ran the job for."""

    def __init__(self, url: str, clock: SettableClock, *, slow: float = 0.0) -> None:
        self.platform: Platform = bootstrap(url, clock=clock)
        self.store = ApiStore(self.platform.views)
        self.store.setup()
        self.ran: list[date] = []
        app, run_daily = self.platform.app, self.platform.app.run_daily

        def counted(as_of: date | None = None) -> DailyReport:
            assert as_of is not None
            self.ran.append(as_of)
            time.sleep(slow)
            return run_daily(as_of)

        app.run_daily = counted  # type: ignore[method-assign]
        self.scheduler = DailyScheduler(app, self.platform.runner, self.store, retry_after=0.0)

    def close(self) -> None:
        self.platform.close()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(ONE_AM)


@pytest.fixture
def process(clock: SettableClock) -> Iterator[Process]:
    process = Process("memory:", clock)
    yield process
    process.close()


def test_nothing_runs_until_billing_is_configured(process: Process) -> None:
    assert process.scheduler.tick() == []
    assert schedule(process.platform.app, process.store).next_run_at is None


def test_the_job_runs_once_a_day_at_its_local_time(process: Process, clock: SettableClock) -> None:
    process.platform.app.configure("billing", BILLING)
    assert process.scheduler.tick() == [date(2026, 3, 9)]  # the first run ever: the latest day due
    assert process.scheduler.tick() == []
    clock.set(shanghai(10, 1, 59))
    assert process.scheduler.tick() == []
    clock.set(shanghai(10, 2, 0))
    assert process.scheduler.tick() == [date(2026, 3, 10)]
    clock.set(shanghai(10, 23, 0))
    assert process.scheduler.tick() == []
    assert process.ran == [date(2026, 3, 9), date(2026, 3, 10)]
    found = schedule(process.platform.app, process.store)
    assert (found.daily_job_at, found.timezone, found.last_day) == ("02:00", "Asia/Shanghai", date(2026, 3, 10))
    assert found.next_run_at == shanghai(11, 2, 0)
    assert [(run.day, run.state, run.attempts) for run in found.runs] == [
        (date(2026, 3, 10), "done", 1),
        (date(2026, 3, 9), "done", 1),
    ]


def test_the_local_time_is_the_billing_documents(process: Process, clock: SettableClock) -> None:
    process.platform.app.configure("billing", {**BILLING, "daily_job_at": "06:30"})
    assert process.scheduler.tick() == [date(2026, 3, 9)]
    clock.set(shanghai(10, 6, 29))
    assert process.scheduler.tick() == []
    clock.set(shanghai(10, 6, 30))
    assert process.scheduler.tick() == [date(2026, 3, 10)]


def test_days_missed_while_down_run_in_order_each_as_of_its_day() -> None:
    clock = SettableClock(START)
    process = Process("memory:", clock)
    try:
        world = build_world(process.platform.app, clock)
        order = world.leasing(world.customer())  # installment 2 of 200.00 falls due on 28 February
        clock.set(shanghai(3, 3))
        assert process.scheduler.tick() == [date(2026, 3, 3)]
        clock.set(shanghai(20, 3))  # down from the 4th to the 20th
        days = [date(2026, 3, day) for day in range(4, 21)]
        assert process.scheduler.tick() == days
        assert process.ran[1:] == days
        sms, call = (
            process.platform.app.repository.get(Reminder.create_id(order, 2, kind))
            for kind in ("collection_sms", "collection_call")
        )
        assert (sms.days_overdue, sms.late_fee, call.days_overdue, call.late_fee) == (1, D("0.20"), 15, D("3.00"))
    finally:
        process.close()


def test_a_day_left_running_by_a_dead_process_runs_again(clock: SettableClock) -> None:
    dead = Process("memory:", clock)
    try:
        dead.platform.app.configure("billing", BILLING)

        def dies(as_of: date | None = None) -> DailyReport:
            raise SystemExit("killed")

        dead.platform.app.run_daily = dies  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            dead.scheduler.tick()
        assert [(run.day, run.state) for run in daily_runs(dead.store)] == [(date(2026, 3, 9), "running")]
        restarted = DailyScheduler(dead.platform.app, dead.platform.runner, dead.store)
        dead.platform.app.run_daily = lambda as_of=None: DailyReport(as_of or date.min)  # type: ignore[method-assign]
        assert restarted.tick() == [date(2026, 3, 9)]
        assert [(run.day, run.state, run.attempts) for run in daily_runs(dead.store)] == [(date(2026, 3, 9), "done", 2)]
    finally:
        dead.close()


def test_a_failed_job_is_recorded_and_run_again(process: Process) -> None:
    app = process.platform.app
    app.configure("billing", BILLING)
    run_daily = app.run_daily

    def fails(as_of: date | None = None) -> DailyReport:
        app.run_daily = run_daily  # type: ignore[method-assign]
        raise RuntimeError("the database went away")

    app.run_daily = fails  # type: ignore[method-assign]
    assert process.scheduler.tick() == []
    (run,) = daily_runs(process.store)
    assert (run.state, run.detail) == ("failed", "the database went away")
    assert process.scheduler.tick() == [date(2026, 3, 9)]
    assert [(run.state, run.attempts) for run in daily_runs(process.store)] == [("done", 2)]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_processes_on_one_database_run_each_day_once(
    backend: str, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    processes = [Process(url, clock, slow=0.2) for _ in range(2)]
    try:
        processes[0].platform.app.configure("billing", BILLING)
        for moment in (ONE_AM, shanghai(10, 2), shanghai(13, 3)):
            clock.set(moment)
            together(*(process.scheduler.tick for process in processes))
            together(*(process.scheduler.tick for process in processes))
        days = [date(2026, 3, day) for day in range(9, 14)]
        assert sorted(processes[0].ran + processes[1].ran) == days
        with processes[0].store.read() as connection:
            stored = connection.execute(select(api_daily_runs.c.day, api_daily_runs.c.attempts)).all()
        assert sorted(stored) == [(day, 1) for day in days]
    finally:
        for process in processes:
            process.close()


def together(*calls: Callable[[], Any]) -> None:
    """Each call on its own thread, all released at once."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> None:
        start.wait()
        call()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

"""The daily job on its own: every service process runs a scheduler, and the job of each business day runs once,
at the billing document's `daily_job_at` in its timezone, in whichever process gets there first.

- **Once across processes.** A run holds the database's daily-job lock: on PostgreSQL a session advisory lock
  (`pg_try_advisory_lock`, keyed by the schema, released with its connection if the process dies), on SQLite an
  exclusive lock on a file beside the database (`<file>-daily-job.lock`), in memory a lock of the process. A
  process that does not get it leaves the day to the holder.
- **A durable record.** Holding the lock, the scheduler reads `api_daily_runs`, the days run: a day is `running`
  while its job runs and `done` once it finished. The job itself is idempotent per day (overdue marking and stage
  changes happen once, each reminder is recorded once), so a day left `running` by a process that died is simply
  run again.
- **Catching up.** After downtime each missed day runs in order, as of that day; the first run ever is the latest
  day due (nothing before the service existed).

In sandbox mode business time is the test clock, which any process may move: the scheduler takes up where it was
moved to before each look (`refresh`), and the process that moved it is woken at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from api.processes.background import Background
from api.store import ApiStore, api_daily_runs, upsert
from leasecore.application import DailyReport, LeaseApplication
from leasecore.errors import LeaseError
from projections.runner import ProjectionRunner, lock_key
from projections.store import ViewStore

log = logging.getLogger(__name__)

LOCK_NAME = "leasecore-daily-job"


class DailyLock(Protocol):
    """Held by one process at a time; `hold` yields whether this one got it, without waiting."""

    def hold(self) -> AbstractContextManager[bool]: ...


@dataclass(frozen=True)
class DailyRun:
    day: date
    state: str
    attempts: int
    process: str
    started_at: datetime
    finished_at: datetime | None
    looked_at: int | None
    cancelled: int | None
    assessed: int | None
    stage_changes: int | None
    reminders: int | None
    detail: str | None


@dataclass(frozen=True)
class DailySchedule:
    """When the daily job runs, what it last finished and when it runs next (None until billing is configured)."""

    daily_job_at: str | None
    timezone: str | None
    last_day: date | None
    next_run_at: datetime | None
    runs: list[DailyRun]


def daily_runs(store: ApiStore, *, limit: int = 30, offset: int = 0) -> list[DailyRun]:
    """The daily job's runs, latest day first."""
    query = select(api_daily_runs).order_by(api_daily_runs.c.day.desc()).limit(limit).offset(offset)
    with store.read() as connection:
        return [DailyRun(**row) for row in connection.execute(query).mappings()]


def last_day_done(store: ApiStore) -> date | None:
    with store.read() as connection:
        day: date | None = connection.execute(
            select(func.max(api_daily_runs.c.day)).where(api_daily_runs.c.state == "done")
        ).scalar_one_or_none()
    return day


def schedule(app: LeaseApplication, store: ApiStore, *, limit: int = 30, offset: int = 0) -> DailySchedule:
    runs, last = daily_runs(store, limit=limit, offset=offset), last_day_done(store)
    try:
        billing = app.billing_policy()
    except LeaseError:
        return DailySchedule(None, None, last, None, runs)
    next_day = last + timedelta(days=1) if last else billing.last_daily_run(app.clock.now())
    return DailySchedule(
        billing.daily_job_at.strftime("%H:%M"), billing.timezone, last, billing.daily_run_at(next_day), runs
    )


class DailyScheduler:
    """Runs the daily job of each business day once, at `daily_job_at`, catching up the days missed."""

    def __init__(
        self,
        app: LeaseApplication,
        runner: ProjectionRunner,
        store: ApiStore,
        *,
        refresh: Callable[[], None] = lambda: None,
        interval: float = 2.0,
        retry_after: float = 60.0,
        read_timeout: float = 30.0,
        before: Callable[[date], object] = lambda day: None,
    ) -> None:
        """`before` runs first on each day, before its daily job (the auto-debit charges of that day)."""
        self.app, self.runner, self.store = app, runner, store
        self.before = before
        self.refresh, self.retry_after, self.read_timeout = refresh, retry_after, read_timeout
        self.lock = daily_lock(store.views)
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._done_through: date | None = None
        self._failed_until = 0.0
        self._background = Background("scheduler", self.tick, interval)
        self.run_listeners: list[Callable[[str], None]] = []
        """Told how each day's run ended, `done` or `failed` (the service's metrics)."""

    def tick(self) -> list[date]:
        """Run each day due and not yet done, oldest first; returns the days this call ran."""
        if time.monotonic() < self._failed_until:
            return []
        self.refresh()
        try:
            billing = self.app.billing_policy()
        except LeaseError:
            return []
        latest = billing.last_daily_run(self.app.clock.now())
        if self._done_through is not None and self._done_through >= latest:
            return []
        ran: list[date] = []
        with self.lock.hold() as held:
            if not held:
                return ran
            for day in self._days_due(latest):
                try:
                    self._run(day)
                except Exception as error:
                    log.exception("the daily job of %s failed; trying again in %.0f s", day, self.retry_after)
                    self._record(day, state="failed", detail=str(error) or type(error).__name__)
                    self._failed_until = time.monotonic() + self.retry_after
                    self._ran("failed")
                    return ran
                self._ran("done")
                ran.append(day)
            self._done_through = latest
        return ran

    def wake(self) -> None:
        """Business time moved (the sandbox clock): look now."""
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def _ran(self, outcome: str) -> None:
        for listener in self.run_listeners:
            listener(outcome)

    def _days_due(self, latest: date) -> list[date]:
        last = last_day_done(self.store)
        if last is None:
            return [latest]
        return [last + timedelta(days=n) for n in range(1, (latest - last).days + 1)]

    def _run(self, day: date) -> DailyReport:
        now = self.app.clock.now()
        with self.store.begin() as connection:
            attempts = connection.execute(
                select(api_daily_runs.c.attempts).where(api_daily_runs.c.day == day)
            ).scalar_one_or_none()
            row = {
                "day": day,
                "state": "running",
                "attempts": (attempts or 0) + 1,
                "process": self.process,
                "started_at": now,
                **dict.fromkeys(("finished_at", "looked_at", "cancelled", "assessed", "stage_changes", "reminders")),
                "detail": None,
            }
            upsert(connection, api_daily_runs, row, ("day",))
        if not self.runner.wait_until(self.app.recorder.max_notification_id() or 0, self.read_timeout):
            log.warning("the read models lag behind the log; the daily job of %s runs on what they show", day)
        self.before(day)
        report = self.app.run_daily(day)
        self._record(
            day,
            state="done",
            finished_at=self.app.clock.now(),
            looked_at=report.looked_at,
            cancelled=len(report.cancelled),
            assessed=len(report.assessed),
            stage_changes=len(report.stage_changes),
            reminders=len(report.reminders),
        )
        log.info("daily job of %s done: %d order(s), %d reminder(s)", day, report.looked_at, len(report.reminders))
        return report

    def _record(self, day: date, **values: Any) -> None:
        with self.store.begin() as connection:
            connection.execute(update(api_daily_runs).where(api_daily_runs.c.day == day).values(**values))


# The daily-job lock of each kind of database.


def daily_lock(views: ViewStore) -> DailyLock:
    if views.is_postgres:
        return AdvisoryLock(views)
    database = make_url(str(views.engine.url)).database
    if database and database != ":memory:":
        return FileLock(Path(f"{database}-daily-job.lock"))
    return ProcessLock()


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, keyed by the schema and the lock's name."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views

    @contextmanager
    def hold(self) -> Iterator[bool]:
        with self.views.engine.connect() as connection:
            schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
            key = lock_key(schema, LOCK_NAME)
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one())
            connection.commit()
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()


class FileLock:
    """An exclusive `flock` on a file beside the SQLite database; the system drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def hold(self) -> Iterator[bool]:
        with self.path.open("a") as file:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


class ProcessLock:
    """For an in-memory database, which only this process sees."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[bool]:
        held = self._lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                self._lock.release()

"""The one place that wires: the application on a database, its read models and their runner."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from leasecore.application import DEFAULT_DATABASE_URL, LeaseApplication, persistence_env
from leasecore.errors import LeaseError
from leasecore.ports import Clock
from projections import read_models
from projections.queries import ViewsDailyWork
from projections.runner import ProjectionRunner
from projections.store import ViewStore

DEFAULT_TIMEZONE = "Asia/Shanghai"


def database_url(given: str | None = None) -> str:
    """The URL given, else LEASECORE_DATABASE_URL, else a SQLite file ./leasecore.db."""
    return given or os.environ.get("LEASECORE_DATABASE_URL") or DEFAULT_DATABASE_URL


@dataclass
class Platform:
    """The application, the store of its read models and the runner that keeps them current."""

    app: LeaseApplication
    views: ViewStore
    runner: ProjectionRunner

    def read_your_writes(self, timeout: float = 2.0) -> bool:
        """Wait until every read model shows everything saved so far (call it after a command)."""
        return self.runner.wait_until(self.app.recorder.max_notification_id() or 0, timeout)

    def close(self) -> None:
        self.runner.close()
        self.views.close()
        _close(self.app)


def bootstrap(
    url: str | None = None,
    *,
    clock: Clock | None = None,
    follow: bool = False,
    batch_size: int = 500,
    poll_interval: float = 1.0,
    env: Mapping[str, str] | None = None,
) -> Platform:
    """Build the application for a database URL with a clock, its read models in the same database
    (in-memory SQLite for `memory:`), the daily job's work list read from them, and their runner;
    `follow` starts the runner's background thread. `env` adds eventsourcing settings."""
    url = database_url(url)
    views = ViewStore.for_database(url)
    app: LeaseApplication | None = None
    try:
        app = LeaseApplication({**persistence_env(url), **(env or {})}, clock=clock, daily_work=ViewsDailyWork(views))
        app.recorder.max_notification_id()
        runner = ProjectionRunner(
            app, views, read_models(_billing_timezone(app)), batch_size=batch_size, poll_interval=poll_interval
        )
    except BaseException:
        views.close()
        if app is not None:
            _close(app)
        raise
    if follow:
        runner.start()
    return Platform(app, views, runner)


def _billing_timezone(app: LeaseApplication) -> str:
    """Finance books each day in the billing document's timezone (Asia/Shanghai until configured)."""
    try:
        return app.billing_policy().timezone
    except LeaseError:
        return DEFAULT_TIMEZONE


def _close(app: LeaseApplication) -> None:
    """Release the event store's connections (PostgreSQL keeps a pool per engine)."""
    engine = getattr(getattr(app.factory, "datastore", None), "engine", None)
    if engine is not None:
        engine.dispose()
    app.close()

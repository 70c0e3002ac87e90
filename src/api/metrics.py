"""What the service tells Prometheus about itself (`GET /metrics`): its requests, the commands that met another
writer, how far behind the read models are, the outbox, the daily job and the calls to providers.

Each service has its own registry, not the library's global one: a test process builds many services, and two
services in one process must not count into each other. Labels are bounded by design: a route is its template
(`/v1/orders/{id}`), never the path asked; a provider's error code only if it looks like one. Nothing personal is
ever a label, so the page can be served without a token (docs/http-api.md says where to keep it from the
internet).

Figures kept in the database (read-model positions, the log's head, the outbox's depth) are read when Prometheus
asks, by a collector, rather than counted on every write; what happens in this process (requests, conflicts,
failures, runs, provider calls) is counted as it happens.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, or_, select

from api.processes.outbox import MessageSender
from api.processes.scheduler import DailyScheduler
from api.store import ApiStore, api_outbox
from leasecore.application.base import Commands
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTENT_TYPE = CONTENT_TYPE_LATEST
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROVIDER_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LOCAL_OPERATIONS = frozenset({"verify_notification", "verify_push", "verify_callback", "push_acknowledgement"})
"""Port methods that check a message already received: no call goes out, so none is timed."""
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_DIGITS = re.compile(r"\d{7}")


class Metrics:
    """The service's counters and histograms, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "leasecore_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=registry
        )
        self.request_seconds = Histogram(
            "leasecore_http_request_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            buckets=SECONDS,
            registry=registry,
        )
        self.conflicts = Counter(
            "leasecore_command_conflicts",
            "Saves refused because another writer got there first",
            ["command"],
            registry=registry,
        )
        self.retries = Counter(
            "leasecore_command_retries",
            "Commands run again from a fresh load after a conflict",
            ["command"],
            registry=registry,
        )
        self.outbox_failures = Counter(
            "leasecore_outbox_failures", "Text messages the SMS provider did not take", registry=registry
        )
        self.scheduler_runs = Counter(
            "leasecore_scheduler_runs", "Daily-job runs of a business day, by outcome", ["outcome"], registry=registry
        )
        self.provider_seconds = Histogram(
            "leasecore_provider_call_seconds",
            "Time a call to an outside provider took",
            ["provider", "operation"],
            buckets=PROVIDER_SECONDS,
            registry=registry,
        )
        self.provider_errors = Counter(
            "leasecore_provider_errors",
            "Calls to an outside provider that failed, by the provider's code",
            ["provider", "operation", "code"],
            registry=registry,
        )

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)

    def conflict(self, command: str, retried: bool) -> None:
        self.conflicts.labels(command).inc()
        if retried:
            self.retries.labels(command).inc()

    def outbox_failed(self) -> None:
        self.outbox_failures.inc()

    def scheduler_ran(self, outcome: str) -> None:
        self.scheduler_runs.labels(outcome).inc()

    def provider_call(self, provider: str, operation: str, seconds: float, error: BaseException | None) -> None:
        self.provider_seconds.labels(provider, operation).observe(seconds)
        if error is not None:
            self.provider_errors.labels(provider, operation, error_code(error)).inc()

    def meter(self, port: T, provider: str) -> T:
        """The port with each outbound call timed and each failure counted under `provider`."""
        return cast(T, Metered(port, provider, self))

    def observe(
        self,
        app: Commands,
        runner: ProjectionRunner,
        store: ApiStore,
        messages: MessageSender,
        scheduler: DailyScheduler,
    ) -> None:
        """Count what the application and the background work report, and read the database's figures when
        asked."""
        app.conflict_listeners.append(self.conflict)
        messages.failure_listeners.append(self.outbox_failed)
        scheduler.run_listeners.append(self.scheduler_ran)
        self.registry.register(StoredFigures(runner, store))

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def error_code(error: BaseException) -> str:
    """The provider's own code when the error carries one that looks like a code (short, no long run of digits that
    could be a phone or ID number), else the error's kind."""
    code = str(getattr(error, "code", "") or "")
    return code if _CODE.fullmatch(code) and not _DIGITS.search(code) else type(error).__name__


class Metered:
    """A port seen through its metrics: every public method but those checking a received message is timed, and
    counted as an error when it raises; attributes pass through. Wrapping the ports here, where the service is
    wired, keeps the adapters free of metrics and sees what an HTTP hook could not: the provider's own error
    code, which several providers answer inside a 200. `isinstance` sees the port's own class: code that picks
    by the adapter (the bill sources, tests) sees through it."""

    def __init__(self, port: object, provider: str, metrics: Metrics) -> None:
        self._port, self._provider, self._metrics = port, provider, metrics

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """The port's class, so `isinstance` picks by the adapter as before (as `unittest.mock` does for a spec)."""
        return type(self._port)

    def __getattr__(self, name: str) -> Any:
        if "_port" not in vars(self):
            raise AttributeError(name)  # a copy being built, before __init__ ran
        found = getattr(self._port, name)
        if name.startswith("_") or name in LOCAL_OPERATIONS or not callable(found):
            return found
        return self._timed(name, found)

    def _timed(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(call)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = call(*args, **kwargs)
            except Exception as error:
                self._metrics.provider_call(self._provider, operation, time.perf_counter() - started, error)
                raise
            self._metrics.provider_call(self._provider, operation, time.perf_counter() - started, None)
            return result

        return timed

    def __repr__(self) -> str:
        return f"Metered({self._port!r}, {self._provider!r})"


class StoredFigures(Collector):
    """Read at each scrape: each read model's position, the log's head, how far the slowest read model is behind
    it, and how many text messages wait in the outbox."""

    def __init__(self, runner: ProjectionRunner, store: ApiStore) -> None:
        self.runner, self.store = runner, store

    def collect(self) -> Iterator[Metric]:
        try:
            statuses = self.runner.status()
            depth = outbox_depth(self.store)
        except Exception as error:
            log.warning("the database's figures could not be read for /metrics: %s", error)
            return
        positions = GaugeMetricFamily(
            "leasecore_projection_position", "The last event each read model applied", labels=["read_model"]
        )
        for status in statuses:
            positions.add_metric([status.name], status.position)
        yield positions
        head = statuses[0].head if statuses else 0
        yield GaugeMetricFamily("leasecore_event_log_head", "The last event recorded", value=head)
        lag = max((status.lag for status in statuses), default=0)
        yield GaugeMetricFamily("leasecore_projection_lag_events", "Events the slowest read model is behind", value=lag)
        yield GaugeMetricFamily(
            "leasecore_outbox_depth", "Text messages waiting to be sent or tried again", value=depth
        )


def outbox_depth(store: ApiStore) -> int:
    """Messages pending, being sent, or failed with a retry still to come."""
    table = api_outbox.c
    waiting = or_(table.state.in_(("pending", "sending")), and_(table.state == "failed", table.retry_at.is_not(None)))
    with store.read() as connection:
        return int(connection.execute(select(func.count()).select_from(api_outbox).where(waiting)).scalar_one())


def read_models_lag(runner: ProjectionRunner) -> int:
    """How many events the slowest read model is behind the log's head."""
    return max((status.lag for status in runner.status()), default=0)

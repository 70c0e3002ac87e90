"""The metrics count what happens where it happens: a command meeting another writer, a message the SMS provider
refused, a daily-job run and how it ended, a provider call and the provider's error code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.errors import IdentityProviderError, SmsFailed
from adapters.payments.sandbox import SandboxPayments
from api.bootstrap import Platform, Settings, bootstrap
from api.metrics import Metrics, error_code
from api.processes.outbox import MessageSender
from api.processes.scheduler import DailyScheduler
from api.store import ApiStore
from leasecore.application import LeaseApplication
from leasecore.application.base import command
from leasecore.clock import SettableClock
from leasecore.errors import Busy
from leasecore.ports import PaymentGateway
from tests.integration.test_outbox import Outbox
from tests.support import BILLING, START


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return found or 0.0


@pytest.fixture
def platform() -> Iterator[Platform]:
    platform = bootstrap("memory:", clock=SettableClock(START))
    yield platform
    platform.close()


class Contended:
    """A command whose first `conflicts` saves another writer beats."""

    def __init__(self, app: LeaseApplication, conflicts: int) -> None:
        self._running, self.retries, self.left = app._running, app.retries, conflicts
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    @command
    def place_order(self) -> str:
        if self.left:
            self.left -= 1
            raise IntegrityError("another writer got there first")
        return "saved"


def test_each_conflict_is_counted_under_its_command_and_each_retry_too(platform: Platform) -> None:
    metrics = Metrics()
    platform.app.conflict_listeners.append(metrics.conflict)
    assert Contended(platform.app, conflicts=2).place_order() == "saved"
    assert sample(metrics, "leasecore_command_conflicts_total", command="place_order") == 2
    assert sample(metrics, "leasecore_command_retries_total", command="place_order") == 2
    with pytest.raises(Busy):
        Contended(platform.app, conflicts=platform.app.retries).place_order()
    assert sample(metrics, "leasecore_command_conflicts_total", command="place_order") == 2 + platform.app.retries
    assert sample(metrics, "leasecore_command_retries_total", command="place_order") == 2 + platform.app.retries - 1
    assert platform.app.conflicts == 2 + platform.app.retries


class Refusing:
    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        raise SmsFailed("isv.BUSINESS_LIMIT_CONTROL")


def test_each_message_the_provider_refused_is_counted() -> None:
    clock = SettableClock(START)
    platform = bootstrap("memory:", clock=clock)
    try:
        outbox = Outbox(platform, clock)
        outbox.overdue_orders(2)
        metrics = Metrics()
        sender: MessageSender = outbox.sender(Refusing())
        sender.failure_listeners.append(metrics.outbox_failed)
        assert sender.dispatch() == 0
        assert sample(metrics, "leasecore_outbox_failures_total") == 2
        assert [state for state, _ in outbox.states()] == ["failed", "failed"]
    finally:
        platform.close()


def test_each_daily_run_is_counted_by_its_outcome() -> None:
    clock = SettableClock(datetime(2026, 3, 9, 17, 0, tzinfo=UTC))
    platform = bootstrap("memory:", clock=clock)
    try:
        store = ApiStore(platform.views)
        store.setup()
        scheduler = DailyScheduler(platform.app, platform.runner, store, retry_after=0.0)
        metrics = Metrics()
        scheduler.run_listeners.append(metrics.scheduler_ran)
        platform.app.configure("billing", BILLING)
        assert scheduler.tick() == [date(2026, 3, 9)]
        clock.set(datetime(2026, 3, 10, 18, 0, tzinfo=UTC))

        def failing(as_of: date | None = None) -> Any:
            raise RuntimeError("the database went away")

        platform.app.run_daily = failing  # type: ignore[method-assign]
        assert scheduler.tick() == []
        assert sample(metrics, "leasecore_scheduler_runs_total", outcome="done") == 1
        assert sample(metrics, "leasecore_scheduler_runs_total", outcome="failed") == 1
    finally:
        platform.close()


class Identity:
    """A provider port: one outbound call that fails with the provider's code, one local check, one attribute."""

    provider = "tencent"

    def verify(self, name: str, id_number: str, id_card_image: bytes, selfie_image: bytes) -> Any:
        raise IdentityProviderError("the face does not match", code="FailedOperation.CompareFail")

    def score(self) -> int:
        raise SmsFailed("no code on this one")

    def verify_callback(self, body: bytes, headers: dict[str, str]) -> str:
        raise ValueError("not signed")


def test_provider_calls_are_timed_and_failures_counted_by_the_providers_code() -> None:
    metrics = Metrics()
    port = metrics.meter(Identity(), "identity.tencent")
    assert port.provider == "tencent" and not hasattr(port, "freeze")
    for _ in range(2):
        with pytest.raises(IdentityProviderError):
            port.verify("张三", "110101199003071234", b"", b"")
    with pytest.raises(SmsFailed):
        port.score()
    with pytest.raises(ValueError):
        port.verify_callback(b"", {})
    labels = {"provider": "identity.tencent"}
    assert sample(metrics, "leasecore_provider_call_seconds_count", **labels, operation="verify") == 2
    errors = "leasecore_provider_errors_total"
    assert sample(metrics, errors, **labels, operation="verify", code="FailedOperation.CompareFail") == 2
    assert sample(metrics, errors, **labels, operation="score", code="SmsFailed") == 1
    assert sample(metrics, "leasecore_provider_call_seconds_count", **labels, operation="verify_callback") == 0
    assert b"110101199003071234" not in metrics.exposition()


def test_an_error_code_that_could_be_a_number_of_a_person_is_not_a_label() -> None:
    assert error_code(IdentityProviderError("refused", code="InvalidParameter.IdCard")) == "InvalidParameter.IdCard"
    assert error_code(IdentityProviderError("refused", code="13800138000")) == "IdentityProviderError"
    assert error_code(IdentityProviderError("refused", code="a b")) == "IdentityProviderError"
    assert error_code(SmsFailed("no code")) == "SmsFailed"


def test_a_metered_gateway_answers_as_the_gateway() -> None:
    metrics = Metrics()
    gateway: PaymentGateway = metrics.meter(SandboxPayments(SettableClock(START)), "payments.sandbox")
    request = gateway.create_payment("pay-1", Decimal("10.00"), "rent", "http://127.0.0.1/notify")
    assert request.amount == Decimal("10.00") and gateway.provider == "sandbox"
    labels = {"provider": "payments.sandbox", "operation": "create_payment"}
    assert sample(metrics, "leasecore_provider_call_seconds_count", **labels) == 1


def test_the_readiness_bound_comes_from_the_environment() -> None:
    assert Settings.from_env({}).ready_max_lag == 1000
    assert Settings.from_env({"LEASECORE_READY_MAX_LAG": "0"}).ready_max_lag == 0
    for wrong in ("-1", "ten", "1.5"):
        with pytest.raises(ValueError, match="LEASECORE_READY_MAX_LAG"):
            Settings.from_env({"LEASECORE_READY_MAX_LAG": wrong})

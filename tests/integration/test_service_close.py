"""Stopping the service takes a bounded time, whatever its background work is doing: `leasecore serve` must be
gone within 10 s of a SIGTERM."""

from __future__ import annotations

import time

import pytest

from api.bootstrap import Settings, build_service


def test_close_waits_for_busy_background_work_only_so_long(monkeypatch: pytest.MonkeyPatch) -> None:
    service = build_service(Settings(database_url="memory:"))
    service.start()
    stopped: list[str] = []
    monkeypatch.setattr(service.scheduler, "stop", lambda: time.sleep(30))
    monkeypatch.setattr(service.messages, "stop", lambda: stopped.append("outbox"))
    began = time.monotonic()
    service.close(within=0.5)
    assert time.monotonic() - began < 2
    assert stopped == ["outbox"]
    assert not service.platform.runner.following


def test_close_stops_everything_and_closes_the_stores_when_nothing_is_busy() -> None:
    service = build_service(Settings(database_url="memory:"))
    service.start()
    began = time.monotonic()
    service.close()
    assert time.monotonic() - began < 2
    assert not service.platform.runner.following

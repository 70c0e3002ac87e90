"""Clocks: the system clock for production and a settable one for tests and the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Lock


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A test clock that only moves forward, as time does."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now, self._lock = start, Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        _require_aware(instant)
        with self._lock:
            if instant < self._now:
                raise ValueError(f"the clock never goes back: it is {self._now.isoformat()} already")
            self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        self.set(self._now + delta)
        return self._now


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError("the clock keeps timezone-aware instants")

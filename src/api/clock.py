"""The sandbox's test clock: real time shifted by an offset that only ever grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Lock


class SandboxClock:
    """Ticks with real time; `set` jumps it forward (never back), so every time-dependent rule can be driven."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset, self._lock = max(offset, timedelta(0)), Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def restore(self, offset: timedelta) -> None:
        """Take up an offset kept from an earlier run, unless this clock is already further ahead."""
        with self._lock:
            self._offset = max(self._offset, offset)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("the clock keeps timezone-aware instants")
        with self._lock:
            now = self.now()
            if instant < now:
                raise ValueError(f"the clock never goes back: it is {now.isoformat()} already")
            self._offset += instant - now

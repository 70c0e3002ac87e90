"""A step of background work run on its own thread: when woken, and every so many seconds in case another
process left work or a retry fell due."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Background:
    """Runs `step` on a daemon thread when woken and every `interval` seconds; a step that raises is logged and
    run again at the next turn."""

    def __init__(self, name: str, step: Callable[[], object], interval: float) -> None:
        self.name, self.step, self.interval = name, step, interval
        self._stopping, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"leasecore-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception as error:
                log.warning("%s failed; trying again: %s", self.name, error)
            self._wake.wait(self.interval)
            self._wake.clear()

"""Sending takes from deposit freezes and unfreezes to the payment providers (押金预授权): each one the domain
decided is asked under its own ref, which the provider dedupes on, and confirmed by an event once the provider has
done it; a failed or unanswered call is asked again later with the same ref, so a crash between the provider's
answer and the event is recovered exactly once."""

from __future__ import annotations

import logging
import threading
from uuid import UUID

from leasecore.application import LeaseApplication
from projections.orders import orders_with_freeze_operations
from projections.store import ViewStore

log = logging.getLogger(__name__)


class FreezeDispatcher:
    """Asks the providers for the takes and unfreezes not yet confirmed, order by order, in the order decided."""

    def __init__(self, app: LeaseApplication, views: ViewStore) -> None:
        self.app, self.views = app, views
        self._lock = threading.Lock()
        self._stopping, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def dispatch(self, limit: int = 100) -> int:
        """Send what is pending now; returns how many the providers confirmed in this call."""
        confirmed = 0
        with self._lock:
            for order_id in orders_with_freeze_operations(self.views, limit):
                confirmed += self._send(order_id)
        return confirmed

    def _send(self, order_id: UUID) -> int:
        try:
            receipts = self.app.send_freeze_operations(order_id)
        except Exception as error:
            log.warning("freeze operations of order %s failed; asking again later: %s", order_id, error)
            return 0
        for receipt in receipts:
            if not receipt.accepted:
                log.warning("%s refused %s of order %s: %s", receipt.provider, receipt.ref, order_id, receipt.reason)
        return sum(1 for receipt in receipts if receipt.accepted)

    def wake(self) -> None:
        """New takes or unfreezes may be there (the runner applied a batch): send them now."""
        self._wake.set()

    def start(self, interval: float = 30.0) -> None:
        """Send in the background when woken, and every `interval` seconds (retries, other processes' work)."""
        if self._thread is not None:
            return
        self._stopping.clear()

        def loop() -> None:
            while not self._stopping.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                if self._stopping.is_set():
                    return
                try:
                    self.dispatch()
                except Exception as error:
                    log.warning("freeze dispatch failed; retrying: %s", error)

        self._thread = threading.Thread(target=loop, name="leasecore-freezes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

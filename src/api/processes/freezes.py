"""Sending takes from deposit freezes and unfreezes to the payment providers (押金预授权): each one the domain
decided is asked under its own ref, which the provider dedupes on, and confirmed by an event once the provider has
done it; a failed or unanswered call is asked again later with the same ref, so a crash between the provider's
answer and the event is recovered exactly once. A freeze asked and never notified is asked of its provider from 5
minutes on, every 10 minutes for a day (by business time), so money frozen after a lost notification is recorded,
and unfrozen when its order has gone."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from uuid import UUID

from api.processes.background import Background
from leasecore.application import LeaseApplication
from leasecore.money.deposit import Deposit
from leasecore.topics import stored_topics
from projections.orders import freezes_unnotified, orders_with_freeze_operations
from projections.store import ViewStore

log = logging.getLogger(__name__)

FIRST_ASK = timedelta(minutes=5)
ASK_EVERY = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=1)


class FreezeDispatcher:
    """Asks the providers for the takes and unfreezes not yet confirmed, order by order, in the order decided."""

    topics = (*stored_topics(Deposit.TakeFromFreezeRequested), *stored_topics(Deposit.UnfreezeRequested))
    """Woken by the runner after batches holding these events (new operations to send); freezes never notified
    are asked about on the 30-second round."""

    def __init__(self, app: LeaseApplication, views: ViewStore) -> None:
        self.app, self.views = app, views
        self._next_ask: dict[UUID, datetime] = {}
        """When each order asked lately may be asked again; one whose time has come counts as never asked, so its
        entry goes at the next round and only those still waiting are held."""
        self._lock = threading.Lock()
        self._background = Background("freezes", self._step, 30.0)

    def dispatch(self, limit: int = 100) -> int:
        """Send what is pending now; returns how many the providers confirmed in this call."""
        confirmed = 0
        with self._lock:
            for order_id in orders_with_freeze_operations(self.views, limit):
                confirmed += self._send(order_id)
        return confirmed

    def ask_unnotified(self, limit: int = 100) -> int:
        """Ask the providers about freezes never notified that are due to be asked; returns how many were found
        frozen and recorded now."""
        now = self.app.clock.now()
        recorded = 0
        with self._lock:
            self._next_ask = {order_id: at for order_id, at in self._next_ask.items() if at > now}
            for order_id in freezes_unnotified(self.views, (now - GIVE_UP_AFTER, now - FIRST_ASK), limit):
                if self._next_ask.get(order_id, now) > now:
                    continue
                self._next_ask[order_id] = now + ASK_EVERY
                try:
                    recorded += self.app.settle_pending_freeze(order_id)
                except Exception as error:
                    log.warning("asking about the freeze of order %s failed; asking again later: %s", order_id, error)
        return recorded

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

    def _step(self) -> None:
        self.dispatch()
        self.ask_unnotified()

    def wake(self) -> None:
        """New takes or unfreezes may be there (the runner applied a batch): send them now."""
        self._background.wake()

    def start(self) -> None:
        """Send in the background when woken, and every 30 seconds (retries, other processes' work)."""
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

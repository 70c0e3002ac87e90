"""The janitor: a payment still pending because its provider's notification was lost is asked of the provider,
5 minutes after it was requested, again at 1 hour, then once a day, so no paid money stays unrecorded.

Each sweep reads, in one query, the pending payments of the `refunds` read model that are due (with when each
was last asked, kept in `api_payment_checks`), at most `limit` of them, least recently asked first; each is
settled by the application (`settle_pending`) exactly as its notification would have settled it. A provider
that fails is logged and asked again at the next sweep. After `give_up_after` (30 days, longer than any provider
keeps an unpaid trade open) a payment is no longer asked about. Ages are by business time (the injected clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select

from api.processes.background import Background
from api.store import ApiStore, api_payment_checks, upsert
from leasecore.application import LeaseApplication
from leasecore.money.payments import PaymentStatus
from projections.refunds import refund_payments_view
from projections.store import ViewStore

log = logging.getLogger(__name__)

FIRST_CHECKS = (timedelta(minutes=5), timedelta(hours=1))
DAY = timedelta(days=1)
GIVE_UP_AFTER = timedelta(days=30)
ERROR = "error"


def next_check(requested_at: datetime, now: datetime) -> datetime:
    """When a payment requested at `requested_at` is next asked about after `now`: at 5 minutes of age, at 1 hour,
    then at each whole day."""
    age = now - requested_at
    for after in FIRST_CHECKS:
        if age < after:
            return requested_at + after
    return requested_at + (age // DAY + 1) * DAY


@dataclass(frozen=True)
class Sweep:
    """What one sweep did: the payments it asked about, and what became of them."""

    asked: int = 0
    succeeded: list[UUID] = field(default_factory=list)
    failed: list[UUID] = field(default_factory=list)
    errors: dict[UUID, str] = field(default_factory=dict)

    @property
    def still_pending(self) -> int:
        return self.asked - len(self.succeeded) - len(self.failed) - len(self.errors)


class PaymentJanitor:
    """Settles payments whose notification never came by asking their provider, on the 5 min, 1 h, daily plan."""

    def __init__(
        self,
        app: LeaseApplication,
        views: ViewStore,
        store: ApiStore,
        *,
        refresh: Callable[[], None] = lambda: None,
        limit: int = 100,
        interval: float = 60.0,
        give_up_after: timedelta = GIVE_UP_AFTER,
    ) -> None:
        self.app, self.views, self.store = app, views, store
        self.refresh, self.limit, self.give_up_after = refresh, limit, give_up_after
        self._background = Background("janitor", self.sweep, interval)

    def sweep(self) -> Sweep:
        """Ask about every payment due now, at most `limit` of them; one that fails is asked again next sweep."""
        self.refresh()
        now = self.app.clock.now()
        due = self._due(now)
        sweep = Sweep(asked=len(due))
        for row in due:
            self._settle(row, now, sweep)
        return sweep

    def wake(self) -> None:
        """Business time moved (the sandbox clock): look now."""
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def _due(self, now: datetime) -> list[Any]:
        payments, checks = refund_payments_view.c, api_payment_checks.c
        query = (
            select(payments.payment_id, payments.requested_at, checks.checks)
            .select_from(refund_payments_view.outerjoin(api_payment_checks, checks.payment_id == payments.payment_id))
            .where(
                payments.status == PaymentStatus.PENDING.value,
                payments.requested_at <= now - FIRST_CHECKS[0],
                payments.requested_at > now - self.give_up_after,
                or_(checks.next_check_at.is_(None), checks.next_check_at <= now),
            )
            .order_by(func.coalesce(checks.checked_at, payments.requested_at), payments.payment_id)
            .limit(self.limit)
        )
        with self.views.read() as connection:
            return list(connection.execute(query).mappings())

    def _settle(self, row: Any, now: datetime, sweep: Sweep) -> None:
        payment_id = row["payment_id"]
        try:
            status = self.app.settle_pending(payment_id)
        except Exception as error:
            log.warning("asking the provider about payment %s failed; asking again next sweep: %s", payment_id, error)
            sweep.errors[payment_id] = str(error) or type(error).__name__
            self._record(row, now, ERROR, sweep.errors[payment_id], next_check_at=now)
            return
        if status is PaymentStatus.SUCCEEDED:
            log.info("payment %s was paid though its notification never came: recorded", payment_id)
            sweep.succeeded.append(payment_id)
        elif status is PaymentStatus.FAILED:
            sweep.failed.append(payment_id)
        self._record(row, now, status.value, None, next_check_at=next_check(row["requested_at"], now))

    def _record(self, row: Any, now: datetime, state: str, detail: str | None, *, next_check_at: datetime) -> None:
        checked = {
            "payment_id": row["payment_id"],
            "checks": (row["checks"] or 0) + 1,
            "state": state,
            "detail": detail,
            "checked_at": now,
            "next_check_at": next_check_at,
        }
        with self.store.begin() as connection:
            upsert(connection, api_payment_checks, checked, ("payment_id",))

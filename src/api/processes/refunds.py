"""Sending refunds back through the payment providers: each instruction the `refunds` read model makes
is claimed once in `api_refund_outcomes`, sent with its derived id (so a retry is harmless), and the
provider's answer kept; a failed call is tried again later. Kept apart from the read model, so a rebuild
never forgets what was sent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, or_, select, update

from api.processes.background import Background
from api.store import ApiStore, api_refund_outcomes, insert_ignore
from leasecore.ports import PaymentGateway
from projections.prepared import Prepared
from projections.refunds import MAKING_REFUNDS, refunds_view
from projections.store import ViewStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundRecord:
    refund_id: str
    order_id: UUID
    payment_id: UUID | None
    provider: str | None
    amount: Decimal
    reason: str
    state: str
    detail: str | None
    attempts: int
    created_at: datetime


def refunds(views: ViewStore, *, order_id: UUID | None = None, limit: int = 100, offset: int = 0) -> list[RefundRecord]:
    """Refund instructions with what the provider answered, newest first."""
    if order_id is not None:
        return [_record(row) for row in _ORDER_REFUNDS.all(views, order_id=order_id, limit=limit, offset=offset)]
    query = _with_outcomes().order_by(refunds_view.c.created_at.desc(), refunds_view.c.refund_id)
    with views.read() as connection:
        return [_record(row) for row in connection.execute(query.limit(limit).offset(offset)).mappings()]


def refund(views: ViewStore, refund_id: str) -> RefundRecord | None:
    """One refund instruction with what the provider answered; None when there is no such refund."""
    with views.read() as connection:
        row = connection.execute(_with_outcomes().where(refunds_view.c.refund_id == refund_id)).mappings().first()
    return _record(row) if row is not None else None


def _with_outcomes() -> Any:
    outcomes = api_refund_outcomes.c
    return select(
        refunds_view, outcomes.state, outcomes.detail, outcomes.attempts, outcomes.updated_at.label("sent_at")
    ).select_from(refunds_view.outerjoin(api_refund_outcomes, outcomes.refund_id == refunds_view.c.refund_id))


_ORDER_REFUNDS = Prepared(
    _with_outcomes()
    .where(refunds_view.c.order_id == bindparam("order_id"))
    .order_by(refunds_view.c.created_at.desc(), refunds_view.c.refund_id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def _record(row: Any) -> RefundRecord:
    state = row["state"] or ("unmatched" if row["payment_id"] is None else "pending")
    return RefundRecord(
        refund_id=row["refund_id"],
        order_id=row["order_id"],
        payment_id=row["payment_id"],
        provider=row["provider"],
        amount=row["amount"],
        reason=row["reason"],
        state=state,
        detail=row["detail"],
        attempts=row["attempts"] or 0,
        created_at=row["created_at"],
    )


class RefundDispatcher:
    """Sends pending refund instructions to their providers; a failed call is tried again later."""

    topics = MAKING_REFUNDS
    """Woken by the runner after batches holding these events (new instructions), not after every order."""

    def __init__(
        self,
        views: ViewStore,
        store: ApiStore,
        gateways: Mapping[str, PaymentGateway],
        *,
        retry_after: timedelta = timedelta(seconds=30),
        max_attempts: int = 8,
    ) -> None:
        self.views, self.store, self.gateways = views, store, gateways
        self.retry_after, self.max_attempts = retry_after, max_attempts
        self._lock = threading.Lock()
        self._background = Background("refunds", self.dispatch, 2.0)

    def dispatch(self, limit: int = 100) -> int:
        """Send what is due now; returns how many instructions this call sent."""
        sent = 0
        with self._lock:
            for row in self._due(limit):
                if self._claim(row):
                    self._send(row)
                    sent += 1
        return sent

    def retry(self, refund_id: str) -> bool:
        """Send a failed refund again now rather than at its next turn, even after its last attempt (the same
        derived id goes to the provider, so it refunds at most once). False, and nothing sent, for a refund that
        is not known or has not failed."""
        with self._lock:
            query = _with_outcomes().where(refunds_view.c.refund_id == refund_id)
            with self.views.read() as connection:
                row = connection.execute(query).mappings().first()
            if row is None or row["state"] != "failed" or row["payment_id"] is None or not self._claim(row):
                return False
            self._send(row)
            return True

    def wake(self) -> None:
        """New instructions may be there (the runner applied a batch): send them now."""
        self._background.wake()

    def start(self) -> None:
        """Send in the background when woken, and every 2 seconds (retries, other processes' work)."""
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def _due(self, limit: int) -> list[Any]:
        outcomes = api_refund_outcomes.c
        stale = datetime.now(UTC) - self.retry_after
        retry = and_(
            outcomes.state.in_(("sending", "failed")),
            outcomes.updated_at < stale,
            outcomes.attempts < self.max_attempts,
        )
        query = (
            _with_outcomes()
            .where(refunds_view.c.payment_id.is_not(None), or_(outcomes.refund_id.is_(None), retry))
            .order_by(refunds_view.c.created_at, refunds_view.c.refund_id)
            .limit(limit)
        )
        with self.views.read() as connection:
            return list(connection.execute(query).mappings())

    def _claim(self, row: Any) -> bool:
        now = datetime.now(UTC)
        outcomes = api_refund_outcomes.c
        with self.store.begin() as connection:
            if row["state"] is None:
                claimed = {"refund_id": row["refund_id"], "state": "sending", "attempts": 1, "updated_at": now}
                return insert_ignore(connection, api_refund_outcomes, claimed, ("refund_id",))
            moved = connection.execute(
                update(api_refund_outcomes)
                .where(
                    outcomes.refund_id == row["refund_id"],
                    outcomes.state == row["state"],
                    outcomes.attempts == row["attempts"],
                )
                .values(state="sending", attempts=row["attempts"] + 1, updated_at=now)
            )
            return moved.rowcount == 1

    def _send(self, row: Any) -> None:
        gateway = self.gateways.get(row["provider"])
        try:
            if gateway is None:
                raise LookupError(f"no payment provider {row['provider']!r} is configured")
            receipt = gateway.refund(str(row["payment_id"]), row["refund_id"], row["amount"])
            state, detail = ("accepted", None) if receipt.accepted else ("refused", receipt.reason)
        except Exception as error:
            log.warning("refund %s to %s failed: %s", row["refund_id"], row["provider"], error)
            state, detail = "failed", str(error) or type(error).__name__
        with self.store.begin() as connection:
            connection.execute(
                update(api_refund_outcomes)
                .where(api_refund_outcomes.c.refund_id == row["refund_id"])
                .values(state=state, detail=detail, updated_at=datetime.now(UTC))
            )

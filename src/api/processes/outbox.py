"""The outbox of text messages: each reminder the domain records (`Reminder.Queued`) is copied once from the event
log into `api_outbox`, then sent through the SMS provider by whichever service process claims it first.

How often a message goes out, and why:

- **Never lost.** A reminder is an event, saved in the same transaction as the stage change that causes it (or
  on its own, before a due date). The outbox is derived from the log from a kept position, each row keyed by the
  message's id (derived from order, installment and kind), so a process that dies before copying or before
  sending leaves nothing behind: the next process to run copies and sends what is pending.
- **Never twice: at most once per message.** Before calling the provider a process claims the message (`sending`,
  attempts + 1) in a transaction of its own that only one process can win, and records the answer after. A
  process that dies between the two leaves the message `sending`, and then nobody can know whether the provider
  sent it: Aliyun's SendSms takes no idempotency key (the message id goes as its `OutId`, which only labels
  delivery receipts). Sending it again could send it twice, so after `stale_after` such a message is marked
  `failed` for good, saying why; GET /v1/admin/messages shows it to an operator. The same holds when the request
  reached the provider and no answer came back (`SmsUnconfirmed`). A reminder may so be lost in that one narrow
  window; a second SMS about the same debt is the worse failure for the customer, and for the platform's standing
  with the provider.
- **Refusals are retried.** When the provider refused or could not be reached the message was not sent: it is
  `failed` and tried again at `retry_at`, after a backoff doubling from `retry_after` to `max_backoff`, up to
  `max_attempts` attempts; the last failure stays `failed`.
- **Staff decide the rest.** A message `failed` for good (its attempts spent, or maybe sent) goes out again only
  when a member of staff asks (`resend`, `POST /v1/admin/messages/{id}/resend`), knowing the customer may get it
  twice; the message says who asked.
- **Kept.** Sent and failed messages stay in the outbox: a collection reminder is a record of what the customer
  was told and when.

Times here are real elapsed time (`clock`), not the sandbox's business clock: a provider's outage lasts real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select, update

from adapters.errors import SmsUnconfirmed
from api.processes.background import Background
from api.store import ApiStore, api_outbox, api_settings, insert_ignore, upsert
from leasecore.application import LeaseApplication
from leasecore.clock import SystemClock
from leasecore.lease.reminders import Reminder
from leasecore.ports import Clock, SmsSender
from leasecore.topics import stored_topics

log = logging.getLogger(__name__)

POSITION = "outbox-position"
"""The `api_settings` entry naming how far into the event log the outbox has been copied."""
STATES = ("pending", "sent", "failed")
"""The states an operator sees; `sending` (claimed, the provider being called) shows as pending."""


@dataclass(frozen=True)
class Message:
    message_id: UUID
    order_id: UUID | None
    phone: str
    kind: str
    text: str
    state: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    retry_at: datetime | None
    detail: str | None


def messages(
    store: ApiStore, *, order_id: UUID | None = None, state: str | None = None, limit: int = 100, offset: int = 0
) -> list[Message]:
    """The outbox, newest first: the order's messages only, or those in one state, when asked."""
    table = api_outbox.c
    query = select(api_outbox).order_by(table.created_at.desc(), table.message_id)
    if order_id is not None:
        query = query.where(table.order_id == order_id)
    if state == "pending":
        query = query.where(table.state.in_(("pending", "sending")))
    elif state is not None:
        query = query.where(table.state == state)
    with store.read() as connection:
        return [_message(row) for row in connection.execute(query.limit(limit).offset(offset)).mappings()]


def message(store: ApiStore, message_id: UUID) -> Message | None:
    with store.read() as connection:
        row = connection.execute(select(api_outbox).where(api_outbox.c.message_id == message_id)).mappings().first()
    return _message(row) if row else None


def _message(row: Any) -> Message:
    return Message(
        message_id=row["message_id"],
        order_id=row["order_id"],
        phone=row["phone"],
        kind=row["kind"],
        text=row["text"],
        state="pending" if row["state"] == "sending" else row["state"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        retry_at=row["retry_at"],
        detail=row["detail"],
    )


class MessageSender:
    """Copies the reminders the log records into the outbox and sends those due, each claimed once."""

    topics = stored_topics(Reminder.Queued)
    """Woken by the runner after batches holding these events (no read model follows them: the runner reads them
    for this listener), by staff sending a reminder, and on its interval (retries)."""

    def __init__(
        self,
        app: LeaseApplication,
        store: ApiStore,
        sms: SmsSender,
        *,
        clock: Clock | None = None,
        retry_after: timedelta = timedelta(seconds=10),
        max_backoff: timedelta = timedelta(hours=1),
        max_attempts: int = 12,
        stale_after: timedelta = timedelta(minutes=5),
        interval: float = 2.0,
    ) -> None:
        self.app, self.store, self.sms = app, store, sms
        self.clock: Clock = clock or SystemClock()
        self.retry_after, self.max_backoff, self.max_attempts = retry_after, max_backoff, max_attempts
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self._background = Background("outbox", self.dispatch, interval)
        self.failure_listeners: list[Callable[[], None]] = []
        """Told of each message the provider did not take (the service's metrics)."""

    def dispatch(self, limit: int = 100) -> int:
        """Copy what the log added, give up on interrupted sends, and send what is due now; returns how many
        messages this call sent."""
        with self._lock:
            self.collect()
            self._give_up_interrupted()
            sent = 0
            for row in self._due(limit):
                if self._claim(row):
                    sent += self._send(row)
            return sent

    def collect(self, page_size: int = 500) -> int:
        """Copy into the outbox each reminder recorded after the kept position; returns how many were new."""
        added = 0
        while True:
            position = int(self.store.setting(POSITION) or 0)
            page = self.app.recorder.select_notifications(
                position, page_size, topics=self.topics, inclusive_of_start=False
            )
            if not page:
                return added
            now = self.clock.now()
            rows = [_row(self.app.mapper.to_domain_event(notification), now) for notification in page]
            with self.store.begin() as connection:
                self.store.lock(connection, "leasecore-outbox-position")
                kept = connection.execute(
                    select(api_settings.c.value).where(api_settings.c.name == POSITION)
                ).scalar_one_or_none()
                if int(kept or 0) != position:
                    continue
                for row in rows:
                    added += insert_ignore(connection, api_outbox, row, ("message_id",))
                upsert(connection, api_settings, {"name": POSITION, "value": str(page[-1].id)}, ("name",))

    def resend(self, message_id: UUID, by: str) -> bool:
        """A message `failed` (for good or awaiting its next turn) goes out again now, at a member of staff's request:
        back to `pending`, the request noted in its `detail`. False, and nothing changed, for any other message."""
        table = api_outbox.c
        again = {"state": "pending", "retry_at": None, "detail": f"sent again, asked by {by}"}
        with self.store.begin() as connection:
            moved = connection.execute(
                update(api_outbox)
                .where(table.message_id == message_id, table.state == "failed")
                .values(updated_at=self.clock.now(), **again)
            )
        if moved.rowcount != 1:
            return False
        self.wake()
        return True

    def wake(self) -> None:
        """New reminders may be in the log (the runner applied a batch): send them now."""
        self._background.wake()

    def start(self) -> None:
        """Send in the background when woken, and every few seconds (retries, other processes' reminders)."""
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def backoff(self, attempts: int) -> timedelta:
        """How long after its `attempts`-th failed attempt a message is tried again."""
        factor: int = 2 ** min(attempts - 1, 20)
        return min(self.retry_after * factor, self.max_backoff)

    def _due(self, limit: int) -> list[Any]:
        table = api_outbox.c
        retry = and_(table.state == "failed", table.retry_at.is_not(None), table.retry_at <= self.clock.now())
        query = (
            select(api_outbox)
            .where(or_(table.state == "pending", retry))
            .order_by(table.created_at, table.message_id)
            .limit(limit)
        )
        with self.store.read() as connection:
            return list(connection.execute(query).mappings())

    def _claim(self, row: Any) -> bool:
        """Only one process moves a message to `sending` from the state it read."""
        now = self.clock.now()
        table = api_outbox.c
        with self.store.begin() as connection:
            moved = connection.execute(
                update(api_outbox)
                .where(table.message_id == row["message_id"], table.state == row["state"])
                .where(table.attempts == row["attempts"])
                .values(state="sending", attempts=row["attempts"] + 1, retry_at=None, updated_at=now)
            )
            return bool(moved.rowcount == 1)

    def _send(self, row: Any) -> int:
        attempts = row["attempts"] + 1
        try:
            provider_id = self.sms.send(row["phone"], row["text"], ref=str(row["message_id"]))
        except SmsUnconfirmed as error:
            self._failed()
            log.warning("message %s may have been sent: %s", row["message_id"], error)
            self._record(row["message_id"], state="failed", detail=f"unconfirmed, not sent again: {error}")
            return 0
        except Exception as error:
            self._failed()
            log.warning("message %s not sent (attempt %d): %s", row["message_id"], attempts, error)
            retry_at = self.clock.now() + self.backoff(attempts) if attempts < self.max_attempts else None
            detail = str(error) or type(error).__name__
            self._record(row["message_id"], state="failed", detail=detail, retry_at=retry_at)
            return 0
        now = self.clock.now()
        asked = row["detail"] if (row["detail"] or "").startswith("sent again") else None  # who asked stays on it
        self._record(row["message_id"], state="sent", provider_id=provider_id, sent_at=now, detail=asked)
        return 1

    def _failed(self) -> None:
        for listener in self.failure_listeners:
            listener()

    def _record(self, message_id: UUID, **values: Any) -> None:
        with self.store.begin() as connection:
            connection.execute(
                update(api_outbox)
                .where(api_outbox.c.message_id == message_id, api_outbox.c.state == "sending")
                .values(updated_at=self.clock.now(), **values)
            )

    def _give_up_interrupted(self) -> None:
        """A message left `sending` past `stale_after`: its process died mid-call; it may have gone out."""
        table = api_outbox.c
        interrupted = and_(table.state == "sending", table.updated_at < self.clock.now() - self.stale_after)
        with self.store.read() as connection:
            if connection.execute(select(table.message_id).where(interrupted).limit(1)).first() is None:
                return
        with self.store.begin() as connection:
            connection.execute(
                update(api_outbox)
                .where(interrupted)
                .values(
                    state="failed",
                    retry_at=None,
                    updated_at=self.clock.now(),
                    detail="interrupted while sending: the provider may have sent it, so it is not sent again",
                )
            )


def _row(event: Any, now: datetime) -> dict[str, Any]:
    assert isinstance(event, Reminder.Queued)
    return {
        "message_id": event.originator_id,
        "order_id": event.order_id,
        "customer_id": event.customer_id,
        "seq": event.seq,
        "kind": event.kind,
        "phone": event.phone,
        "text": event.text,
        "created_at": event.timestamp.astimezone(UTC),
        "state": "pending",
        "attempts": 0,
        "updated_at": now,
    }

"""Erasing a customer's personal data (PIPL 删除权) across the service: the application's erasure (keys deleted,
erase events recorded), then what the HTTP layer keeps of the customer outside the event store: one-time codes
and rate-limit entries under the phone, the customer's stored answers to idempotent requests (an order's answer
holds its address), the text messages in the outbox, the sandbox's copies of texts sent, the customer's tokens,
and the snapshots of the erased aggregates (stored, possibly, by code that predates sealing)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import Connection, delete, select, text, update

import projections.conversations
from api.eventstore import AggregateRecorder, ApplicationRecorder, LeanReads
from api.http.auth import Tokens
from api.store import (
    ApiStore,
    api_idempotency,
    api_otp_codes,
    api_outbox,
    api_rate_events,
    api_sandbox_state,
)
from leasecore.application import LeaseApplication
from leasecore.application.privacy import Erasure
from leasecore.credit.customer import Customer
from leasecore.lease.reminders import Reminder, ReminderKind
from leasecore.personal import PERSONAL_EVENTS, PersonalDataMapper
from leasecore.topics import stored_topics
from leasecore.values import ERASED
from projections.store import ViewStore

log = logging.getLogger(__name__)
PAGE = 100


def erase_customer(
    app: LeaseApplication,
    views: ViewStore,
    store: ApiStore | None,
    customer_id: UUID,
    by: str,
    reason: str,
    tokens: Tokens | None = None,
) -> Erasure:
    """Erase the customer's personal data everywhere it is kept, and log the customer out (`tokens`: every token
    issued until now is refused); refused (`OrdersStillOpen`) while an order is open. Erasing again answers the
    same."""
    phone = app.customer(customer_id).phone
    conversations = _conversations(views, customer_id)
    erasure = app.erase_customer(customer_id, by, reason, conversations)
    reminders = [reminder for order_id in erasure.orders for reminder in _reminder_ids(app, order_id)]
    if seal_stored(app, (customer_id, *erasure.orders, *erasure.conversations, *reminders)) and app.personal_data:
        app.personal_data.erase(customer_id)  # what older code stored plain, now sealed under a key gone at once
    if store is not None:
        with store.begin() as connection:
            _forget(connection, customer_id, phone)
    if tokens is not None:
        tokens.revoke_customer(customer_id)
    _drop_snapshots(app, (customer_id, *erasure.orders, *erasure.conversations))
    log.info("personal data of customer %s erased by %s", customer_id, by)
    return erasure


def seal_stored(app: LeaseApplication, aggregate_ids: Iterable[UUID]) -> int:
    """Seal in place the personal fields that code older than sealing stored plain in these aggregates' events, so
    that deleting their customer's keys leaves nothing readable; how many events were sealed. Each reads back as
    before: only those fields' stored form changes."""
    mapper, recorder = app.mapper, app.recorder
    if not isinstance(mapper, PersonalDataMapper) or not isinstance(recorder, ApplicationRecorder):
        return 0
    return _seal_aggregates(recorder, mapper, aggregate_ids)


def seal_everything(app: LeaseApplication, page: int = 500) -> tuple[int, int]:
    """Seal in place every personal field stored plain by code older than sealing: in the events (read by topic,
    oldest first) and in the snapshots; how many events and snapshots were sealed (a second run seals none)."""
    mapper, recorder = app.mapper, app.recorder
    if not isinstance(mapper, PersonalDataMapper) or not isinstance(recorder, ApplicationRecorder):
        return 0, 0
    topics = [topic for cls in PERSONAL_EVENTS for topic in stored_topics(cls)]
    table = recorder.events_record_cls.__table__
    events, position = 0, 0
    while notifications := recorder.select_notifications(position, page, topics=topics, inclusive_of_start=False):
        for notification in notifications:
            state = mapper.sealed_state(notification)
            if state is not None:
                with recorder.reads.engine.begin() as connection:
                    connection.execute(table.update().where(table.c.id == notification.id).values(state=state))
                events += 1
        position = notifications[-1].id
    return events, _seal_snapshots(app, mapper)


def _seal_snapshots(app: LeaseApplication, mapper: PersonalDataMapper) -> int:
    recorder = app.snapshots.recorder if app.snapshots is not None else None
    if not isinstance(recorder, AggregateRecorder):
        return 0
    table = recorder.events_record_cls.__table__
    with recorder.reads.engine.connect() as connection:
        ids = connection.execute(select(table.c.originator_id).distinct()).scalars().all()
    return _seal_aggregates(recorder, mapper, ids)


def _seal_aggregates(recorder: LeanReads, mapper: PersonalDataMapper, aggregate_ids: Iterable[UUID]) -> int:
    """Seal the plain personal fields of these aggregates' stored events (or snapshots), one row at a time; how
    many rows were sealed."""
    table = recorder.events_record_cls.__table__
    sealed = 0
    for aggregate_id in aggregate_ids:
        for stored in recorder.select_events(aggregate_id):
            state = mapper.sealed_state(stored)
            if state is None:
                continue
            where = (table.c.originator_id == aggregate_id) & (table.c.originator_version == stored.originator_version)
            with recorder.reads.engine.begin() as connection:
                connection.execute(table.update().where(where).values(state=state))
            sealed += 1
    return sealed


def _reminder_ids(app: LeaseApplication, order_id: UUID) -> list[UUID]:
    """Every reminder the order may have had: one per installment and kind (their ids derive from them)."""
    seqs = range(1, len(app.lease(order_id).schedule) + 1)
    return [Reminder.create_id(order_id, seq, kind.value) for seq in seqs for kind in ReminderKind]


def _conversations(views: ViewStore, customer_id: UUID) -> list[UUID]:
    found: list[UUID] = []
    while True:
        page = projections.conversations.customer_conversations(views, customer_id, limit=PAGE, offset=len(found))
        found.extend(item.conversation_id for item in page.items)
        if len(page.items) < PAGE:
            return found


def _forget(connection: Connection, customer_id: UUID, phone: str) -> None:
    if phone != ERASED:
        connection.execute(delete(api_otp_codes).where(api_otp_codes.c.phone == phone))
        connection.execute(delete(api_rate_events).where(api_rate_events.c.subject == phone))
        sent = api_sandbox_state.c
        quoted = f"%{json.dumps(phone)}%"
        connection.execute(delete(api_sandbox_state).where(sent.kind == "sms", sent.document.like(quoted)))
    answers = api_idempotency.c
    connection.execute(
        delete(api_idempotency).where(answers.scope == f"customer:{customer_id}", answers.state != "pending")
    )
    connection.execute(
        update(api_outbox).where(api_outbox.c.customer_id == customer_id).values(phone=ERASED, text=ERASED)
    )


def _drop_snapshots(app: LeaseApplication, aggregate_ids: tuple[UUID, ...]) -> None:
    """Snapshots of the erased aggregates go: the next load replays their events, the erasure's last."""
    recorder = app.snapshots.recorder if app.snapshots is not None else None
    if not isinstance(recorder, AggregateRecorder):
        return  # in memory: the snapshots go with the process
    reads, table = recorder.reads, recorder.events_record_cls.__table__
    with reads.engine.begin() as connection:
        for aggregate_id in aggregate_ids:
            connection.execute(
                text(f"DELETE FROM {table.fullname} WHERE originator_id = :id"), {"id": reads.parameter(aggregate_id)}
            )


def erasures(app: LeaseApplication, page: int = 500) -> list[Customer.PersonalDataErased]:
    """Every erasure in the log, oldest first: the journal to keep outside the database, so that erasures made after
    a backup can be made again after restoring it."""
    topics = list(stored_topics(Customer.PersonalDataErased))
    found: list[Customer.PersonalDataErased] = []
    position = 0
    while notifications := app.recorder.select_notifications(position, page, topics=topics, inclusive_of_start=False):
        events = (app.mapper.to_domain_event(notification) for notification in notifications)
        found.extend(event for event in events if isinstance(event, Customer.PersonalDataErased))
        position = notifications[-1].id
    return found

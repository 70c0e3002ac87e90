"""Erasing a customer's personal data (PIPL 删除权) across the service: the application's erasure (keys deleted,
erase events recorded), then what the HTTP layer keeps of the customer outside the event store: one-time codes
and rate-limit entries under the phone, the customer's stored answers to idempotent requests (an order's answer
holds its address), the text messages in the outbox, the sandbox's copies of texts sent, the customer's tokens,
and the snapshots of the erased aggregates (stored, possibly, by code that predates sealing)."""

from __future__ import annotations

import json
import logging
from uuid import UUID

from sqlalchemy import Connection, delete, text, update

import projections.conversations
from api.eventstore import AggregateRecorder
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
    if store is not None:
        with store.begin() as connection:
            _forget(connection, customer_id, phone)
    if tokens is not None:
        tokens.revoke_customer(customer_id)
    _drop_snapshots(app, (customer_id, *erasure.orders, *erasure.conversations))
    log.info("personal data of customer %s erased by %s", customer_id, by)
    return erasure


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

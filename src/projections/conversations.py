"""Customer service (在线客服) as customers and staff read it: each conversation with who it waits for and since when,
and its messages in the order they were written.

The support queue is the conversations by state: `open` ones wait for staff, the longest waiting first;
`answered` ones wait for the customer and `closed` ones for no one, the latest activity first. A client polling a
conversation asks only for the messages after the last one it has (`after`, a message's `seq`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Index, Integer, String, Table, Text, Uuid, case, func, select

from leasecore.support import SUBJECT_LENGTH, Author, Conversation, ConversationState, message_id
from leasecore.values import ERASED
from projections.projection import Batch, Event, Page, Projection, blank, build, check_page, is_new, on
from projections.store import Instant, ViewStore, metadata

PREVIEW = 120
"""How much of the latest message a list shows."""
STATES = tuple(state.value for state in ConversationState)

conversations_view = Table(
    "conversations_view",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("subject", String(SUBJECT_LENGTH), nullable=False),
    Column("order_id", Uuid),
    Column("state", String(8), nullable=False),
    Column("opened_at", Instant, nullable=False),
    Column("last_message_at", Instant, nullable=False),
    Column("last_author", String(8), nullable=False),
    Column("preview", String(PREVIEW), nullable=False),
    Column("waiting_since", Instant),
    Column("unanswered", Integer, nullable=False),
    Column("new_replies", Integer, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("closed_at", Instant),
    Column("closed_by", String(64)),
    Index("ix_conversations_view_customer", "customer_id", "last_message_at"),
    Index("ix_conversations_view_waiting", "state", "waiting_since"),
    Index("ix_conversations_view_activity", "state", "last_message_at"),
)
"""One row per conversation. `waiting_since`: when the oldest customer message staff have not answered was written
(null unless `open`); `unanswered`: the customer's messages since staff last answered; `new_replies`: staff's
messages since the customer last wrote."""

conversation_messages_view = Table(
    "conversation_messages_view",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("message_id", Uuid, nullable=False),
    Column("author", String(8), nullable=False),
    Column("staff", String(64)),
    Column("text", Text, nullable=False),
    Column("sent_at", Instant, nullable=False),
)
"""Every message, numbered from 1 within its conversation; `staff` is the username of staff who wrote it."""

MESSAGE_KEY = ("conversation_id", "seq")


class ConversationsProjection(Projection):
    """A row per conversation and one per message, from the conversation's own events."""

    name = "conversations"
    tables = (conversations_view, conversation_messages_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(conversations_view, "conversation_id").prefetch(event.originator_id for event in events)

    @on(Conversation.Opened)
    def opened(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(conversations_view, "conversation_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            conversations_view,
            conversation_id=event.originator_id,
            version=event.originator_version,
            customer_id=event.customer_id,
            subject=event.subject,
            order_id=event.order_id,
            state=ConversationState.OPEN.value,
            opened_at=event.timestamp,
            unanswered=0,
            new_replies=0,
            message_count=0,
        )
        rows.put(event.originator_id, [row])
        _add_message(batch, row, event, 1, Author.CUSTOMER, None)

    @on(Conversation.CustomerWrote, Conversation.StaffAnswered)
    def written(self, batch: Batch, event: Event) -> None:
        row = batch.rows(conversations_view, "conversation_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"] = event.originator_version
        if isinstance(event, Conversation.StaffAnswered):
            row["state"] = ConversationState.ANSWERED.value
            _add_message(batch, row, event, event.seq, Author.STAFF, event.staff)
        else:
            row["state"] = ConversationState.OPEN.value
            _add_message(batch, row, event, event.seq, Author.CUSTOMER, None)

    @on(Conversation.Closed)
    def closed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(conversations_view, "conversation_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["state"] = event.originator_version, ConversationState.CLOSED.value
        row["closed_at"], row["closed_by"], row["waiting_since"] = event.timestamp, event.by, None


    @on(Conversation.PersonalDataErased)
    def erased(self, batch: Batch, event: Event) -> None:
        """The subject, the preview and every message read "erased"; who wrote when, and the counts, stay."""
        row = batch.rows(conversations_view, "conversation_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["subject"], row["preview"] = event.originator_version, ERASED, ERASED
        messages = batch.rows(conversation_messages_view, MESSAGE_KEY)
        keys = [(event.originator_id, seq) for seq in range(1, row["message_count"] + 1)]
        messages.prefetch(keys)
        for key in keys:
            message = messages.one(key)
            if message is not None:
                message["text"] = ERASED


def _add_message(batch: Batch, row: dict[str, Any], event: Event, seq: int, author: Author, staff: str | None) -> None:
    """The message's own row, and what the conversation's row counts of it: who waits since when."""
    conversation_id = event.originator_id
    message = blank(
        conversation_messages_view,
        conversation_id=conversation_id,
        seq=seq,
        message_id=message_id(conversation_id, seq),
        author=author.value,
        staff=staff,
        text=event.text,
        sent_at=event.timestamp,
    )
    batch.rows(conversation_messages_view, MESSAGE_KEY).put((conversation_id, seq), [message])
    row["message_count"], row["last_message_at"], row["last_author"] = seq, event.timestamp, author.value
    row["preview"] = " ".join(event.text.split())[:PREVIEW]
    if author is Author.CUSTOMER:
        row["unanswered"], row["new_replies"] = row["unanswered"] + 1, 0
        row["waiting_since"] = row["waiting_since"] or event.timestamp
    else:
        row["unanswered"], row["new_replies"], row["waiting_since"] = 0, row["new_replies"] + 1, None


# Queries.


@dataclass(frozen=True)
class MessageView:
    """A message: `author` is `customer` or `staff`; `staff` the username of staff who wrote it."""

    message_id: UUID
    conversation_id: UUID
    seq: int
    author: str
    staff: str | None
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class ConversationView:
    """A conversation as lists show it (`preview`: the start of its latest message), with its messages when asked
    for (oldest first)."""

    conversation_id: UUID
    customer_id: UUID
    subject: str
    order_id: UUID | None
    state: str
    opened_at: datetime
    last_message_at: datetime
    last_author: str
    preview: str
    waiting_since: datetime | None
    unanswered: int
    new_replies: int
    message_count: int
    closed_at: datetime | None
    closed_by: str | None
    messages: tuple[MessageView, ...] = ()


def customer_conversations(
    views: ViewStore,
    customer_id: UUID,
    *,
    limit: int = 20,
    offset: int = 0,
    with_messages: bool = False,
) -> Page[ConversationView]:
    """The customer's own conversations, the latest activity first (a page of them, with how many in all);
    `with_messages` reads each one's messages too (one more query for the page)."""
    check_page(limit, offset)
    table = conversations_view.c
    where = table.customer_id == customer_id
    query = (
        select(conversations_view)
        .where(where)
        .order_by(table.last_message_at.desc(), table.conversation_id)
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        rows = list(connection.execute(query).mappings())
        total = connection.execute(select(func.count()).select_from(conversations_view).where(where)).scalar_one()
    items = [build(ConversationView, row, messages=()) for row in rows]
    if with_messages:
        found = messages(views, [item.conversation_id for item in items])
        items = [_with(item, found.get(item.conversation_id, [])) for item in items]
    return Page(items, int(total), limit, offset)


def conversation(views: ViewStore, conversation_id: UUID, *, after: int = 0) -> ConversationView | None:
    """The conversation with its messages after number `after` (all of them by default; a poll passes the `seq` of
    the last message it has); None when there is no such conversation. Whose it is, is the caller's to check."""
    query = select(conversations_view).where(conversations_view.c.conversation_id == conversation_id)
    with views.read() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    found = messages(views, [conversation_id], after=after).get(conversation_id, [])
    return _with(build(ConversationView, row, messages=()), found)


def messages(views: ViewStore, conversation_ids: Iterable[UUID], *, after: int = 0) -> dict[UUID, list[MessageView]]:
    """These conversations' messages after number `after`, oldest first, in one query."""
    wanted = list(dict.fromkeys(conversation_ids))
    if not wanted:
        return {}
    table = conversation_messages_view.c
    query = (
        select(conversation_messages_view)
        .where(table.conversation_id.in_(wanted), table.seq > after)
        .order_by(table.conversation_id, table.seq)
    )
    found: dict[UUID, list[MessageView]] = {}
    with views.read() as connection:
        for row in connection.execute(query).mappings():
            found.setdefault(row["conversation_id"], []).append(build(MessageView, row))
    return found


def queue(views: ViewStore, state: str | None = None, *, limit: int = 50, offset: int = 0) -> Page[ConversationView]:
    """The support queue: the conversations in `state` (every one without it), those waiting for staff first, the
    longest waiting first, then the others, the latest activity first."""
    check_page(limit, offset)
    if state is not None and state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    table = conversations_view.c
    conditions = [table.state == state] if state is not None else []
    waiting = table.state == ConversationState.OPEN.value
    query = (
        select(conversations_view)
        .where(*conditions)
        .order_by(
            case((waiting, 0), else_=1),
            case((waiting, table.waiting_since), else_=None),
            table.last_message_at.desc(),
            table.conversation_id,
        )
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(conversations_view).where(*conditions)
    with views.read() as connection:
        items = [build(ConversationView, row, messages=()) for row in connection.execute(query).mappings()]
        total = connection.execute(count).scalar_one()
    return Page(items, int(total), limit, offset)


def counts(views: ViewStore) -> dict[str, int]:
    """How many conversations are in each state (every state named, zero when none)."""
    table = conversations_view.c
    query = select(table.state, func.count()).group_by(table.state)
    with views.read() as connection:
        found = {state: int(count) for state, count in connection.execute(query).tuples()}
    return {state: found.get(state, 0) for state in STATES}


def _with(item: ConversationView, found: Sequence[MessageView]) -> ConversationView:
    return replace(item, messages=tuple(found))

"""Back-office views of the service's background work: the outbox of text messages."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from api.http.schemas.common import Answer, Query

MessageState = Literal["pending", "sent", "failed"]
MessageKind = Literal["due", "collection_sms", "collection_call", "collection_agency"]


class MessagesQuery(Query):
    order_id: UUID | None = None
    state: MessageState | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class MessageOut(Answer):
    """A text message of the outbox: `pending` until the provider took it (`sent`); `failed` is tried again at
    `retry_at`, or never when `retry_at` is null (`detail` says why)."""

    message_id: UUID
    order_id: UUID | None
    phone: str
    kind: MessageKind
    text: str
    state: MessageState
    attempts: int
    created_at: AwareDatetime
    sent_at: AwareDatetime | None
    retry_at: AwareDatetime | None
    detail: str | None

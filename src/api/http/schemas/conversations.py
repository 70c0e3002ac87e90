"""Customer service (在线客服): a conversation opened by a customer, its messages, and the support queue staff work.

A subject and a message's text keep the domain's own rules (`leasecore.support`), checked here so that every field in
error is named at once: trimmed, 1 to 100 characters for a subject (one line), 1 to 2000 for a message (line breaks
allowed), no control characters and no bidirectional overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints, WithJsonSchema

from api.http.schemas.admin_orders import OrderCustomerOut
from api.http.schemas.common import LINE_PATTERN, Answer, Body, PageQuery, Query
from leasecore.errors import InvalidInput
from leasecore.support import SUBJECT_LENGTH, TEXT_LENGTH, subject_of, text_of

State = Literal["open", "answered", "closed"]
TEXT_UNPRINTABLE = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = rf"^[^{TEXT_UNPRINTABLE}]*[^\s{TEXT_UNPRINTABLE}][^{TEXT_UNPRINTABLE}]*$"
"""A message as `text_of` keeps it, for the document: not blank, and no control character but a tab or a line
break (CR, LF) nor a bidirectional override."""
ORDER_ID = "3b1f2c44-6a55-4c1e-9d2b-0f7e7a1c9b10"


def _kept(rule: Callable[[str], str]) -> Callable[[str], str]:
    """The domain's rule for a field, its refusal in words as a validation error of that field."""

    def check(value: str) -> str:
        try:
            return rule(value)
        except InvalidInput as error:
            raise ValueError(error.message) from None

    return check


def _text_schema(longest: int, pattern: str, words: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": longest, "pattern": pattern, "description": words}
    )


Subject = Annotated[
    str,
    StringConstraints(max_length=SUBJECT_LENGTH),
    AfterValidator(_kept(subject_of)),
    _text_schema(SUBJECT_LENGTH, LINE_PATTERN, "One line, 1 to 100 characters once trimmed; no control characters."),
]
Text = Annotated[
    str,
    StringConstraints(max_length=TEXT_LENGTH),
    AfterValidator(_kept(text_of)),
    _text_schema(
        TEXT_LENGTH,
        TEXT_PATTERN,
        "1 to 2000 characters once trimmed; line breaks allowed, no other control characters.",
    ),
]


class OpenConversation(Body):
    """A subject, the first message, and the order it is about (one of the customer's own) if any."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"subject": "押金什么时候退？", "text": "我已经寄回手机了，押金多久能退回？"},
                {
                    "subject": "Screen scratched on arrival",
                    "order_id": ORDER_ID,
                    "text": "The phone came with a scratch across the screen. Can it be swapped?",
                },
            ]
        }
    )

    subject: Subject
    order_id: UUID | None = None
    text: Text


class WriteMessage(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "好的，谢谢！"}, {"text": "Thanks. Which courier will pick it up?"}]}
    )

    text: Text


class AnswerMessage(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"text": "您好，押金会在验机完成后 1–3 个工作日原路退回。"},
                {"text": "Sorry about that. We will swap it: a courier picks it up tomorrow."},
            ]
        }
    )

    text: Text


class ConversationQuery(Query):
    after: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    """Only the messages after this `seq` (a poll passes the last one it has); every message by default."""


class ConversationsQuery(PageQuery):
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class QueueQuery(PageQuery):
    state: State | None = None
    """Only conversations in this state: `open` (waiting for staff), `answered` (waiting for the customer),
    `closed`; every one without it."""

    limit: Annotated[int, Field(ge=1, le=500)] = 50


class ConversationMessageOut(Answer):
    """A message, numbered from 1 within its conversation (`seq`), written by the customer or by staff."""

    message_id: UUID
    seq: int
    author: Literal["customer", "staff"]
    text: str
    sent_at: AwareDatetime


class ConversationOut(Answer):
    """The customer's conversation: `state` is `open` while it waits for staff, `answered` once staff answered,
    `closed` when it takes no more messages; `new_replies` counts staff's messages since the customer last wrote."""

    conversation_id: UUID
    subject: str
    order_id: UUID | None
    state: State
    opened_at: AwareDatetime
    last_message_at: AwareDatetime
    closed_at: AwareDatetime | None
    new_replies: int
    message_count: int
    messages: list[ConversationMessageOut]


class StaffConversationMessageOut(ConversationMessageOut):
    """`staff`: the username of the member of staff who wrote it (null for the customer's)."""

    staff: str | None


class QueueItemOut(Answer):
    """A conversation in the support queue: who it is from, what about, who it waits for and since when
    (`waiting_since`: the oldest message staff have not answered, null unless `open`), how many of the customer's
    messages are unanswered, and the start of the latest message (`preview`)."""

    conversation_id: UUID
    customer: OrderCustomerOut
    subject: str
    order_id: UUID | None
    state: State
    opened_at: AwareDatetime
    last_message_at: AwareDatetime
    last_author: Literal["customer", "staff"]
    preview: str
    waiting_since: AwareDatetime | None
    unanswered: int
    message_count: int
    closed_at: AwareDatetime | None
    closed_by: str | None


class StaffConversationOut(QueueItemOut):
    """The conversation with every message (`after`: those after a `seq` only), staff's with who wrote them."""

    messages: list[StaffConversationMessageOut]

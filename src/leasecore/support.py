"""Online customer service (在线客服): a customer's conversation with staff, about one of their orders or in general.

A conversation waits for staff while it is `open` (the customer wrote last), waits for the customer once staff
have `answered`, and takes no more messages once `closed`. Its messages are numbered from 1 in the order they were
written; the number is what a client polls from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState
from leasecore.values import ERASED, derived_id

SUBJECT_LENGTH = 100
TEXT_LENGTH = 2000
LINE_REFUSED = re.compile("[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")
"""Control characters and bidirectional overrides: never in a one-line field (a subject)."""
TEXT_REFUSED = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")
"""The same, less the tab and the line break a message may hold."""


class ConversationState(Enum):
    """Who the conversation waits for: staff (`open`), the customer (`answered`), or no one (`closed`)."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Author(Enum):
    CUSTOMER = "customer"
    STAFF = "staff"


def subject_of(value: str, field: str = "subject") -> str:
    """A subject is one line of 1 to 100 characters once trimmed, without control characters or bidirectional
    overrides (which could make it read otherwise than it is)."""
    return _written(value.strip(), field, SUBJECT_LENGTH, LINE_REFUSED)


def text_of(value: str, field: str = "text") -> str:
    """A message is 1 to 2000 characters once trimmed; it may run over several lines (a CR LF or a lone CR is kept as
    a line break) but holds no other control character and no bidirectional override."""
    return _written(value.replace("\r\n", "\n").replace("\r", "\n").strip(), field, TEXT_LENGTH, TEXT_REFUSED)


def _written(value: str, field: str, longest: int, refused: re.Pattern[str]) -> str:
    if not value:
        raise InvalidInput(field, "must not be blank")
    if len(value) > longest:
        raise InvalidInput(field, f"must be at most {longest} characters ({len(value)} given)")
    if refused.search(value):
        raise InvalidInput(field, "must not hold control characters or bidirectional overrides")
    return value


def message_id(conversation_id: UUID, seq: int) -> UUID:
    """A message's id: the same for the same conversation and number, in every read model and answer."""
    return derived_id("conversation-message", conversation_id, seq)


@dataclass(frozen=True)
class Message:
    """A message as written: its number in the conversation, who wrote it (for staff, their username) and when."""

    conversation_id: UUID
    seq: int
    author: Author
    text: str
    sent_at: datetime
    staff: str | None = None

    @property
    def message_id(self) -> UUID:
        return message_id(self.conversation_id, self.seq)


class Conversation(Aggregate):
    """A customer's conversation with customer service; only its customer and staff write to it, until it is
    closed."""

    id: UUID

    class Opened(Aggregate.Created):
        """The customer opened the conversation with its first message (number 1); `order_id` when it is about an
        order of theirs."""

        customer_id: UUID
        subject: str
        order_id: UUID | None
        text: str

    @event(Opened)
    def __init__(self, customer_id: UUID, subject: str, order_id: UUID | None, text: str, timestamp: datetime) -> None:
        self.customer_id, self.subject, self.order_id = customer_id, subject, order_id
        self.state = ConversationState.OPEN
        self.message_count = 1
        self.last_message_at = timestamp
        self.closed_by: str | None = None
        self.requests: dict[UUID, Message] = {}

    @classmethod
    def open(
        cls,
        conversation_id: UUID,
        customer_id: UUID,
        subject: str,
        text: str,
        order_id: UUID | None,
        now: datetime,
    ) -> Conversation:
        """A customer opens a conversation by writing its subject and first message."""
        subject, text = subject_of(subject), text_of(text)
        return cls(  # type: ignore[call-arg]
            id=conversation_id, customer_id=customer_id, subject=subject, order_id=order_id, text=text, timestamp=now
        )

    def require_open(self, action: str) -> None:
        if self.state is ConversationState.CLOSED:
            raise InvalidState(f"conversation {self.id}", self.state.value, action)

    def write(self, text: str, now: datetime, request_id: UUID | None = None) -> Message:
        """The customer writes again; the conversation waits for staff. A closed conversation takes no message (the
        customer opens a new one). A request (`request_id`) written already adds nothing: its message is the answer."""
        if request_id is not None and request_id in self.requests:
            return self.requests[request_id]
        text = text_of(text)
        self.require_open("write to the conversation")
        self._customer_wrote(self.message_count + 1, text, request_id, timestamp=now)
        return Message(self.id, self.message_count, Author.CUSTOMER, text, now)

    class CustomerWrote(Aggregate.Event):
        """The customer's message number `seq`. v2 adds `request_id`, the request that wrote it (None without one,
        as for every v1 message)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        seq: int
        text: str
        request_id: UUID | None

    @event(CustomerWrote)
    def _customer_wrote(self, seq: int, text: str, request_id: UUID | None, timestamp: datetime) -> None:
        self.message_count, self.last_message_at = seq, timestamp
        self.state = ConversationState.OPEN
        if request_id is not None:
            self.requests = {**self.requests, request_id: Message(self.id, seq, Author.CUSTOMER, text, timestamp)}

    def answer(self, text: str, staff: str, now: datetime, request_id: UUID | None = None) -> Message:
        """A member of staff answers; the conversation then waits for the customer. A request (`request_id`) answered
        already adds nothing: its message is the answer."""
        if request_id is not None and request_id in self.requests:
            return self.requests[request_id]
        text = text_of(text)
        self.require_open("answer the conversation")
        self._staff_answered(self.message_count + 1, text, staff, request_id, timestamp=now)
        return Message(self.id, self.message_count, Author.STAFF, text, now, staff)

    class StaffAnswered(Aggregate.Event):
        """Message number `seq`, written by the member of staff `staff` (their username). v2 adds `request_id`, the
        request that wrote it (None without one, as for every v1 answer)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        seq: int
        text: str
        staff: str
        request_id: UUID | None

    @event(StaffAnswered)
    def _staff_answered(
        self, seq: int, text: str, staff: str, request_id: UUID | None, timestamp: datetime
    ) -> None:
        self.message_count, self.last_message_at = seq, timestamp
        self.state = ConversationState.ANSWERED
        if request_id is not None:
            message = Message(self.id, seq, Author.STAFF, text, timestamp, staff)
            self.requests = {**self.requests, request_id: message}

    def close(self, by: str, now: datetime) -> None:
        """Staff close a conversation that needs nothing more; it is closed once."""
        self.require_open("close the conversation")
        self._closed(by, timestamp=now)

    class Closed(Aggregate.Event):
        """`by` closed the conversation: the username of the member of staff."""

        by: str

    @event(Closed)
    def _closed(self, by: str, timestamp: datetime) -> None:
        self.state, self.closed_by = ConversationState.CLOSED, by

    def erase_personal_data(self, now: datetime) -> None:
        """Its subject and messages read "erased" once its customer's personal data was erased (what the
        customer wrote, and staff's answers about them); open or closed, the conversation stays."""
        if self.subject != ERASED:
            self._personal_data_erased(timestamp=now)

    class PersonalDataErased(Aggregate.Event):
        """The conversation's customer had their personal data erased (`Customer.PersonalDataErased`)."""

    @event(PersonalDataErased)
    def _personal_data_erased(self, timestamp: datetime) -> None:
        self.subject = ERASED

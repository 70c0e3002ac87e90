"""The customer's conversations with customer service (在线客服): opening one, writing, reading the answers."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

import projections.conversations
from api.http.endpoint import CUSTOMER, Answered, Call, Endpoints
from api.http.schemas import conversations as schemas
from api.http.schemas.common import Row
from leasecore.errors import NotFound
from leasecore.support import Message
from projections.conversations import ConversationView
from projections.store import ViewStore

endpoints = Endpoints("customer service")
M = TypeVar("M", bound=schemas.ConversationMessageOut)


def conversation_out(found: ConversationView) -> schemas.ConversationOut:
    return schemas.ConversationOut.model_validate(found, from_attributes=True)


def message_out(message: Message, answer: type[M]) -> M:
    """A message just written, as the conversation's messages list it."""
    return answer.model_validate(Row(message, author=message.author.value), from_attributes=True)


def own(views: ViewStore, conversation_id: UUID, customer_id: UUID, after: int = 0) -> ConversationView:
    """The customer's own conversation; another customer's answers 404, as an unknown one does."""
    found = projections.conversations.conversation(views, conversation_id, after=after)
    if found is None or found.customer_id != customer_id:
        raise NotFound("conversation", conversation_id)
    return found


@endpoints.post(
    "/v1/conversations",
    access=CUSTOMER,
    body=schemas.OpenConversation,
    answer=schemas.ConversationOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Open a conversation with customer service",
)
def open_conversation(call: Call[schemas.OpenConversation, None]) -> Answered:
    """A subject and a first message, about one of the customer's own orders (`order_id`; anyone else's is 404) or
    in general; the conversation is `open`, waiting for staff."""
    body = call.body
    conversation_id = call.app.open_conversation(
        call.customer_id, body.subject, body.text, body.order_id, conversation_id=call.derived_id("conversation")
    )
    call.written()
    found = own(call.views, conversation_id, call.customer_id)
    return Answered(conversation_out(found), {"Location": f"/v1/conversations/{conversation_id}"})


@endpoints.get(
    "/v1/conversations",
    access=CUSTOMER,
    query=schemas.ConversationsQuery,
    answer=list[schemas.ConversationOut],
    summary="My conversations",
)
def list_conversations(call: Call[None, schemas.ConversationsQuery]) -> Answered:
    """The customer's own conversations with their messages, the latest activity first; `X-Total-Count` says how
    many there are in all."""
    query = call.query
    page = projections.conversations.customer_conversations(
        call.views, call.customer_id, limit=query.limit, offset=query.offset, with_messages=True
    )
    return Answered([conversation_out(item) for item in page.items], {"X-Total-Count": str(page.total)})


@endpoints.get(
    "/v1/conversations/{id}",
    access=CUSTOMER,
    query=schemas.ConversationQuery,
    answer=schemas.ConversationOut,
    summary="One of my conversations",
)
def get_conversation(call: Call[None, schemas.ConversationQuery]) -> schemas.ConversationOut:
    """The conversation with its messages, oldest first; to poll for new ones pass the last `seq` you have as
    `after`. Another customer's conversation answers 404."""
    return conversation_out(own(call.views, call.id, call.customer_id, call.query.after))


@endpoints.post(
    "/v1/conversations/{id}/messages",
    access=CUSTOMER,
    body=schemas.WriteMessage,
    answer=schemas.ConversationMessageOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Write to my conversation",
)
def write_to_conversation(call: Call[schemas.WriteMessage, None]) -> schemas.ConversationMessageOut:
    """The message, numbered after the last; the conversation waits for staff again. A closed conversation takes no
    message (409 `invalid-state`, `state: closed`): open a new one."""
    message = call.app.write_to_conversation(
        call.id, call.customer_id, call.body.text, request_id=call.derived_id("conversation-message")
    )
    call.written()
    return message_out(message, schemas.ConversationMessageOut)

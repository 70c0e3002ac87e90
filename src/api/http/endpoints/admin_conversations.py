"""Customer service in the back office: the support queue, a conversation with its messages, answering and closing."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import projections.conversations
import projections.customers
from api.http.endpoint import Answered, Call, Endpoints, staff
from api.http.endpoints.conversations import message_out
from api.http.schemas import conversations as schemas
from api.http.schemas.common import Row
from leasecore.errors import NotFound
from leasecore.staff import Role
from projections.conversations import ConversationView
from projections.customers import CustomerView
from projections.store import ViewStore

endpoints = Endpoints("back office: customer service")
SUPPORT = staff(Role.OPERATOR, Role.ADMIN)


def queue_items(views: ViewStore, found: Sequence[ConversationView]) -> list[schemas.QueueItemOut]:
    """Each conversation with who it is from (the customers looked up in one query)."""
    people = projections.customers.customers_by_id(views, (item.customer_id for item in found))
    return [
        schemas.QueueItemOut.model_validate(Row(item, customer=_who(people, item.customer_id)), from_attributes=True)
        for item in found
    ]


def staff_conversation(views: ViewStore, conversation_id: UUID, after: int = 0) -> schemas.StaffConversationOut:
    found = projections.conversations.conversation(views, conversation_id, after=after)
    if found is None:
        raise NotFound("conversation", conversation_id)
    people = projections.customers.customers_by_id(views, [found.customer_id])
    return schemas.StaffConversationOut.model_validate(
        Row(found, customer=_who(people, found.customer_id)), from_attributes=True
    )


def _who(people: dict[UUID, CustomerView], customer_id: UUID) -> dict[str, object]:
    """Who wrote: the verified name (null before verification) and the phone they log in with."""
    person = people.get(customer_id)
    name, phone = (person.name, person.phone) if person else (None, None)
    return {"customer_id": customer_id, "name": name, "phone": phone}


@endpoints.get(
    "/v1/admin/conversations",
    access=SUPPORT,
    query=schemas.QueueQuery,
    answer=list[schemas.QueueItemOut],
    summary="The support queue",
)
def support_queue(call: Call[None, schemas.QueueQuery]) -> Answered:
    """Conversations in `state` (every one without it): those waiting for staff (`open`) first, the longest waiting
    first, then the others, the latest activity first. `X-Total-Count` says how many there are in all."""
    query = call.query
    page = projections.conversations.queue(call.views, query.state, limit=query.limit, offset=query.offset)
    return Answered(queue_items(call.views, page.items), {"X-Total-Count": str(page.total)})


@endpoints.get(
    "/v1/admin/conversations/{id}",
    access=SUPPORT,
    query=schemas.ConversationQuery,
    answer=schemas.StaffConversationOut,
    summary="A conversation",
)
def read_conversation(call: Call[None, schemas.ConversationQuery]) -> schemas.StaffConversationOut:
    """The conversation as the queue lists it, with its messages, oldest first (`after`: those after a `seq`)."""
    return staff_conversation(call.views, call.id, call.query.after)


@endpoints.post(
    "/v1/admin/conversations/{id}/messages",
    access=SUPPORT,
    body=schemas.AnswerMessage,
    answer=schemas.StaffConversationMessageOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Answer a conversation",
)
def answer_conversation(call: Call[schemas.AnswerMessage, None]) -> schemas.StaffConversationMessageOut:
    """The answer, written by the token's member of staff; the conversation is `answered`, waiting for the customer.
    A closed conversation takes no answer (409 `invalid-state`)."""
    message = call.app.answer_conversation(
        call.id, call.username, call.body.text, request_id=call.derived_id("conversation-answer")
    )
    call.written()
    return message_out(message, schemas.StaffConversationMessageOut)


@endpoints.post(
    "/v1/admin/conversations/{id}/close",
    access=SUPPORT,
    answer=schemas.StaffConversationOut,
    summary="Close a conversation",
)
def close_conversation(call: Call[None, None]) -> schemas.StaffConversationOut:
    """The conversation needs nothing more: it takes no more messages (the customer opens a new one). Closed once:
    closing it again is 409 `invalid-state`."""
    call.app.close_conversation(call.id, call.username)
    call.written()
    return staff_conversation(call.views, call.id)

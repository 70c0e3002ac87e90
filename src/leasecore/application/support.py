"""Online customer service (在线客服): customers open conversations and write, staff answer and close them."""

from __future__ import annotations

from uuid import UUID, uuid4

from leasecore.application.base import Commands, command
from leasecore.credit.customer import Customer
from leasecore.errors import NotFound
from leasecore.lease import Lease
from leasecore.support import Conversation, Message


class SupportCommands(Commands):
    """A customer reaches only their own conversations and orders: anyone else's is not found, as in the API."""

    @command
    def open_conversation(
        self,
        customer_id: UUID,
        subject: str,
        text: str,
        order_id: UUID | None = None,
        *,
        conversation_id: UUID | None = None,
    ) -> UUID:
        """A customer opens a conversation, about one of their own orders or in general, with its first message.
        Given a `conversation_id` (a form's, so that a second tap opens nothing more), a conversation of this
        customer's already opened under it is left as it is."""
        self.get(Customer, customer_id, "customer", to_change=False)
        if conversation_id is not None and conversation_id in self.repository:
            return self.conversation(conversation_id, customer_id).id
        if order_id is not None and self.get(Lease, order_id, "order", to_change=False).customer_id != customer_id:
            raise NotFound("order", order_id)
        conversation = Conversation.open(
            conversation_id or uuid4(), customer_id, subject, text, order_id, self.clock.now()
        )
        self.save(conversation)
        return conversation.id

    @command
    def write_to_conversation(
        self, conversation_id: UUID, customer_id: UUID, text: str, *, request_id: UUID | None = None
    ) -> Message:
        """The customer writes to their conversation (refused once it is closed); a request (`request_id`) written
        already adds nothing and answers its message."""
        conversation = self.conversation(conversation_id, customer_id)
        message = conversation.write(text, self.clock.now(), request_id)
        self.save(conversation)
        return message

    @command
    def answer_conversation(
        self, conversation_id: UUID, staff: str, text: str, *, request_id: UUID | None = None
    ) -> Message:
        """A member of staff answers a conversation that is not closed; a request (`request_id`) answered already
        adds nothing and answers its message."""
        conversation = self.conversation(conversation_id)
        message = conversation.answer(text, staff, self.clock.now(), request_id)
        self.save(conversation)
        return message

    @command
    def close_conversation(self, conversation_id: UUID, by: str) -> Conversation:
        """Staff (`by`, their username) close a conversation that needs nothing more."""
        conversation = self.conversation(conversation_id)
        conversation.close(by, self.clock.now())
        self.save(conversation)
        return conversation

    def conversation(self, conversation_id: UUID, customer_id: UUID | None = None) -> Conversation:
        """The conversation; given a customer, only theirs (another's is not found)."""
        conversation = self.get(Conversation, conversation_id, "conversation")
        if customer_id is not None and conversation.customer_id != customer_id:
            raise NotFound("conversation", conversation_id)
        return conversation

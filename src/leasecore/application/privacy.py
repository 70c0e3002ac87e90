"""Erasing a customer's personal data at their request (PIPL 个人信息保护法, right to deletion)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from leasecore.application.base import Commands, command
from leasecore.errors import InvalidInput, Refused
from leasecore.support import Conversation

REASON_LENGTH = 200


class OrdersStillOpen(Refused):
    """Personal data is kept while the contract is performed: an order not yet ended (money owed, a device out)."""

    def __init__(self, customer_id: UUID, orders: list[UUID]) -> None:
        listed = ", ".join(str(order) for order in orders)
        super().__init__(f"customer {customer_id} still has open orders ({listed}): erase once they have ended")
        self.customer_id, self.orders = customer_id, orders


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: when and by whom, the orders and conversations it blanked, the keys it deleted."""

    customer_id: UUID
    erased_at: datetime
    by: str
    orders: tuple[UUID, ...]
    conversations: tuple[UUID, ...]
    keys_deleted: int


class PrivacyCommands(Commands):
    """Erasure: the customer's keys deleted, so their personal fields read "erased" everywhere, for good."""

    @command
    def erase_customer(
        self, customer_id: UUID, by: str, reason: str, conversations: Iterable[UUID] = ()
    ) -> Erasure:
        """Refused while any of the customer's orders has not ended (the law keeps data for the contract's
        performance). Otherwise the customer, each of their orders and `conversations` record the erasure (so
        every process's copy and every read model blanks them), then the customer's keys are deleted. Erasing
        again changes nothing more and answers the same."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", "must not be blank")
        if len(reason) > REASON_LENGTH:
            raise InvalidInput("reason", f"must be at most {REASON_LENGTH} characters ({len(reason)} given)")
        customer = self.customer(customer_id)
        leases = [self.lease(order_id) for order_id in customer.orders]
        still_open = [lease.id for lease in leases if not lease.status.is_final]
        if still_open:
            raise OrdersStillOpen(customer_id, still_open)
        talks = [self.get(Conversation, conversation_id, "conversation") for conversation_id in conversations]
        talks = [conversation for conversation in talks if conversation.customer_id == customer_id]
        now = self.clock.now()
        changed: list[Aggregate] = []
        if customer.erase_personal_data(by, reason, now):
            changed.append(customer)
        for lease in leases:
            lease.erase_personal_data(now)
        for conversation in talks:
            conversation.erase_personal_data(now)
        changed.extend(aggregate for aggregate in (*leases, *talks) if aggregate.pending_events)
        if changed:
            self.save(*changed)
        keys = self.personal_data.erase(customer_id) if self.personal_data is not None else 0
        assert customer.erased_at is not None and customer.erased_by is not None
        return Erasure(
            customer_id,
            customer.erased_at,
            customer.erased_by,
            tuple(lease.id for lease in leases),
            tuple(conversation.id for conversation in talks),
            keys,
        )


"""Collections (催收) by hand: the calls staff make about an order, recorded on its lease."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from leasecore.application.base import Commands, command
from leasecore.lease import CallOutcome


class CollectionCommands(Commands):
    """A call is a lease event with who made it; it changes nothing the order owes."""

    @command
    def record_call(
        self, order_id: UUID, outcome: CallOutcome, notes: str, promised_on: date | None, staff: str
    ) -> None:
        """Record what came of a call about an order still paying rent; a promise to pay names its day."""
        lease = self.lease(order_id)
        lease.record_call(outcome, notes, promised_on, staff, self.clock.now())
        self.save(lease)

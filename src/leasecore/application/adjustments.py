"""Finance's manual adjustments to what an order owes: a late fee waived, a goodwill credit granted."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from leasecore.application.base import Commands, command


class AdjustmentCommands(Commands):
    """Adjustments are lease events, with their reason and who made them; the credit line's overdue block and the
    collection stage follow the ledger they leave."""

    @command
    def waive_late_fee(
        self,
        order_id: UUID,
        seq: int,
        amount: Decimal,
        reason: str,
        staff: str,
        *,
        request_id: UUID | None = None,
    ) -> None:
        """Waive part or all of the late fee assessed and unpaid on installment `seq`; a request (`request_id`) the
        order recorded already waives nothing more."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.waive_late_fee(seq, amount, reason, staff, now, request_id)
        self.save(lease, *self._follow_overdue(lease, now))

    @command
    def grant_goodwill_credit(
        self, order_id: UUID, amount: Decimal, reason: str, staff: str, *, request_id: UUID | None = None
    ) -> None:
        """Credit the order an amount that pays what it owes, oldest first, without money coming in; a request
        (`request_id`) the order recorded already credits nothing more."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.grant_goodwill_credit(amount, reason, staff, now, request_id)
        self.save(lease, *self._follow_overdue(lease, now))

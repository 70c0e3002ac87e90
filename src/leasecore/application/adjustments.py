"""Finance's manual adjustments to what an order owes: a late fee waived, a goodwill credit granted."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from leasecore.application.base import Commands, command


class AdjustmentCommands(Commands):
    """Adjustments are lease events, with their reason and who made them; the credit line's overdue block and the
    collection stage follow the ledger they leave."""

    @command
    def waive_late_fee(self, order_id: UUID, seq: int, amount: Decimal, reason: str, staff: str) -> None:
        """Waive part or all of the late fee assessed and unpaid on installment `seq`."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.waive_late_fee(seq, amount, reason, staff, now)
        self.save(lease, *self._follow_overdue(lease, now))

    @command
    def grant_goodwill_credit(self, order_id: UUID, amount: Decimal, reason: str, staff: str) -> None:
        """Credit the order an amount that pays what it owes, oldest first, without money coming in."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.grant_goodwill_credit(amount, reason, staff, now)
        self.save(lease, *self._follow_overdue(lease, now))

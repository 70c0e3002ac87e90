"""Collections (催收) by hand: the calls staff make about an order, recorded on its lease, and the reminders they
send."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from leasecore.application.base import Commands, command
from leasecore.errors import Refused
from leasecore.lease import RENT_PAYABLE, CallOutcome
from leasecore.lease.reminders import Reminder, ReminderKind, manual_notice


class CollectionCommands(Commands):
    """A call is a lease event with who made it; it changes nothing the order owes."""

    @command
    def record_call(
        self,
        order_id: UUID,
        outcome: CallOutcome,
        notes: str,
        promised_on: date | None,
        staff: str,
        *,
        request_id: UUID | None = None,
    ) -> datetime:
        """Record what came of a call about an order still paying rent; a promise to pay names its day. When it was
        recorded: a request (`request_id`) the order recorded already records nothing more and answers when it did."""
        lease = self.lease(order_id)
        made_at = lease.record_call(outcome, notes, promised_on, staff, self.clock.now(), request_id)
        self.save(lease)
        return made_at

    @command
    def send_reminder(self, order_id: UUID) -> Reminder:
        """Staff send the customer a reminder of what is overdue on an order still paying rent, at most once per
        overdue installment (the daily job sends its own at each collection stage); the outbox sends it."""
        lease = self.lease(order_id)
        lease.require(*RENT_PAYABLE, action="send a reminder")
        now = self.clock.now()
        notice = manual_notice(lease.assessed(now))
        if notice is None:
            raise Refused(f"nothing is overdue on order {order_id}: there is nothing to remind of")
        if Reminder.create_id(order_id, notice.seq, ReminderKind.MANUAL.value) in self.repository:
            raise Refused(f"a reminder about installment {notice.seq} was already sent; it goes once per installment")
        reminder = Reminder.queue(order_id, lease.customer_id, self.customer(lease.customer_id).phone, notice, now)
        self.save(reminder)
        return reminder

"""The daily job: overdue marking, late fees, collection stages, reminders and unpaid-order timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from leasecore.application.base import command
from leasecore.application.stock import StockCommands
from leasecore.lease.billing import BillingPolicy, CollectionStage
from leasecore.lease.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.lease.reasons import unpaid
from leasecore.lease.reminders import Notice, Reminder, collection_notice, due_notices
from leasecore.topics import stored_topics


@dataclass
class DailyReport:
    """What one run of the daily job did."""

    as_of: date
    looked_at: int = 0
    cancelled: list[UUID] = field(default_factory=list)
    assessed: list[UUID] = field(default_factory=list)
    stage_changes: list[tuple[UUID, str | None]] = field(default_factory=list)
    reminders: list[UUID] = field(default_factory=list)


class DailyJob(StockCommands):
    """The daily job: overdue marking, late fees, collection stages, reminders and unpaid-order timeouts."""

    def run_daily(self, as_of: date | None = None) -> DailyReport:
        """Overdue marking, late fees, collection stages, reminders and unpaid-order timeouts as of a day (default
        today in the billing timezone), idempotent per day: each reminder is recorded once."""
        billing = self.billing_policy()
        now = self.clock.now()
        as_of = as_of or billing.late_fee_rule.local_date(now)
        report = DailyReport(as_of)
        horizon = as_of + timedelta(days=billing.remind_before_days)
        work = self.daily_work.orders_to_assess(horizon) if self.daily_work else self._open_orders()
        for order_id in work:
            report.looked_at += 1
            self._daily_one(order_id, as_of, billing, report)
        return report

    @command
    def _daily_one(self, order_id: UUID, as_of: date, billing: BillingPolicy, report: DailyReport) -> None:
        lease = self.lease(order_id)
        now = self.clock.now()
        if lease.status is LeaseStatus.PENDING_PAYMENT:
            if now - lease.placed_at >= timedelta(minutes=billing.unpaid_timeout_minutes):
                lease.cancel(str(unpaid(billing.unpaid_timeout_minutes)), now)
                self.save(lease, *self._release_everything(lease, "unpaid timeout", now))
                report.cancelled.append(order_id)
            return
        if lease.status not in RENT_PAYABLE:
            return
        assessed = lease.assess_overdue(as_of, now)
        stage = billing.stage_for(lease.ledger.days_overdue) if lease.ledger.is_overdue else None
        moved = lease.move_collection_stage(stage.action.value if stage else None, now)
        reminders = self._reminders(lease, self._notices(lease, as_of, billing, stage if moved else None, now), now)
        self.save(lease, *self._follow_overdue(lease, now), *reminders)
        if assessed:
            report.assessed.append(order_id)
        if moved:
            report.stage_changes.append((order_id, lease.collection_stage))
        report.reminders.extend(reminder.id for reminder in reminders)

    def _notices(
        self, lease: Lease, as_of: date, billing: BillingPolicy, reached: CollectionStage | None, now: datetime
    ) -> list[Notice]:
        """A reminder before each due date, from `remind_before_days` before it (none for a day already past,
        when the job catches up), and one when collections reach a stage."""
        first = max(as_of, billing.late_fee_rule.local_date(now))
        notices = due_notices(lease.ledger_on(as_of), first, as_of + timedelta(days=billing.remind_before_days))
        notice = collection_notice(lease.ledger, reached.action.value) if reached else None
        return [*notices, notice] if notice else notices

    def _reminders(self, lease: Lease, notices: list[Notice], now: datetime) -> list[Reminder]:
        """The reminders not yet recorded, to the customer's phone; saved with the lease, so a stage change and its
        reminder commit together."""
        made: list[Reminder] = []
        phone: str | None = None
        for notice in notices:
            if Reminder.create_id(lease.id, notice.seq, notice.kind.value) in self.repository:
                continue
            phone = phone or self.customer(lease.customer_id).phone
            made.append(Reminder.queue(lease.id, lease.customer_id, phone, notice, now))
        return made

    def _open_orders(self) -> Iterator[UUID]:
        """Every order not yet final, read from the event log (the read model does this faster)."""
        topics = list(stored_topics(Lease.OrderPlaced))
        position = 0
        while page := self.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
            for notification in page:
                order_id = UUID(str(notification.originator_id))
                if not self.lease(order_id).status.is_final:
                    yield order_id
            position = page[-1].id

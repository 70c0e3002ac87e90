"""The daily job: overdue marking, late fees, collection stages and unpaid-order timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from leasecore.application.base import command
from leasecore.application.stock import StockCommands
from leasecore.lease.billing import BillingPolicy, CollectionAction
from leasecore.lease.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.topics import stored_topics


@dataclass
class DailyReport:
    """What one run of the daily job did."""

    as_of: date
    looked_at: int = 0
    cancelled: list[UUID] = field(default_factory=list)
    assessed: list[UUID] = field(default_factory=list)
    stage_changes: list[tuple[UUID, str | None]] = field(default_factory=list)


class DailyJob(StockCommands):
    """The daily job: overdue marking, late fees, collection stages and unpaid-order timeouts."""

    def run_daily(self, as_of: date | None = None) -> DailyReport:
        """Overdue marking, late fees, collection stages and unpaid-order timeouts, idempotent per day."""
        billing = self.billing_policy()
        now = self.clock.now()
        as_of = as_of or billing.late_fee_rule.local_date(now)
        report = DailyReport(as_of)
        work = self.daily_work.orders_to_assess(as_of) if self.daily_work else self._open_orders()
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
                lease.cancel(f"unpaid after {billing.unpaid_timeout_minutes} minutes", now)
                self.save(lease, *self._release_everything(lease, "unpaid timeout", now))
                report.cancelled.append(order_id)
            return
        if lease.status not in RENT_PAYABLE:
            return
        if lease.assess_overdue(as_of, now):
            report.assessed.append(order_id)
        stage = billing.stage_for(lease.ledger.days_overdue) if lease.ledger.is_overdue else None
        moved = lease.move_collection_stage(stage.action.value if stage else None, now)
        self.save(lease, *self._follow_overdue(lease, now))
        if moved:
            report.stage_changes.append((order_id, lease.collection_stage))
            if stage is not None and stage.action is CollectionAction.SMS:
                self._remind(lease)

    def _remind(self, lease: Lease) -> None:
        """The reminder SMS of collections (催收), sent after the stage change is saved."""
        if self.sms is None:
            return
        owed = lease.ledger.owed
        text = (
            f"[leasecore] Order {str(lease.id)[:8]}: {owed} CNY is overdue by {lease.ledger.days_overdue} "
            f"day(s). Please pay in the app to stop late fees."
        )
        self.sms.send(self.customer(lease.customer_id).phone, text)

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

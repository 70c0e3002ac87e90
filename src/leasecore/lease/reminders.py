"""Reminders (提醒短信): the text message a customer gets before an installment falls due and when collections
(催收) reach a stage, carrying what is actually due or overdue and its late fees.

Each reminder exists once per order, installment and kind: its id derives from them, so the daily job run
twice, or by two processes at once, records it once. Sending it is the outbox's business, not the domain's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.lease.ledger import InstallmentStatus, Ledger
from leasecore.values import ZERO, derived_id, total


class ReminderKind(Enum):
    """Why a reminder goes out: an installment falls due soon, collections reached a stage, or staff sent one."""

    DUE = "due"
    COLLECTION_SMS = "collection_sms"
    COLLECTION_CALL = "collection_call"
    COLLECTION_AGENCY = "collection_agency"
    MANUAL = "manual"

    @classmethod
    def at_stage(cls, action: str) -> ReminderKind:
        return cls(f"collection_{action}")


@dataclass(frozen=True)
class Notice:
    """What one reminder says: the installment it is about (the oldest overdue one for collections), the
    amount due or overdue with its unpaid late fees, and of that the late fees."""

    kind: ReminderKind
    seq: int
    due_date: date
    amount: Decimal
    late_fee: Decimal
    days_overdue: int

    def text(self, order_id: UUID) -> str:
        order = str(order_id)[:8]
        if self.kind is ReminderKind.DUE:
            return (
                f"[leasecore] Order {order}: installment {self.seq} of {self.amount} CNY is due on "
                f"{self.due_date.isoformat()}. Please pay in the app by then to avoid late fees."
            )
        then = {
            ReminderKind.COLLECTION_SMS: "Please pay in the app to stop late fees.",
            ReminderKind.COLLECTION_CALL: "Please pay in the app; our collections team will call you.",
            ReminderKind.COLLECTION_AGENCY: "Please pay in the app; the debt has been passed to a collection agency.",
            ReminderKind.MANUAL: "Please pay in the app, or reply if you need help.",
        }[self.kind]
        return (
            f"[leasecore] Order {order}: {self.amount} CNY is overdue by {self.days_overdue} day(s), "
            f"late fees of {self.late_fee} CNY included. {then}"
        )


def due_notices(ledger: Ledger, first: date, last: date) -> list[Notice]:
    """A reminder for each installment still owing, not overdue, that falls due from `first` to `last`."""
    return [
        Notice(ReminderKind.DUE, b.seq, b.due_date, b.owed, b.late_fee - b.fee_paid, 0)
        for b in ledger.balances
        if b.owed > ZERO and b.days_overdue == 0 and first <= b.due_date <= last
    ]


def collection_notice(ledger: Ledger, action: str) -> Notice | None:
    """The reminder of a collection stage: everything overdue with its unpaid late fees, about the oldest
    overdue installment; None when nothing is overdue."""
    return _overdue_notice(ledger, ReminderKind.at_stage(action))


def manual_notice(ledger: Ledger) -> Notice | None:
    """The reminder staff send by hand: what is overdue, as a stage's reminder says it; None when nothing is."""
    return _overdue_notice(ledger, ReminderKind.MANUAL)


def _overdue_notice(ledger: Ledger, kind: ReminderKind) -> Notice | None:
    overdue = [b for b in ledger.balances if b.status is InstallmentStatus.OVERDUE]
    if not overdue:
        return None
    oldest = min(overdue, key=lambda b: b.seq)
    return Notice(
        kind,
        oldest.seq,
        oldest.due_date,
        total(b.owed for b in overdue),
        total(b.late_fee - b.fee_paid for b in overdue),
        ledger.days_overdue,
    )


class Reminder(Aggregate):
    """A text message owed to a customer about an installment, decided once per order, installment and kind."""

    @staticmethod
    def create_id(order_id: UUID, seq: int, kind: str) -> UUID:
        return derived_id("reminder", order_id, seq, kind)

    class Queued(Aggregate.Created):
        order_id: UUID
        customer_id: UUID
        seq: int
        kind: str
        phone: str
        text: str
        amount: Decimal
        late_fee: Decimal
        due_date: date
        days_overdue: int

    @event(Queued)
    def __init__(
        self,
        order_id: UUID,
        customer_id: UUID,
        seq: int,
        kind: str,
        phone: str,
        text: str,
        amount: Decimal,
        late_fee: Decimal,
        due_date: date,
        days_overdue: int,
        timestamp: datetime,
    ) -> None:
        self.order_id, self.customer_id, self.seq, self.kind = order_id, customer_id, seq, kind
        self.phone, self.text = phone, text
        self.amount, self.late_fee, self.due_date, self.days_overdue = amount, late_fee, due_date, days_overdue

    @classmethod
    def queue(cls, order_id: UUID, customer_id: UUID, phone: str, notice: Notice, now: datetime) -> Reminder:
        """The reminder of a notice, to the customer's phone, in the words the customer reads."""
        return cls(
            order_id,
            customer_id,
            notice.seq,
            notice.kind.value,
            phone,
            notice.text(order_id),
            notice.amount,
            notice.late_fee,
            notice.due_date,
            notice.days_overdue,
            timestamp=now,
        )

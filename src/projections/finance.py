"""Finance: every money movement booked on its day in the billing timezone (Asia/Shanghai).

Per day: payments received from providers; deposits received, deducted and refunded; rent,
protection, late fees, damage, late-return, buyouts and credit collected; stray payments; other
refunds (checkout rent on cancellation or rejection, credit at settlement, stray payments).
Rent, protection, fees and credit are booked as the change in the order's ledger, so money moved
between them (a renewal turning credit into rent) is booked too. On every day and every order:

    payments received + deposits deducted
      = deposits received + rent + protection + fees + damage + late return + buyouts + credit + stray
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from leasecore.lease import Lease, PaymentSource
from leasecore.money.deposit import Deposit
from leasecore.values import ZERO
from projections.orders import LEDGER_EVENTS
from projections.projection import Batch, Event, Projection, Row, blank, is_new, on
from projections.tables import finance_deposits_view, finance_orders_view, finance_view

DAY_AMOUNTS = tuple(column.name for column in finance_view.columns if column.name != "day")
ORDER_AMOUNTS = tuple(
    column.name for column in finance_orders_view.columns if column.name not in ("order_id", "version", "customer_id")
)
COLLECTED = ("rent", "protection", "fees")


class FinanceProjection(Projection):
    """Money in, money out and what is held, per day; with each order's and each deposit's totals."""

    name = "finance"
    tables = (finance_view, finance_orders_view, finance_deposits_view)

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        ids = [event.originator_id for event in events]
        batch.rows(finance_orders_view, "order_id").prefetch(ids)
        batch.rows(finance_deposits_view, "deposit_id").prefetch(ids)
        batch.rows(finance_view, "day").prefetch({self.day(event) for event in events})

    def day(self, event: Event) -> date:
        day: date = event.timestamp.astimezone(self._zone).date()
        return day

    def book(self, batch: Batch, event: Event, amounts: dict[str, Decimal]) -> None:
        moved = {name: amount for name, amount in amounts.items() if amount}
        if not moved:
            return
        day = self.day(event)
        rows = batch.rows(finance_view, "day")
        row = rows.one(day)
        if row is None:
            row = blank(finance_view, day=day, **dict.fromkeys(DAY_AMOUNTS, ZERO))
            rows.put(day, [row])
        for name, amount in moved.items():
            row[name] += amount

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(finance_orders_view, "order_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        amounts = dict.fromkeys(ORDER_AMOUNTS, ZERO)
        row = blank(
            finance_orders_view,
            order_id=event.originator_id,
            version=event.originator_version,
            customer_id=event.customer_id,
            **amounts,
        )
        rows.put(event.originator_id, [row])

    @on(*LEDGER_EVENTS, Lease.Cancelled, Lease.ReviewRejected, Lease.Settled, Lease.StrayPaymentRefunded)
    def money_moved(self, batch: Batch, event: Event) -> None:
        order = batch.rows(finance_orders_view, "order_id").one(event.originator_id)
        if order is None or not is_new(order, event):
            return
        order["version"] = event.originator_version
        day: dict[str, Decimal] = {}
        if isinstance(event, LEDGER_EVENTS):
            day.update(_ledger_change(order, event))
        for name, amount in _movements(event).items():
            day[name] = day.get(name, ZERO) + amount
            if name == "credit":
                order["unapplied"] += amount
            elif name == "other_refunds":
                order["refunded"] += amount
            else:
                order[name] += amount
        self.book(batch, event, day)

    @on(Deposit.Required)
    def deposit_required(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(finance_deposits_view, "deposit_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            finance_deposits_view,
            deposit_id=event.originator_id,
            order_id=event.order_id,
            version=event.originator_version,
            amount=event.amount,
            waived=event.waived,
            paid=ZERO,
            deducted=ZERO,
            refunded=ZERO,
            held=ZERO,
        )
        rows.put(event.originator_id, [row])

    @on(Deposit.Paid, Deposit.Deducted, Deposit.Refunded)
    def deposit_moved(self, batch: Batch, event: Event) -> None:
        deposit = batch.rows(finance_deposits_view, "deposit_id").one(event.originator_id)
        if deposit is None or not is_new(deposit, event):
            return
        deposit["version"] = event.originator_version
        column = {Deposit.Paid: "paid", Deposit.Deducted: "deducted", Deposit.Refunded: "refunded"}[type(event)]
        deposit[column] += event.amount
        deposit["held"] = deposit["paid"] - deposit["deducted"] - deposit["refunded"]
        self.book(batch, event, {f"deposits_{'received' if column == 'paid' else column}": event.amount})


def _ledger_change(order: Row, event: Event) -> dict[str, Decimal]:
    """Rent, protection, fees and credit collected since the order's last ledger."""
    collected = event.ledger.collected()
    change = {name: getattr(collected, name) - order[name] for name in COLLECTED}
    change["credit"] = collected.credit - order["ledger_credit"]
    for name in COLLECTED:
        order[name] = getattr(collected, name)
    order["ledger_credit"] = collected.credit
    return change


def _movements(event: Event) -> dict[str, Decimal]:
    """The money an event moves besides the ledger: payments in, charges, refunds."""
    if isinstance(event, Lease.CheckoutPaid | Lease.InstallmentPaid):
        return {"payments_received": event.amount}
    if isinstance(event, Lease.BalancePaid):
        charges = event.allocation.charges
        moved = {
            "damage": charges.damage,
            "late_return": charges.late_return,
            "buyouts": charges.buyout,
            "credit": event.allocation.unapplied,
        }
        if event.source is PaymentSource.PROVIDER:
            moved["payments_received"] = event.amount
        return moved
    if isinstance(event, Lease.BoughtOut):
        return {"payments_received": event.amount, "buyouts": event.quote.price}
    if isinstance(event, Lease.Cancelled | Lease.ReviewRejected | Lease.Settled):
        return {"other_refunds": event.refund}
    if isinstance(event, Lease.StrayPaymentRefunded):
        return {"payments_received": event.amount, "stray": event.amount, "other_refunds": event.amount}
    return {}

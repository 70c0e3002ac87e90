"""End of term (到期处置): return and inspection, renewal, buyout, swap, and settlement."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from leasecore.application.base import command
from leasecore.application.orders import OrderCommands
from leasecore.errors import InvalidState, Refused
from leasecore.lease.lease import BuyoutQuote, Lease, LeaseStatus, PaymentSource, SettlementForecast
from leasecore.lease.quote import OrderRequest
from leasecore.values import ZERO


class EndOfTermCommands(OrderCommands):
    """End of term (到期处置): return and inspection, renewal, buyout, swap, and settlement."""

    @command
    def renew(self, order_id: UUID, months: int) -> None:
        lease = self.lease(order_id)
        lease.renew(months, self.clock.now())
        self.save(lease)

    @command
    def request_return(self, order_id: UUID, tracking_no: str) -> None:
        lease = self.lease(order_id)
        lease.request_return(tracking_no, self.clock.now())
        self.save(lease)

    @command
    def record_return(self, order_id: UUID) -> None:
        """The device is back: its unit is free for the next customer once inspected."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.record_return(now)
        self.save(lease, *self._release_units(lease, now))

    @command
    def complete_inspection(self, order_id: UUID, damage_fee: Decimal, notes: str = "") -> None:
        """Damage is charged, everything owed is netted against the deposit, the rest refunded."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.complete_inspection(damage_fee, notes, now)
        self.save(lease, *self._settle(lease, now))

    def inspection_forecast(self, order_id: UUID, damage_fee: Decimal) -> SettlementForecast:
        """What completing the inspection with `damage_fee` now would charge and settle, by the rules the command
        itself follows (`Lease.inspection`, then the deposit netted as `_settle` nets it), changing nothing."""
        lease = self.lease(order_id)
        deposit = self.deposit(order_id)
        held = deposit.held + deposit.takeable
        return lease.settlement_forecast(lease.inspection(damage_fee), held, self.clock.now())

    @command
    def pay_balance(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """The `damage` payment: what the deposit did not cover; the order then settles."""
        self.save(*self._take_balance(order_id, ref, amount, paid_at))

    def _take_balance(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        if lease.status is not LeaseStatus.PENDING_SETTLEMENT:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.pay_balance(ref, amount, PaymentSource.PROVIDER, paid_at, now)
        return [lease, *self._settle(lease, now)]

    @command
    def settle(self, order_id: UUID) -> bool:
        """Settle when nothing is owed and the device is back or bought out; idempotent."""
        lease = self.lease(order_id)
        if lease.status is LeaseStatus.SETTLED:
            return True
        now = self.clock.now()
        changed = self._settle(lease, now)
        self.save(lease, *changed)
        return lease.is_settled

    def _settle(self, lease: Lease, now: datetime) -> list[Aggregate]:
        """Net what is owed against the deposit held, then against the money frozen (押金预授权); settle, unfreeze
        the rest and release the waiver when clear."""
        lease.check_settleable()
        deposit = self.deposit(lease.id)
        owed = lease.owed(now)
        take = deposit.toward(owed)
        if take > ZERO:
            deposit.deduct(take, "settlement", now)
            lease.pay_balance(f"deposit:{deposit.id}:{deposit.version}", take, PaymentSource.DEPOSIT, now, now)
            owed = lease.owed(now)
        taken = deposit.take_from_freeze(owed, "damage and arrears", now)
        if taken > ZERO:
            lease.pay_balance(f"freeze:{deposit.id}:{deposit.version}", taken, PaymentSource.DEPOSIT, now, now)
            owed = lease.owed(now)
        if owed > ZERO:
            if lease.status is LeaseStatus.INSPECTING:
                lease.await_balance(now)
            return [deposit]
        return [deposit, *self._close(lease, deposit, now)]

    def buyout_quote(self, order_id: UUID) -> tuple[BuyoutQuote, Decimal]:
        """The buyout price and what remains to pay after the deposit held counts toward it."""
        lease = self.lease(order_id)
        quote = lease.buyout_quote(self.clock.now())
        return quote, quote.price - self.deposit(order_id).toward(quote.price)

    def buy_out_with_deposit(self, order_id: UUID) -> None:
        """Buy out with the deposit held alone; when it does not cover the price, the rest is paid first
        with a `buyout` payment (refused, naming what remains)."""
        price, to_pay = self.buyout_quote(order_id)
        if to_pay > ZERO:
            raise Refused(
                f"the buyout costs {price.price}; {to_pay} remains after the deposit held: "
                f'pay it with POST /v1/orders/{order_id}/payments {{"purpose": "buyout"}}'
            )
        self.buy_out(order_id, f"buyout-from-deposit:{order_id}", ZERO, self.clock.now())

    @command
    def buy_out(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """Ownership passes once the price is paid, the deposit counting toward it; then settle."""
        self.save(*self._take_buyout(order_id, ref, amount, paid_at))

    def _take_buyout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        deposit = self.deposit(order_id)
        try:
            price = lease.buyout_quote(now).price
        except (InvalidState, Refused):
            if amount > ZERO:
                lease.record_stray_payment(ref, amount, paid_at, now)
                return [lease]
            raise
        from_deposit = deposit.toward(price)
        if amount + from_deposit != price:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.buy_out(ref, amount, from_deposit, paid_at, now)
        if from_deposit:
            deposit.deduct(from_deposit, "buyout", now)
        return [lease, deposit, *self._sell_units(lease, now), *self._close(lease, deposit, now)]

    @command
    def swap(self, order_id: UUID, sku_id: UUID, tracking_no: str, new_order_id: UUID | None = None) -> UUID:
        """Swap (换机): this lease goes back through inspection; a linked order for another SKU
        is placed on the same plan and deposit mode."""
        lease = self.lease(order_id)
        now = self.clock.now()
        new_order_id = new_order_id or uuid4()
        request = OrderRequest(
            sku_id, lease.quantity, lease.plan, lease.terms.protected, lease.deposit_mode, lease.channel, lease.address
        )
        lease.swap_out(new_order_id, tracking_no, now)
        new = self._prepare_order(new_order_id, lease.customer_id, request, now, swapped_from=order_id)
        self.save(lease, *new)
        return new_order_id

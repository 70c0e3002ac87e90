"""Deposit pre-authorization (押金预授权): the freeze asked of a provider and recorded once notified; the takes
and unfreezes settlement, cancelling and rejecting ask for, confirmed once the provider has done them."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from leasecore.application.base import command
from leasecore.application.payments import PaymentCommands
from leasecore.errors import InvalidInput, NotFound
from leasecore.lease.lease import LeaseStatus
from leasecore.money.deposit import Deposit, FreezeOperation, FreezeOperationKind, FrozenFunds, order_of_ref
from leasecore.ports import (
    Acknowledgement,
    DepositFreezer,
    FreezeNotification,
    FreezeOperationReceipt,
    FreezeRequest,
    InvalidSignature,
)


class PreauthCommands(PaymentCommands):
    """Deposit pre-authorization: freeze, record the freeze, take from it and unfreeze it, each exactly once."""

    def freezer(self, provider: str | None) -> tuple[str, DepositFreezer]:
        """The chosen provider (the first configured one that freezes deposits by default)."""
        freezers = {
            name: gateway
            for name, gateway in self.gateways.items()
            if isinstance(gateway, DepositFreezer) and gateway.freezes_deposits
        }
        provider = provider or next(iter(freezers), None)
        freezer = freezers.get(provider or "")
        if provider is None or freezer is None:
            raise InvalidInput("provider", f"choose one that freezes deposits: {', '.join(freezers) or 'none'}")
        return provider, freezer

    def collect_preauth(self, order_id: UUID, provider: str | None = None) -> FreezeRequest:
        """The freeze of the deposit not waived, recorded as asked of the provider, then signed for the app to
        confirm; asking again names the same request, which the provider dedupes."""
        provider, freezer = self.freezer(provider)
        lease = self.lease(order_id)
        lease.require(LeaseStatus.PENDING_PAYMENT, action="freeze the deposit")
        out_request_no = self._request_freeze(order_id, provider)
        deposit = self.deposit(order_id)
        title = f"leasecore order {str(order_id)[:8]}: deposit"
        return freezer.create_freeze(out_request_no, deposit.to_freeze, title, self.notify_url(provider))

    @command
    def _request_freeze(self, order_id: UUID, provider: str) -> str:
        deposit = self.deposit(order_id)
        out_request_no = deposit.request_freeze(provider, self.clock.now())
        self.save(deposit)
        return out_request_no

    def receive_notification(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """A freeze notification is recorded as a freeze; any other callback as a payment's."""
        gateway = self.gateways.get(provider)
        if isinstance(gateway, DepositFreezer) and gateway.freezes_deposits:
            notification = gateway.freeze_notification(body, headers)
            if notification is not None:
                self.record_freeze(provider, notification)
                return gateway.acknowledgement
        return super().receive_notification(provider, body, headers)

    @command
    def record_freeze(self, provider: str, notification: FreezeNotification) -> bool:
        """The provider froze the money, once per auth_no; a freeze that no longer secures an order (cancelled or
        rejected before it came, or a second one) is unfrozen at once. False for a repeat."""
        if notification.provider != provider:
            raise InvalidSignature(f"a freeze notified by {notification.provider} came to {provider}'s route")
        deposit = self._deposit_of(notification.out_request_no)
        if deposit.freeze_requests.get(provider) != notification.out_request_no:
            raise InvalidSignature(f"{notification.out_request_no} was never asked of {provider}")
        now = self.clock.now()
        frozen = FrozenFunds(
            provider,
            notification.out_request_no,
            notification.auth_no,
            notification.operation_id,
            notification.amount,
            notification.fund_amount,
            notification.credit_amount,
        )
        if not deposit.record_freeze(frozen, now):
            return False
        if self.lease(deposit.order_id).status is not LeaseStatus.PENDING_PAYMENT:
            deposit.unfreeze_all("the order no longer waits for its deposit", now)
        self.save(deposit)
        return True

    def settle_pending_freeze(self, order_id: UUID) -> bool:
        """Freezes whose notification never came, asked of their providers and recorded as the notifications
        would have been (a freeze of an order gone is unfrozen at once); True when one was recorded now."""
        recorded = False
        for name, out_request_no in self.deposit(order_id).freeze_requests.items():
            if not any(freeze.provider == name for freeze in self.deposit(order_id).freezes.values()):
                notification = self.freezer(name)[1].query_freeze(out_request_no)
                if notification is not None:
                    recorded = self.record_freeze(name, notification) or recorded
        return recorded

    def send_freeze_operations(self, order_id: UUID) -> list[FreezeOperationReceipt]:
        """Ask the providers for the order's takes and unfreezes not yet confirmed, in the order they were
        decided, each under its own ref (a retry after a lost answer or a crash is deduped by the provider);
        each accepted one is confirmed once. Stops at the first refusal, so an unfreeze never overtakes a take."""
        receipts: list[FreezeOperationReceipt] = []
        for operation in self.deposit(order_id).pending_operations:
            receipt = self._send(order_id, operation)
            receipts.append(receipt)
            if not receipt.accepted:
                break
            self.confirm_freeze_operation(order_id, operation.ref, receipt.provider_ref)
        return receipts

    def _send(self, order_id: UUID, operation: FreezeOperation) -> FreezeOperationReceipt:
        _, freezer = self.freezer(operation.provider)
        if operation.kind is FreezeOperationKind.TAKE:
            subject = f"leasecore order {str(order_id)[:8]}: damage and arrears"
            return freezer.take_from_freeze(
                operation.auth_no, operation.ref, operation.amount, subject, operation.completes
            )
        return freezer.unfreeze(operation.auth_no, operation.ref, operation.amount, "deposit released")

    @command
    def confirm_freeze_operation(self, order_id: UUID, ref: str, provider_ref: str) -> bool:
        """The provider did a take or an unfreeze: recorded once per ref."""
        deposit = self.deposit(order_id)
        if not deposit.confirm_operation(ref, provider_ref, self.clock.now()):
            return False
        self.save(deposit)
        return True

    def _deposit_of(self, out_request_no: str) -> Deposit:
        try:
            order_id = order_of_ref(out_request_no)
        except ValueError:
            raise InvalidSignature(f"{out_request_no!r} is not one of our freezes") from None
        try:
            return self.deposit(order_id)
        except NotFound:
            raise InvalidSignature(f"{out_request_no!r} names no order of ours") from None

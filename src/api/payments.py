"""Provider notifications in: verified, then recorded once as the payment's success or failure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

from adapters.payments.wechatpay import WeChatPayGateway
from leasecore.application import LeaseApplication
from leasecore.errors import NotFound
from leasecore.payments import Payment
from leasecore.ports import InvalidSignature, PaymentGateway


@dataclass(frozen=True)
class Acknowledgement:
    """What the provider expects back once a notification is recorded."""

    status: int
    body: str
    media_type: str


ALIPAY_STYLE = Acknowledgement(200, "success", "text/plain")
WECHAT_STYLE = Acknowledgement(200, '{"code":"SUCCESS","message":"OK"}', "application/json")


class PaymentNotifications:
    """The one path of every provider callback: the notify route and the sandbox's in-process delivery."""

    def __init__(
        self, app: LeaseApplication, gateways: Mapping[str, PaymentGateway], written: Callable[[], None]
    ) -> None:
        self.app, self.gateways, self._written = app, gateways, written

    def gateway(self, provider: str) -> PaymentGateway:
        gateway = self.gateways.get(provider)
        if gateway is None:
            raise NotFound("payment provider", provider)
        return gateway

    def receive(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """Verify (tampered or unsigned: `InvalidSignature`, nothing recorded), then record once."""
        gateway = self.gateway(provider)
        notification = gateway.verify_notification(body, headers)
        try:
            payment_id = UUID(notification.payment_id)
        except ValueError:
            raise InvalidSignature(f"{notification.payment_id!r} is not one of our payments") from None
        payment: Payment = self.app.payment(payment_id)
        if payment.provider != provider:
            raise InvalidSignature(f"payment {payment_id} was requested through {payment.provider}, not {provider}")
        if notification.succeeded:
            self.app.complete_payment(
                payment_id, notification.transaction_id, notification.amount, notification.paid_at
            )
        else:
            self.app.fail_payment(payment_id, f"closed by {provider} unpaid")
        self._written()
        return WECHAT_STYLE if isinstance(gateway, WeChatPayGateway) else ALIPAY_STYLE

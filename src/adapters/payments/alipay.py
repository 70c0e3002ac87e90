"""Alipay open platform (支付宝开放平台): RSA2-signed app-pay order strings, refunds and verified notifications."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import SETTINGS, AlipayConfig
from adapters.amounts import require_cents, require_positive, yuan_string
from adapters.errors import ProviderError
from adapters.keys import load_public_key
from leasecore.clock import SystemClock
from leasecore.ports import Clock, PaymentNotification, PaymentRequest, RefundReceipt

PROVIDER = "alipay"
APP_PAY_METHOD = "alipay.trade.app.pay"
REFUND_METHOD = "alipay.trade.refund"


class AlipayGateway:
    """A `PaymentGateway` for Alipay app payments (alipay.trade.app.pay) and refunds (alipay.trade.refund)."""

    acknowledgement = alipay_openapi.ACKNOWLEDGEMENT

    def __init__(
        self,
        config: AlipayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        provider: str = PROVIDER,
    ) -> None:
        self.provider, self.config = provider, config
        self._public_key = load_public_key(config.alipay_public_key_pem)
        self._client = alipay_openapi.AlipayClient.from_config(config, http_client, clock or SystemClock())

    def create_payment(self, payment_id: str, amount: Decimal, subject: str, notify_url: str) -> PaymentRequest:
        """The signed order string the app hands to the Alipay SDK; nothing is sent from the server."""
        amount = require_positive(amount)
        biz_content = {
            "out_trade_no": payment_id,
            "total_amount": yuan_string(amount),
            "subject": subject,
            "product_code": "QUICK_MSECURITY_PAY",
        }
        params = self._client.signed_params(APP_PAY_METHOD, biz_content, notify_url)
        return PaymentRequest(payment_id, self.provider, amount, {"order_string": alipay_openapi.encode_form(params)})

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Authentic only when signed by Alipay's key for this app_id; anything else raises `InvalidSignature`."""
        params = alipay_openapi.verify_notification(body, self._public_key)
        return alipay_openapi.payment_notification(params, self.provider, self.config.app_id)

    def refund(self, payment_id: str, refund_id: str, amount: Decimal) -> RefundReceipt:
        """Alipay refunds once per out_request_no (our refund_id) and refuses more than was paid."""
        amount = require_cents(amount)
        if amount <= 0:
            return RefundReceipt(refund_id, self.provider, amount, False, f"a refund must be positive, not {amount}")
        biz_content = {"out_trade_no": payment_id, "refund_amount": yuan_string(amount), "out_request_no": refund_id}
        answer = self._client.call(REFUND_METHOD, biz_content)
        if answer.succeeded and answer.payload.get("out_trade_no", payment_id) != payment_id:
            raise ProviderError(f"Alipay answered a refund of {answer.payload['out_trade_no']}, not {payment_id}")
        reason = "" if answer.succeeded else answer.reason
        return RefundReceipt(refund_id, self.provider, amount, answer.succeeded, reason)


__all__ = ["SETTINGS", "AlipayConfig", "AlipayGateway"]

"""Alipay open platform (支付宝开放平台): RSA2-signed app-pay order strings, refunds and verified notifications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import SETTINGS, AlipayConfig
from adapters.amounts import parse_yuan, require_cents, require_positive, yuan_string
from adapters.errors import ProviderError
from adapters.keys import load_public_key
from leasecore.clock import SystemClock
from leasecore.ports import (
    Clock,
    PaymentNotification,
    PaymentQuery,
    PaymentRequest,
    PaymentState,
    RefundReceipt,
)

PROVIDER = "alipay"
APP_PAY_METHOD = "alipay.trade.app.pay"
REFUND_METHOD = "alipay.trade.refund"
QUERY_METHOD = "alipay.trade.query"
NOT_PAID_STATUS = "WAIT_BUYER_PAY"
NO_SUCH_TRADE = "ACQ.TRADE_NOT_EXIST"


class AlipayGateway:
    """A `PaymentGateway` for Alipay app payments (alipay.trade.app.pay), refunds (alipay.trade.refund) and
    queries (alipay.trade.query)."""

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
        self._clock = clock or SystemClock()
        self._client = alipay_openapi.AlipayClient.from_config(config, http_client, self._clock)

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

    def query_payment(self, payment_id: str) -> PaymentQuery:
        """Alipay's signed word on the trade: paid (TRADE_SUCCESS, TRADE_FINISHED), closed, or not paid (waiting
        for the buyer, or a trade the customer never opened); any other refusal is a `ProviderError`."""
        answer = self._client.call(QUERY_METHOD, {"out_trade_no": payment_id})
        if not answer.succeeded:
            if answer.payload.get("sub_code") == NO_SUCH_TRADE:
                return PaymentQuery(payment_id, self.provider, PaymentState.NOT_PAID)
            raise ProviderError(f"Alipay refused {QUERY_METHOD} of {payment_id}: {answer.reason}")
        return self._queried(payment_id, answer.payload)

    def _queried(self, payment_id: str, payload: Mapping[str, Any]) -> PaymentQuery:
        if payload.get("out_trade_no", payment_id) != payment_id:
            raise ProviderError(f"Alipay answered a query of {payload['out_trade_no']}, not {payment_id}")
        status = payload.get("trade_status")
        if status == NOT_PAID_STATUS:
            return PaymentQuery(payment_id, self.provider, PaymentState.NOT_PAID)
        if status == alipay_openapi.CLOSED_STATUS:
            return PaymentQuery(payment_id, self.provider, PaymentState.CLOSED)
        if status not in alipay_openapi.PAID_STATUSES:
            raise ProviderError(f"Alipay's trade_status {status!r} for {payment_id} is not one this platform knows")
        trade_no, total = payload.get("trade_no"), payload.get("total_amount")
        if not isinstance(trade_no, str) or not trade_no or not isinstance(total, str):
            raise ProviderError(f"Alipay says {payment_id} is paid but names no trade_no or total_amount")
        try:
            amount = parse_yuan(total)
        except ValueError as error:
            raise ProviderError(f"Alipay's total_amount {total!r} is not an amount in yuan") from error
        paid_at = self._paid_at(payload.get("send_pay_date"))
        return PaymentQuery(payment_id, self.provider, PaymentState.PAID, trade_no, amount, paid_at)

    def _paid_at(self, text: object) -> datetime:
        """When the money moved (send_pay_date); should Alipay omit it, when we asked, so the money is recorded
        late rather than never."""
        if not text:
            return self._clock.now()
        try:
            return alipay_openapi.parse_alipay_time(str(text))
        except ValueError as error:
            raise ProviderError(f"Alipay's send_pay_date {text!r} is not an Alipay time") from error


__all__ = ["SETTINGS", "AlipayConfig", "AlipayGateway"]

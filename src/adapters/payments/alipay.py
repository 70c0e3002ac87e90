"""Alipay open platform (支付宝开放平台): RSA2-signed app-pay order strings, refunds and verified notifications."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import SETTINGS, AlipayConfig
from adapters.amounts import parse_yuan, require_cents, require_positive, yuan_string
from adapters.errors import MalformedNotification, ProviderError
from adapters.keys import load_public_key
from leasecore.clock import SystemClock
from leasecore.ports import (
    Clock,
    FreezeNotification,
    FreezeOperationReceipt,
    FreezeRequest,
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
FREEZE_METHOD = "alipay.fund.auth.order.app.freeze"
PAY_METHOD = "alipay.trade.pay"
UNFREEZE_METHOD = "alipay.fund.auth.order.unfreeze"
FREEZE_QUERY_METHOD = "alipay.fund.auth.operation.detail.query"
PREAUTH_PRODUCT = "PRE_AUTH_ONLINE"
PREAUTH_CATEGORY = "RENT_PHONE"
"""The pre-authorization category of a phone rental, as Alipay's credit-rental scenes name it."""
NO_SUCH_FREEZE = frozenset({"ORDER_NOT_EXIST", "AUTH_ORDER_NOT_EXIST", "AUTH_OPERATION_NOT_EXIST"})


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
            raise ProviderError(f"Alipay refused {QUERY_METHOD} of {payment_id}: {answer.reason}", answer.code)
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

    # Fund authorization (资金预授权): the deposit frozen, damage and arrears taken from it, the rest unfrozen.

    freezes_deposits = True

    def create_freeze(self, out_request_no: str, amount: Decimal, title: str, notify_url: str) -> FreezeRequest:
        """The signed `alipay.fund.auth.order.app.freeze` order string the app hands to the Alipay SDK (online
        pre-authorization, in the rental category); nothing is sent from the server."""
        amount = require_positive(amount)
        biz_content = {
            "out_order_no": out_request_no,
            "out_request_no": out_request_no,
            "order_title": title,
            "amount": yuan_string(amount),
            "product_code": PREAUTH_PRODUCT,
            "extra_param": json.dumps({"category": PREAUTH_CATEGORY}, separators=(",", ":")),
        }
        params = self._client.signed_params(FREEZE_METHOD, biz_content, notify_url)
        order_string = alipay_openapi.encode_form(params)
        return FreezeRequest(out_request_no, self.provider, amount, {"order_string": order_string})

    def freeze_notification(self, body: bytes, headers: Mapping[str, str]) -> FreezeNotification | None:
        """A fund-authorization notification signed by Alipay for this app_id; None for a trade's."""
        params = alipay_openapi.verify_notification(body, self._public_key)
        if not alipay_openapi.is_freeze_notification(params):
            return None
        return alipay_openapi.freeze_notification(params, self.provider, self.config.app_id)

    def take_from_freeze(
        self, auth_no: str, ref: str, amount: Decimal, subject: str, completes: bool
    ) -> FreezeOperationReceipt:
        """`alipay.trade.pay` from the authorization, once per out_trade_no (our ref); COMPLETE also unfreezes
        whatever the charge leaves."""
        amount = require_positive(amount)
        biz_content = {
            "out_trade_no": ref,
            "product_code": PREAUTH_PRODUCT,
            "auth_no": auth_no,
            "auth_confirm_mode": "COMPLETE" if completes else "NOT_COMPLETE",
            "subject": subject,
            "total_amount": yuan_string(amount),
        }
        answer = self._client.call(PAY_METHOD, biz_content)
        if not answer.succeeded:
            return FreezeOperationReceipt(ref, self.provider, amount, False, reason=answer.reason)
        if answer.payload.get("out_trade_no", ref) != ref:
            raise ProviderError(f"Alipay answered a charge of {answer.payload['out_trade_no']}, not {ref}")
        return FreezeOperationReceipt(ref, self.provider, amount, True, str(answer.payload.get("trade_no", "")))

    def unfreeze(self, auth_no: str, ref: str, amount: Decimal, remark: str) -> FreezeOperationReceipt:
        """`alipay.fund.auth.order.unfreeze`, once per out_request_no (our ref)."""
        amount = require_positive(amount)
        biz_content = {"auth_no": auth_no, "out_request_no": ref, "amount": yuan_string(amount), "remark": remark}
        answer = self._client.call(UNFREEZE_METHOD, biz_content)
        if not answer.succeeded:
            return FreezeOperationReceipt(ref, self.provider, amount, False, reason=answer.reason)
        if answer.payload.get("auth_no", auth_no) != auth_no:
            raise ProviderError(f"Alipay answered an unfreeze of {answer.payload['auth_no']}, not {auth_no}")
        return FreezeOperationReceipt(ref, self.provider, amount, True, str(answer.payload.get("operation_id", "")))

    def query_freeze(self, out_request_no: str) -> FreezeNotification | None:
        """`alipay.fund.auth.operation.detail.query`: the freeze once it succeeded; None while the customer has not
        confirmed it (or never opened it)."""
        biz_content = {"out_order_no": out_request_no, "out_request_no": out_request_no, "operation_type": "FREEZE"}
        answer = self._client.call(FREEZE_QUERY_METHOD, biz_content)
        if not answer.succeeded:
            if answer.payload.get("sub_code") in NO_SUCH_FREEZE:
                return None
            refused = f"Alipay refused {FREEZE_QUERY_METHOD} of {out_request_no}: {answer.reason}"
            raise ProviderError(refused, answer.code)
        payload = {key: str(value) for key, value in answer.payload.items() if value is not None}
        if payload.get("status") != alipay_openapi.FREEZE_SUCCESS:
            return None
        params = {**payload, "app_id": self.config.app_id, "out_request_no": payload.get("out_request_no", "")}
        try:
            return alipay_openapi.freeze_notification(params, self.provider, self.config.app_id)
        except MalformedNotification as error:
            raise ProviderError(f"Alipay's answer about freeze {out_request_no} is incomplete: {error}") from error


__all__ = ["SETTINGS", "AlipayConfig", "AlipayGateway"]

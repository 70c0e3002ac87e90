"""WeChat Pay API v3 (微信支付): signed requests, APP/JSAPI prepay, verified and decrypted callbacks, refunds and
order queries.

Requests are signed SHA256withRSA over `METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n` with the merchant key; answers
and callbacks are verified over `TIMESTAMP\\nNONCE\\nBODY\\n` with the platform key named by `Wechatpay-Serial`, and
refused when their timestamp is more than five minutes from now. Amounts travel in integer fen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.amounts import from_fen, require_cents, require_positive, to_fen
from adapters.errors import MalformedNotification, ProviderError
from adapters.keys import load_private_key, load_public_key, sign_rsa2, verify_rsa2
from adapters.settings import (
    RSA_PRIVATE_KEY,
    RSA_PUBLIC_KEY,
    KeyMaterial,
    ProviderSettings,
    optional,
    required,
    seconds,
    secret,
)
from leasecore.clock import SystemClock
from leasecore.ports import (
    Acknowledgement,
    Clock,
    FreezeNotification,
    FreezeOperationReceipt,
    FreezeRequest,
    InvalidSignature,
    PaymentNotification,
    PaymentQuery,
    PaymentRequest,
    PaymentState,
    RefundReceipt,
)

PROVIDER = "wechatpay"
BASE_URL = "https://api.mch.weixin.qq.com"
TIMEOUT = 10.0
"""Seconds one call may take unless the `timeout` setting says otherwise."""
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW = timedelta(minutes=5)
APIV3_KEY_BYTES = 32
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
ACCEPTED_REFUND_STATUSES = frozenset({"SUCCESS", "PROCESSING"})
REFUNDABLE_TRADE_STATES = frozenset({"SUCCESS", "REFUND"})
QUERIED_STATES = {
    "SUCCESS": PaymentState.PAID,
    "REFUND": PaymentState.PAID,
    "NOTPAY": PaymentState.NOT_PAID,
    "USERPAYING": PaymentState.NOT_PAID,
    "PAYERROR": PaymentState.NOT_PAID,
    "CLOSED": PaymentState.CLOSED,
    "REVOKED": PaymentState.CLOSED,
}
"""A queried order's trade_state: paid (refunded later is still paid), not (yet) paid, or closed unpaid."""
NO_SUCH_ORDER = "ORDER_NOT_EXIST"
PAYSCORE_PATH = "/v3/payscore/serviceorder"
USER_CONFIRMED = "PAYSCORE.USER_CONFIRM"
ALREADY_MADE = frozenset({"ORDER_ALREADY_EXISTS", "INVALID_REQUEST"})
NO_SUCH_SERVICE_ORDER = frozenset({"ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND"})
RELEASED_STATES = frozenset({"DONE", "REVOKED", "EXPIRED"})
ZERO_FEN = Decimal("0.00")
SIGNATURE_HEADERS = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial")

ACKNOWLEDGEMENT = Acknowledgement(200, '{"code":"SUCCESS","message":"OK"}', "application/json")
"""What WeChat Pay v3 expects back once a notification is recorded."""


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What the merchant signs: method, URL path with query, timestamp, nonce and body, each ending in a newline."""
    return f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What the platform signs in answers and callbacks: timestamp, nonce and body, each ending in a newline."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def authorization(
    mchid: str,
    serial_no: str,
    private_key: rsa.RSAPrivateKey,
    method: str,
    url: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> str:
    """The `Authorization` header of a v3 request."""
    signature = sign_rsa2(private_key, request_message(method, url, timestamp, nonce, body))
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> bytes:
    """A callback's `resource`, AEAD_AES_256_GCM-decrypted with the APIv3 key, its nonce and associated data."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise MalformedNotification(f"resource algorithm {resource.get('algorithm')!r} is not AEAD_AES_256_GCM")
    try:
        ciphertext = base64.b64decode(str(resource["ciphertext"]), validate=True)
        nonce = str(resource["nonce"]).encode("utf-8")
        associated_data = str(resource.get("associated_data") or "").encode("utf-8")
        return AESGCM(apiv3_key).decrypt(nonce, ciphertext, associated_data)
    except KeyError as error:
        raise MalformedNotification(f"the resource lacks {error.args[0]}") from error
    except (binascii.Error, ValueError) as error:
        raise MalformedNotification(f"the resource cannot be decrypted: {error}") from error
    except InvalidTag as error:
        raise InvalidSignature("the resource does not decrypt with the APIv3 key: tampered or not ours") from error


def out_trade_no(payment_id: str) -> str:
    """WeChat Pay takes 6–32 of [0-9A-Za-z_-|*]: a payment id as it is, or a UUID without its hyphens."""
    if OUT_TRADE_NO.fullmatch(payment_id):
        return payment_id
    try:
        return uuid.UUID(payment_id).hex
    except ValueError:
        raise ValueError(f"payment id {payment_id!r} cannot be a WeChat Pay out_trade_no") from None


@dataclass(frozen=True)
class WeChatPayConfig:
    """A WeChat Pay merchant: ids, the merchant key and its serial, the platform keys by serial, the APIv3 key."""

    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key_pem: str
    platform_public_keys: Mapping[str, str]
    apiv3_key: str
    base_url: str = BASE_URL
    refund_notify_url: str = ""
    payscore_service_id: str = ""
    """The WeChat Pay Score (微信支付分) service that freezes deposits; none: deposits are not pre-authorized here."""
    timeout: float = TIMEOUT

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WeChatPayConfig:
        return cls(
            mchid=required(settings, "mchid"),
            appid=required(settings, "appid"),
            merchant_serial_no=required(settings, "merchant_serial_no"),
            merchant_private_key_pem=secret(settings, "merchant_private_key"),
            platform_public_keys={
                required(settings, "platform_serial_no"): secret(settings, "platform_public_key"),
            },
            apiv3_key=secret(settings, "apiv3_key").strip(),
            base_url=SETTINGS.gateway(settings),
            refund_notify_url=optional(settings, "refund_notify_url", ""),
            payscore_service_id=optional(settings, "payscore_service_id", ""),
            timeout=seconds(settings, "timeout", TIMEOUT),
        )


APIV3_KEY = KeyMaterial("not a 32-byte APIv3 key", lambda text: _apiv3_key(text.strip()))

SETTINGS = ProviderSettings(
    "微信支付",
    required=("mchid", "appid", "merchant_serial_no", "platform_serial_no"),
    secrets={"merchant_private_key": RSA_PRIVATE_KEY, "platform_public_key": RSA_PUBLIC_KEY, "apiv3_key": APIV3_KEY},
    gateway_url=BASE_URL,
    gateway_aliases=("base_url",),
    optional=("refund_notify_url", "payscore_service_id", "timeout"),
)
"""A WeChat Pay merchant's settings; `base_url` is the older name of `gateway_url`."""


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        """WeChat Pay's code for a refusal (`PARAM_ERROR`), else the HTTP status."""
        return str(self.payload.get("code", self.status))

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.payload.get('message', '')}".rstrip(": ")


class WeChatPayGateway:
    """A `PaymentGateway` for WeChat Pay v3: APP payments by default, JSAPI when the payer's openid is known."""

    acknowledgement = ACKNOWLEDGEMENT

    def __init__(
        self,
        config: WeChatPayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        nonces: Callable[[], str] | None = None,
        provider: str = PROVIDER,
    ) -> None:
        self.provider, self.config = provider, config
        self._merchant_key = load_private_key(config.merchant_private_key_pem)
        self._platform_keys = {serial: load_public_key(pem) for serial, pem in config.platform_public_keys.items()}
        self._apiv3_key = _apiv3_key(config.apiv3_key)
        self._http = http_client or httpx.Client(timeout=config.timeout)
        self._clock = clock or SystemClock()
        self._nonces = nonces or (lambda: secrets.token_hex(16))

    def create_payment(self, payment_id: str, amount: Decimal, subject: str, notify_url: str) -> PaymentRequest:
        """An APP prepay; the answer carries the signed parameters the app hands to the WeChat SDK."""
        prepay_id = self._prepay("app", self._order(payment_id, amount, subject, notify_url))
        return PaymentRequest(payment_id, self.provider, amount, self._app_pay_params(prepay_id))

    def create_jsapi_payment(
        self, payment_id: str, amount: Decimal, subject: str, notify_url: str, openid: str
    ) -> PaymentRequest:
        """A JSAPI (official account, mini program) prepay for the payer with that openid."""
        order = {**self._order(payment_id, amount, subject, notify_url), "payer": {"openid": openid}}
        prepay_id = self._prepay("jsapi", order)
        return PaymentRequest(payment_id, self.provider, amount, self._jsapi_pay_params(prepay_id))

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Authentic only when fresh, signed by a known platform key and decryptable with our APIv3 key."""
        self._verify_platform_signature(body, headers)
        envelope = _json_object(body, "the callback")
        if not str(envelope.get("event_type", "")).startswith("TRANSACTION."):
            raise MalformedNotification(f"event_type {envelope.get('event_type')!r} is not a payment outcome")
        resource = envelope.get("resource")
        if not isinstance(resource, dict):
            raise MalformedNotification("the callback carries no resource")
        transaction = _json_object(decrypt_resource(self._apiv3_key, resource), "the decrypted resource")
        return self._payment_notification(transaction, envelope)

    def refund(self, payment_id: str, refund_id: str, amount: Decimal) -> RefundReceipt:
        """WeChat Pay refunds once per out_refund_no (our refund_id), never more than the order's total."""
        amount = require_cents(amount)
        if amount <= 0:
            return self._refused(refund_id, amount, f"a refund must be positive, not {amount}")
        order = self._request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no(payment_id)}", query=True)
        if not order.ok:
            return self._refused(refund_id, amount, order.reason)
        total = order.payload.get("amount", {}).get("total")
        if order.payload.get("trade_state") not in REFUNDABLE_TRADE_STATES or not isinstance(total, int):
            return self._refused(refund_id, amount, f"payment {payment_id} is {order.payload.get('trade_state')}")
        if to_fen(amount) > total:
            return self._refused(refund_id, amount, f"a refund of {amount} exceeds the {from_fen(total)} paid")
        body = self._refund_body(payment_id, refund_id, amount, total)
        answer = self._request("POST", "/v3/refund/domestic/refunds", body)
        if not answer.ok:
            return self._refused(refund_id, amount, answer.reason)
        status = str(answer.payload.get("status", ""))
        if status not in ACCEPTED_REFUND_STATUSES:
            return self._refused(refund_id, amount, f"refund status {status}")
        return RefundReceipt(refund_id, self.provider, amount, accepted=True)

    def query_payment(self, payment_id: str) -> PaymentQuery:
        """The order by our out_trade_no, its answer signed by the platform: paid, closed, or not paid (an
        order WeChat Pay does not know was never paid)."""
        order = self._request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no(payment_id)}", query=True)
        if not order.ok:
            if order.payload.get("code") == NO_SUCH_ORDER:
                return PaymentQuery(payment_id, self.provider, PaymentState.NOT_PAID)
            raise ProviderError(f"WeChat Pay refused the query of {payment_id}: {order.reason}", order.code)
        return self._queried(payment_id, order.payload)

    def _queried(self, payment_id: str, transaction: Mapping[str, Any]) -> PaymentQuery:
        if transaction.get("mchid", self.config.mchid) != self.config.mchid:
            raise ProviderError(f"WeChat Pay answered for mchid {transaction.get('mchid')}, not ours")
        trade_state = str(transaction.get("trade_state", ""))
        state = QUERIED_STATES.get(trade_state)
        if state is None:
            raise ProviderError(f"WeChat Pay's trade_state {trade_state!r} for {payment_id} is not one we know")
        if state is not PaymentState.PAID:
            return PaymentQuery(payment_id, self.provider, state)
        transaction_id = transaction.get("transaction_id")
        amount = transaction.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(transaction_id, str) or not transaction_id or not isinstance(total, int):
            raise ProviderError(f"WeChat Pay says {payment_id} is paid but names no transaction_id or amount.total")
        try:
            paid_at = _rfc3339(transaction.get("success_time"))
        except MalformedNotification as error:
            raise ProviderError(f"WeChat Pay's success_time for {payment_id}: {error}") from error
        return PaymentQuery(payment_id, self.provider, PaymentState.PAID, transaction_id, from_fen(total), paid_at)

    def _order(self, payment_id: str, amount: Decimal, subject: str, notify_url: str) -> dict[str, Any]:
        return {
            "appid": self.config.appid,
            "mchid": self.config.mchid,
            "description": subject,
            "out_trade_no": out_trade_no(payment_id),
            "attach": payment_id,
            "notify_url": notify_url,
            "amount": {"total": to_fen(require_positive(amount)), "currency": "CNY"},
        }

    def _prepay(self, trade_type: str, order: Mapping[str, Any]) -> str:
        answer = self._request("POST", f"/v3/pay/transactions/{trade_type}", order)
        prepay_id = answer.payload.get("prepay_id")
        if not answer.ok or not isinstance(prepay_id, str):
            raise ProviderError(f"WeChat Pay refused the {trade_type} prepay: {answer.reason}", answer.code)
        return prepay_id

    def _app_pay_params(self, prepay_id: str) -> dict[str, str]:
        """APP pay: appid, timestamp, noncestr and prepayid signed by the merchant key."""
        timestamp, nonce = self._timestamp(), self._nonces()
        message = f"{self.config.appid}\n{timestamp}\n{nonce}\n{prepay_id}\n".encode()
        return {
            "appid": self.config.appid,
            "partnerid": self.config.mchid,
            "prepayid": prepay_id,
            "package": "Sign=WXPay",
            "noncestr": nonce,
            "timestamp": timestamp,
            "sign": sign_rsa2(self._merchant_key, message),
        }

    def _jsapi_pay_params(self, prepay_id: str) -> dict[str, str]:
        """JSAPI pay: appId, timeStamp, nonceStr and package `prepay_id=…` signed by the merchant key."""
        timestamp, nonce, package = self._timestamp(), self._nonces(), f"prepay_id={prepay_id}"
        message = f"{self.config.appid}\n{timestamp}\n{nonce}\n{package}\n".encode()
        return {
            "appId": self.config.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": sign_rsa2(self._merchant_key, message),
        }

    def _refund_body(self, payment_id: str, refund_id: str, amount: Decimal, total: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no(payment_id),
            "out_refund_no": refund_id,
            "amount": {"refund": to_fen(amount), "total": total, "currency": "CNY"},
        }
        if self.config.refund_notify_url:
            body["notify_url"] = self.config.refund_notify_url
        return body

    def _request(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None, *, query: bool = False
    ) -> _Answer:
        """A signed call; a 2xx answer is believed only when the platform signed it, 5xx is an outage."""
        url = f"{path}?mchid={quote(self.config.mchid)}" if query else path
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        response = self._send(method, url, body)
        if response.status_code >= 500:
            raise ProviderError(f"WeChat Pay answered {method} {path} with HTTP {response.status_code}")
        signed = all(name in response.headers for name in SIGNATURE_HEADERS)
        if response.is_success or signed:
            self._verify_platform_signature(response.content, response.headers)
        return _Answer(response.status_code, _answer_payload(response.content))

    def _send(self, method: str, url: str, body: bytes) -> httpx.Response:
        timestamp, nonce = self._timestamp(), self._nonces()
        merchant, serial_no = self.config.mchid, self.config.merchant_serial_no
        signed = authorization(merchant, serial_no, self._merchant_key, method, url, timestamp, nonce, body)
        headers = {"Authorization": signed, "Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        try:
            return self._http.request(method, self.config.base_url + url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ProviderError(f"WeChat Pay is unreachable: {error}") from error

    def _verify_platform_signature(self, body: bytes, headers: Mapping[str, str]) -> None:
        verify_platform_signature(self._platform_keys, self._clock.now(), body, headers)

    def _payment_notification(self, transaction: Mapping[str, Any], envelope: Mapping[str, Any]) -> PaymentNotification:
        if transaction.get("mchid") != self.config.mchid:
            raise MalformedNotification(f"the transaction is for mchid {transaction.get('mchid')}, not ours")
        trade_no, transaction_id = transaction.get("out_trade_no"), transaction.get("transaction_id")
        total = transaction.get("amount", {}).get("total") if isinstance(transaction.get("amount"), dict) else None
        if not isinstance(trade_no, str) or not isinstance(transaction_id, str) or not isinstance(total, int):
            raise MalformedNotification("the transaction lacks out_trade_no, transaction_id or amount.total")
        succeeded = transaction.get("trade_state") == "SUCCESS"
        instant = transaction.get("success_time") if succeeded else envelope.get("create_time")
        return PaymentNotification(
            payment_id=str(transaction.get("attach") or trade_no),
            provider=self.provider,
            transaction_id=transaction_id,
            amount=from_fen(total),
            succeeded=succeeded,
            paid_at=_rfc3339(instant),
            raw=dict(transaction),
        )

    def _refused(self, refund_id: str, amount: Decimal, reason: str) -> RefundReceipt:
        return RefundReceipt(refund_id, self.provider, amount, accepted=False, reason=reason)

    def _timestamp(self) -> str:
        return str(int(self._clock.now().timestamp()))

    # WeChat Pay Score (微信支付分): the deposit as a service order's risk fund, confirmed by the customer, then
    # completed with what is taken from it (the rest released) or cancelled. Our out_order_no is the freeze's
    # out_request_no and stands as its auth_no; WeChat's order_id is the operation_id.

    @property
    def freezes_deposits(self) -> bool:
        return bool(self.config.payscore_service_id)

    def create_freeze(self, out_request_no: str, amount: Decimal, title: str, notify_url: str) -> FreezeRequest:
        """A service order with the deposit as its risk fund, awaiting the customer's confirmation; asking again
        for the same out_order_no finds the order already made. The app opens WeChat's confirm page with the
        signed `query`."""
        amount = require_positive(amount)
        order = {
            "out_order_no": out_request_no,
            "appid": self.config.appid,
            "service_id": self._service_id(),
            "service_introduction": title,
            "time_range": {"start_time": "OnAccept"},
            "risk_fund": {"name": "DEPOSIT", "amount": to_fen(amount)},
            "notify_url": notify_url,
            "need_user_confirm": True,
        }
        answer = self._request("POST", PAYSCORE_PATH, order)
        if not answer.ok and answer.payload.get("code") in ALREADY_MADE:
            answer = self._service_order(out_request_no)
        package = answer.payload.get("package")
        if not answer.ok or not isinstance(package, str):
            refused = f"WeChat Pay refused the Pay Score order {out_request_no}: {answer.reason}"
            raise ProviderError(refused, answer.code)
        return FreezeRequest(out_request_no, self.provider, amount, self._confirm_params(package))

    def freeze_notification(self, body: bytes, headers: Mapping[str, str]) -> FreezeNotification | None:
        """The customer confirmed the service order (PAYSCORE.USER_CONFIRM): verified, decrypted, read as the
        risk fund frozen; None for any other callback (a payment's)."""
        self._verify_platform_signature(body, headers)
        envelope = _json_object(body, "the callback")
        if envelope.get("event_type") != USER_CONFIRMED:
            return None
        resource = envelope.get("resource")
        if not isinstance(resource, dict):
            raise MalformedNotification("the callback carries no resource")
        order = _json_object(decrypt_resource(self._apiv3_key, resource), "the decrypted resource")
        if order.get("state") != "DOING":
            raise MalformedNotification(f"a confirmed service order is DOING, not {order.get('state')!r}")
        return self._frozen(order, envelope.get("create_time"))

    def take_from_freeze(
        self, auth_no: str, ref: str, amount: Decimal, subject: str, completes: bool
    ) -> FreezeOperationReceipt:
        """The service order completed with `amount` as its charge (WeChat releases the rest with it); a repeat
        finds the order done with that charge and is the same answer."""
        amount = require_positive(amount)
        body = {
            "appid": self.config.appid,
            "service_id": self._service_id(),
            "post_payments": [{"name": subject[:20], "amount": to_fen(amount), "description": subject}],
            "total_amount": to_fen(amount),
        }
        answer = self._request("POST", f"{PAYSCORE_PATH}/{quote(auth_no, safe='')}/complete", body)
        if answer.ok:
            return FreezeOperationReceipt(ref, self.provider, amount, True, str(answer.payload.get("order_id", "")))
        order = self._service_order(auth_no)
        if order.ok and order.payload.get("state") == "DONE" and order.payload.get("total_amount") == to_fen(amount):
            return FreezeOperationReceipt(ref, self.provider, amount, True, str(order.payload.get("order_id", "")))
        return FreezeOperationReceipt(ref, self.provider, amount, False, reason=answer.reason)

    def unfreeze(self, auth_no: str, ref: str, amount: Decimal, remark: str) -> FreezeOperationReceipt:
        """An order still running is cancelled; one already completed or cancelled has released what it held."""
        amount = require_positive(amount)
        order = self._service_order(auth_no)
        if not order.ok:
            return FreezeOperationReceipt(ref, self.provider, amount, False, reason=order.reason)
        order_id = str(order.payload.get("order_id", ""))
        if order.payload.get("state") in RELEASED_STATES:
            return FreezeOperationReceipt(ref, self.provider, amount, True, order_id)
        body = {"appid": self.config.appid, "service_id": self._service_id(), "reason": remark[:50]}
        answer = self._request("POST", f"{PAYSCORE_PATH}/{quote(auth_no, safe='')}/cancel", body)
        if not answer.ok:
            return FreezeOperationReceipt(ref, self.provider, amount, False, reason=answer.reason)
        return FreezeOperationReceipt(ref, self.provider, amount, True, order_id)

    def query_freeze(self, out_request_no: str) -> FreezeNotification | None:
        """The service order once confirmed (DOING); None while it awaits the customer or is unknown."""
        answer = self._service_order(out_request_no)
        if not answer.ok:
            if answer.payload.get("code") in NO_SUCH_SERVICE_ORDER:
                return None
            refused = f"WeChat Pay refused the query of Pay Score order {out_request_no}: {answer.reason}"
            raise ProviderError(refused, answer.code)
        if answer.payload.get("state") != "DOING":
            return None
        try:
            return self._frozen(answer.payload, None)
        except MalformedNotification as error:
            raise ProviderError(f"WeChat Pay's Pay Score order {out_request_no}: {error}") from error

    def _service_order(self, out_order_no: str) -> _Answer:
        query = urlencode({"out_order_no": out_order_no, "service_id": self._service_id(), "appid": self.config.appid})
        return self._request("GET", f"{PAYSCORE_PATH}?{query}")

    def _frozen(self, order: Mapping[str, Any], notified_at: object) -> FreezeNotification:
        ours = (self.config.appid, self.config.mchid)
        if (order.get("appid", ours[0]), order.get("mchid", ours[1])) != ours:
            raise MalformedNotification("the service order is another merchant's")
        if order.get("service_id") != self._service_id():
            raise MalformedNotification(f"the service order is for service {order.get('service_id')!r}, not ours")
        out_order_no, order_id = order.get("out_order_no"), order.get("order_id")
        risk = order.get("risk_fund")
        fen = risk.get("amount") if isinstance(risk, dict) else None
        if not isinstance(out_order_no, str) or not isinstance(order_id, str) or not isinstance(fen, int):
            raise MalformedNotification("the service order lacks out_order_no, order_id or risk_fund.amount")
        amount = from_fen(fen)
        frozen_at = _rfc3339(notified_at) if notified_at else self._clock.now()
        return FreezeNotification(
            out_order_no, self.provider, out_order_no, order_id, amount, amount, ZERO_FEN, frozen_at
        )

    def _confirm_params(self, package: str) -> dict[str, str]:
        """What the app hands `openBusinessView` (businessType wxpayScoreUse): the package, signed HMAC-SHA256."""
        fields = {
            "mch_id": self.config.mchid,
            "package": package,
            "timestamp": self._timestamp(),
            "nonce_str": self._nonces(),
            "sign_type": "HMAC-SHA256",
        }
        text = "&".join(f"{key}={value}" for key, value in sorted(fields.items())) + f"&key={self.config.apiv3_key}"
        sign = hmac.new(self._apiv3_key, text.encode(), hashlib.sha256).hexdigest().upper()
        return {"businessType": "wxpayScoreUse", "query": urlencode({**fields, "sign": sign})}

    def _service_id(self) -> str:
        if not self.config.payscore_service_id:
            raise ProviderError("no payscore_service_id is configured: WeChat Pay Score cannot freeze deposits")
        return self.config.payscore_service_id


def _apiv3_key(text: str) -> bytes:
    key = text.encode("utf-8")
    if len(key) != APIV3_KEY_BYTES:
        raise ValueError(f"the APIv3 key is {APIV3_KEY_BYTES} bytes, not {len(key)}")
    return key


def verify_platform_signature(
    platform_keys: Mapping[str, rsa.RSAPublicKey], now: datetime, body: bytes, headers: Mapping[str, str]
) -> None:
    """A message from WeChat Pay (an answer, a callback) is believed only when signed by the platform key its serial
    names, over timestamp, nonce and body, within five minutes of `now`."""
    values = _signature_headers(headers)
    timestamp, nonce, signature, serial = (values[name.lower()] for name in SIGNATURE_HEADERS)
    key = platform_keys.get(serial)
    if key is None:
        raise InvalidSignature(f"Wechatpay-Serial {serial} names no platform key we hold")
    if not timestamp.isdigit():
        raise InvalidSignature(f"Wechatpay-Timestamp {timestamp!r} is not a Unix time")
    if abs(now - datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)) > MAX_CLOCK_SKEW:
        raise InvalidSignature(f"Wechatpay-Timestamp {timestamp} is more than 5 minutes from now: a replay?")
    if not verify_rsa2(key, response_message(timestamp, nonce, body), signature):
        raise InvalidSignature("the WeChat Pay signature does not verify: tampered or signed by another key")


def _signature_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in SIGNATURE_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise InvalidSignature(f"the WeChat Pay message is unsigned: it lacks {', '.join(missing)}")
    return lowered


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedNotification(f"{what} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedNotification(f"{what} is not a JSON object")
    return document


def _answer_payload(content: bytes) -> dict[str, Any]:
    try:
        return _json_object(content, "WeChat Pay's answer") if content else {}
    except MalformedNotification as error:
        raise ProviderError(str(error)) from error


def _rfc3339(text: object) -> datetime:
    if not isinstance(text, str):
        raise MalformedNotification("the transaction carries no time")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise MalformedNotification(f"{text!r} is not an RFC 3339 time") from error
    if instant.tzinfo is None:
        raise MalformedNotification(f"{text!r} carries no UTC offset")
    return instant

"""The Alipay open-platform wire protocol (payments and Sesame credit): RSA2-signed requests, answers, notifications.

Requests sign the sorted `k=v&…` of every non-empty parameter except `sign`; answers sign the raw JSON text of
the `<method>_response` member; asynchronous notifications sign the sorted URL-decoded parameters except `sign`
and `sign_type`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.amounts import parse_yuan
from adapters.china_time import SHANGHAI
from adapters.errors import MalformedNotification, ProviderError
from adapters.keys import load_private_key, load_public_key, sign_rsa2, verify_rsa2
from adapters.settings import RSA_PRIVATE_KEY, RSA_PUBLIC_KEY, ProviderSettings, optional, required, seconds, secret
from leasecore.ports import Acknowledgement, Clock, FreezeNotification, InvalidSignature, PaymentNotification

ALIPAY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
TIMEOUT = 10.0
"""Seconds one call may take unless the `timeout` setting says otherwise."""
SIGN_TYPE = "RSA2"
SUCCESS_CODE = "10000"
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
CLOSED_STATUS = "TRADE_CLOSED"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=utf-8"
NOTIFICATION_FIELDS = ("out_trade_no", "trade_no", "total_amount", "trade_status", "app_id")

ACKNOWLEDGEMENT = Acknowledgement(200, "success", "text/plain")
"""What Alipay expects back once a notification is recorded."""


def format_alipay_time(instant: datetime) -> str:
    """Alipay writes instants as Shanghai wall-clock time, to the second."""
    if instant.tzinfo is None:
        raise ValueError("an instant sent to Alipay must be timezone-aware")
    return instant.astimezone(SHANGHAI).strftime(ALIPAY_TIME_FORMAT)


def parse_alipay_time(text: str) -> datetime:
    """Alipay's "YYYY-MM-DD HH:MM:SS" read as Shanghai time, an aware instant."""
    return datetime.strptime(text, ALIPAY_TIME_FORMAT).replace(tzinfo=SHANGHAI)


def sign_content(params: Mapping[str, str], excluded: Collection[str]) -> str:
    """The signed text: `k=v` of every non-empty, non-excluded parameter, sorted by key, joined by `&`."""
    return "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in excluded and value != "")


def request_sign_content(params: Mapping[str, str]) -> str:
    """A request signs everything but `sign` (its `sign_type` included)."""
    return sign_content(params, {"sign"})


def notification_sign_content(params: Mapping[str, str]) -> str:
    """A notification signs everything but `sign` and `sign_type`."""
    return sign_content(params, {"sign", "sign_type"})


def biz_content_json(biz_content: Mapping[str, Any]) -> str:
    return json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))


def request_params(
    app_id: str, method: str, biz_content: Mapping[str, Any], now: datetime, notify_url: str = ""
) -> dict[str, str]:
    """The common parameters of an open-platform call, not yet signed."""
    params = {
        "app_id": app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": SIGN_TYPE,
        "timestamp": format_alipay_time(now),
        "version": "1.0",
        "biz_content": biz_content_json(biz_content),
    }
    if notify_url:
        params["notify_url"] = notify_url
    return params


def sign_request(params: Mapping[str, str], private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The parameters with their RSA2 `sign` added."""
    signature = sign_rsa2(private_key, request_sign_content(params).encode("utf-8"))
    return {**params, "sign": signature}


def encode_form(params: Mapping[str, str]) -> str:
    """Sorted `k=v&…` with every value URL-encoded: the app-pay order string and the request body."""
    return urlencode(sorted(params.items()))


def sign_notification(params: Mapping[str, str], private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The notification parameters with `sign_type=RSA2` and their `sign`, as Alipay posts them."""
    signature = sign_rsa2(private_key, notification_sign_content(params).encode("utf-8"))
    return {**params, "sign_type": SIGN_TYPE, "sign": signature}


def parse_form(body: bytes) -> dict[str, str]:
    """A form-urlencoded body, each key once, values URL-decoded in the charset the body names."""
    if not body.strip():
        raise MalformedNotification("the notification is empty")
    try:
        text = body.decode("ascii")
        charset = _charset(dict(parse_qsl(text, keep_blank_values=True, encoding="latin-1")))
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding=charset, errors="strict")
    except (UnicodeDecodeError, ValueError, LookupError) as error:
        raise MalformedNotification(f"the notification is not a form-urlencoded body: {error}") from error
    params = dict(pairs)
    if len(params) != len(pairs):
        raise MalformedNotification("the notification repeats a parameter")
    return params


def verify_notification(body: bytes, public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The notification's parameters, once its RSA2 signature verifies with the provider's public key."""
    params = parse_form(body)
    signature = params.get("sign", "")
    if not signature:
        raise InvalidSignature("the notification is unsigned: it carries no sign parameter")
    if params.get("sign_type") != SIGN_TYPE:
        raise InvalidSignature(f"the notification's sign_type must be RSA2, not {params.get('sign_type')!r}")
    if not verify_rsa2(public_key, notification_sign_content(params).encode(_charset(params)), signature):
        raise InvalidSignature(
            "the notification's signature does not verify with the provider's public key: "
            "it was tampered with or signed by another key"
        )
    return params


def payment_notification(params: Mapping[str, str], provider: str, app_id: str) -> PaymentNotification:
    """A verified notification read as a payment outcome: paid (TRADE_SUCCESS, TRADE_FINISHED) or closed."""
    missing = [name for name in NOTIFICATION_FIELDS if not params.get(name)]
    if missing:
        raise MalformedNotification(f"the notification lacks {', '.join(missing)}")
    if params["app_id"] != app_id:
        raise MalformedNotification(f"the notification is for app_id {params['app_id']}, not {app_id}")
    status = params["trade_status"]
    if status not in PAID_STATUSES and status != CLOSED_STATUS:
        raise MalformedNotification(f"trade_status {status} is not a payment outcome")
    return PaymentNotification(
        payment_id=params["out_trade_no"],
        provider=provider,
        transaction_id=params["trade_no"],
        amount=_notified_amount(params["total_amount"]),
        succeeded=status in PAID_STATUSES,
        paid_at=_notified_instant(params),
        raw=dict(params),
    )


def response_key(method: str) -> str:
    """`alipay.trade.refund` answers in the member `alipay_trade_refund_response`."""
    return method.replace(".", "_") + "_response"


def response_content(text: str, method: str) -> tuple[str, dict[str, Any], str | None]:
    """The answer member's raw JSON text (what Alipay signed), its decoded value, and the `sign` if any."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InvalidSignature(f"Alipay's answer is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidSignature("Alipay's answer is not a JSON object")
    key = next((name for name in (response_key(method), "error_response") if name in document), None)
    if key is None or not isinstance(document[key], dict):
        raise InvalidSignature(f"Alipay's answer has no {response_key(method)} object")
    signature = document.get("sign")
    if signature is not None and not isinstance(signature, str):
        raise InvalidSignature("Alipay's answer carries a sign that is not a string")
    return _raw_member(text, key), document[key], signature


@dataclass(frozen=True)
class AlipayAnswer:
    """A decoded open-platform answer; `signed` says whether a signature was present and verified."""

    payload: dict[str, Any]
    signed: bool

    @property
    def succeeded(self) -> bool:
        return self.signed and self.payload.get("code") == SUCCESS_CODE

    @property
    def code(self) -> str:
        """Alipay's code for a refusal: the sub_code when given (`ACQ.SYSTEM_ERROR`), else the code."""
        return str(self.payload.get("sub_code") or self.payload.get("code") or "?")

    @property
    def reason(self) -> str:
        """Alipay's own words for a refusal: sub_code and sub_msg when given, else code and msg."""
        message = self.payload.get("sub_msg") or self.payload.get("msg") or ""
        return f"{self.code}: {message}" if message else self.code


@dataclass(frozen=True)
class AlipayConfig:
    """An Alipay app: its id, its private key, Alipay's public key and the gateway it talks to."""

    app_id: str
    app_private_key_pem: str
    alipay_public_key_pem: str
    gateway_url: str = GATEWAY_URL
    timeout: float = TIMEOUT

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AlipayConfig:
        return cls(
            app_id=required(settings, "app_id"),
            app_private_key_pem=secret(settings, "app_private_key"),
            alipay_public_key_pem=secret(settings, "alipay_public_key"),
            gateway_url=optional(settings, "gateway_url", GATEWAY_URL),
            timeout=seconds(settings, "timeout", TIMEOUT),
        )


SETTINGS = ProviderSettings(
    "支付宝",
    required=("app_id",),
    secrets={"app_private_key": RSA_PRIVATE_KEY, "alipay_public_key": RSA_PUBLIC_KEY},
    gateway_url=GATEWAY_URL,
    optional=("timeout",),
)
"""An Alipay open-platform app's settings: its id, its key, Alipay's public key, the gateway, and `timeout` in
seconds."""


class AlipayClient:
    """Signed calls to the Alipay open platform whose answers are verified before they are believed."""

    def __init__(
        self,
        app_id: str,
        private_key: rsa.RSAPrivateKey,
        alipay_public_key: rsa.RSAPublicKey,
        gateway_url: str,
        http_client: httpx.Client,
        clock: Clock,
    ) -> None:
        self.app_id, self.gateway_url = app_id, gateway_url
        self._private_key, self._public_key = private_key, alipay_public_key
        self._http, self._clock = http_client, clock

    @classmethod
    def from_config(cls, config: AlipayConfig, http_client: httpx.Client | None, clock: Clock) -> AlipayClient:
        private_key, public_key = (
            load_private_key(config.app_private_key_pem),
            load_public_key(config.alipay_public_key_pem),
        )
        client = http_client or httpx.Client(timeout=config.timeout)
        return cls(config.app_id, private_key, public_key, config.gateway_url, client, clock)

    def signed_params(self, method: str, biz_content: Mapping[str, Any], notify_url: str = "") -> dict[str, str]:
        params = request_params(self.app_id, method, biz_content, self._clock.now(), notify_url)
        return sign_request(params, self._private_key)

    def call(self, method: str, biz_content: Mapping[str, Any]) -> AlipayAnswer:
        """A success is believed only when signed by Alipay; an unsigned error is reported as unsigned."""
        body = encode_form(self.signed_params(method, biz_content)).encode("ascii")
        text = self._post(body)
        content, payload, signature = response_content(text, method)
        if signature is None:
            if payload.get("code") == SUCCESS_CODE:
                raise InvalidSignature(f"Alipay's {method} answer claims success but is unsigned")
            return AlipayAnswer(payload, signed=False)
        if not verify_rsa2(self._public_key, content.encode("utf-8"), signature):
            raise InvalidSignature(f"Alipay's {method} answer does not verify with the Alipay public key")
        return AlipayAnswer(payload, signed=True)

    def _post(self, body: bytes) -> str:
        try:
            response = self._http.post(self.gateway_url, content=body, headers={"Content-Type": FORM_CONTENT_TYPE})
        except httpx.HTTPError as error:
            raise ProviderError(f"Alipay is unreachable: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise ProviderError(f"Alipay answered HTTP {response.status_code}")
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidSignature("Alipay's answer is not UTF-8") from error


def _charset(params: Mapping[str, str]) -> str:
    """The charset the provider encoded and signed the parameters in; UTF-8 unless it names another."""
    charset = params.get("charset", "").strip().lower()
    return "utf-8" if charset in ("", "utf-8", "utf8") else charset


def _raw_member(text: str, key: str) -> str:
    match = re.search(re.escape(json.dumps(key)) + r"\s*:\s*", text)
    if match is None:
        raise InvalidSignature(f"Alipay's answer has no {key} member")
    _, end = json.JSONDecoder().raw_decode(text, match.end())
    return text[match.end() : end]


def _notified_amount(text: str) -> Decimal:
    try:
        return parse_yuan(text)
    except ValueError as error:
        raise MalformedNotification(f"total_amount {text!r} is not an amount in yuan") from error


def _notified_instant(params: Mapping[str, str]) -> datetime:
    """When the money moved: gmt_payment when paid, gmt_close when closed, else the notification's own time."""
    preferred = "gmt_payment" if params["trade_status"] in PAID_STATUSES else "gmt_close"
    text = params.get(preferred) or params.get("notify_time") or ""
    try:
        return parse_alipay_time(text)
    except ValueError as error:
        raise MalformedNotification(f"{preferred} {text!r} is not an Alipay time") from error


# Fund authorization (资金预授权): the freeze notification, read the same way for Alipay and the sandbox.

FREEZE_NOTIFY_TYPE = "fund_auth_freeze"
FREEZE_NOTIFICATION_FIELDS = ("auth_no", "operation_id", "out_request_no", "amount", "status", "app_id")
FREEZE_SUCCESS = "SUCCESS"


def is_freeze_notification(params: Mapping[str, str]) -> bool:
    """A fund-authorization notification names its auth_no and no trade (a payment's names out_trade_no)."""
    return params.get("notify_type") == FREEZE_NOTIFY_TYPE or ("auth_no" in params and "out_trade_no" not in params)


def freeze_notification(params: Mapping[str, str], provider: str, app_id: str) -> FreezeNotification:
    """A verified freeze notification: the amount asked, what was really frozen (fund_amount) and what Alipay
    waived on its own credit (credit_amount; the rest of the amount when only fund_amount is given)."""
    missing = [name for name in FREEZE_NOTIFICATION_FIELDS if not params.get(name)]
    if missing:
        raise MalformedNotification(f"the freeze notification lacks {', '.join(missing)}")
    if params["app_id"] != app_id:
        raise MalformedNotification(f"the notification is for app_id {params['app_id']}, not {app_id}")
    if params["status"] != FREEZE_SUCCESS:
        raise MalformedNotification(f"freeze status {params['status']} is not a freeze that succeeded")
    amount = _yuan_field(params, "amount")
    fund = _yuan_field(params, "fund_amount") if params.get("fund_amount") else None
    credit = _yuan_field(params, "credit_amount") if params.get("credit_amount") else None
    fund = amount - (credit or Decimal("0.00")) if fund is None else fund
    credit = amount - fund if credit is None else credit
    if fund + credit != amount or min(fund, credit) < 0:
        raise MalformedNotification(f"fund_amount {fund} and credit_amount {credit} do not make the amount {amount}")
    when = params.get("gmt_trans") or params.get("notify_time") or ""
    try:
        frozen_at = parse_alipay_time(when)
    except ValueError as error:
        raise MalformedNotification(f"gmt_trans {when!r} is not an Alipay time") from error
    return FreezeNotification(
        out_request_no=params["out_request_no"],
        provider=provider,
        auth_no=params["auth_no"],
        operation_id=params["operation_id"],
        amount=amount,
        fund_amount=fund,
        credit_amount=credit,
        frozen_at=frozen_at,
        raw=dict(params),
    )


def _yuan_field(params: Mapping[str, str], name: str) -> Decimal:
    try:
        return parse_yuan(params[name])
    except ValueError as error:
        raise MalformedNotification(f"{name} {params[name]!r} is not an amount in yuan") from error

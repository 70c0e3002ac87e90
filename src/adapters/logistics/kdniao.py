"""Kdniao (快递鸟) parcel tracking: an instant query (RequestType 8001), a subscription (8008) whose changes Kdniao
pushes back (101). Every message is a form of `RequestData` (JSON text), `EBusinessID`, `RequestType`, `DataType=2`
and `DataSign` = base64 of the MD5 hex digest of RequestData followed by the AppKey, both ways."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx

from adapters.china_time import SHANGHAI
from adapters.errors import MalformedNotification, ProviderError
from adapters.settings import TEXT_SECRET, ProviderSettings, optional, required, secret
from leasecore.clock import SystemClock
from leasecore.ports import Acknowledgement, Clock, InvalidSignature, TrackingStatus

PROVIDER = "kdniao"
GATEWAY_URL = "https://api.kdniao.com/Ebusiness/EbusinessOrderHandle.aspx"
QUERY = "8001"
SUBSCRIBE = "8008"
PUSH = "101"
SIGNED_FOR = "3"
"""`State` 3: 签收, the parcel was signed for."""
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=utf-8"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
DEFAULT_TIMEOUT = "10"

log = logging.getLogger(__name__)

SHIPPER_CODES = {
    "sf": "SF",
    "sf express": "SF",
    "顺丰": "SF",
    "顺丰速运": "SF",
    "顺丰快递": "SF",
    "jd": "JD",
    "京东": "JD",
    "京东物流": "JD",
    "京东快递": "JD",
    "ems": "EMS",
    "中国邮政": "EMS",
    "zto": "ZTO",
    "中通": "ZTO",
    "中通快递": "ZTO",
    "yto": "YTO",
    "圆通": "YTO",
    "圆通速递": "YTO",
    "sto": "STO",
    "申通": "STO",
    "申通快递": "STO",
    "yd": "YD",
    "韵达": "YD",
    "韵达速递": "YD",
    "dbl": "DBL",
    "德邦": "DBL",
    "德邦快递": "DBL",
    "jtsd": "JTSD",
    "极兔": "JTSD",
    "极兔速递": "JTSD",
}
"""Carrier names the back office offers (and their common spellings), by Kdniao's ShipperCode."""


def shipper_code(carrier: str) -> str:
    """Kdniao's code for a carrier as the platform names it; a name not in the table is taken to be a code."""
    name = carrier.strip()
    return SHIPPER_CODES.get(name.casefold(), name)


def data_sign(request_data: str, app_key: str) -> str:
    """base64(md5_hex(RequestData + AppKey)), before the form encodes it."""
    digest = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def signed_form(request_type: str, request_data: str, business_id: str, app_key: str) -> bytes:
    """The form Kdniao takes, and sends: RequestData signed by the AppKey."""
    fields = {
        "RequestData": request_data,
        "EBusinessID": business_id,
        "RequestType": request_type,
        "DataSign": data_sign(request_data, app_key),
        "DataType": "2",
    }
    return urlencode(fields).encode("ascii")


def china_time(instant: datetime) -> str:
    """Kdniao's times: `YYYY-MM-DD HH:MM:SS` in China time."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def push_answer(business_id: str, now: datetime) -> Acknowledgement:
    """What Kdniao expects back from a push it may stop resending: Success true."""
    body = {"EBusinessID": business_id, "UpdateTime": china_time(now), "Success": True, "Reason": ""}
    return Acknowledgement(200, json.dumps(body, ensure_ascii=False), "application/json")


def read_push(body: bytes, business_id: str, app_key: str) -> list[TrackingStatus]:
    """The parcels a push reports, once its DataSign verifies under the AppKey and it names our EBusinessID;
    anything else raises `InvalidSignature` (`MalformedNotification` when it cannot be read at all)."""
    form = _form(body)
    request_data, sign = form.get("RequestData", ""), form.get("DataSign", "")
    if not request_data or not sign:
        raise MalformedNotification("a Kdniao push carries RequestData and DataSign")
    if not hmac.compare_digest(sign.encode(), data_sign(request_data, app_key).encode()):
        raise InvalidSignature("the push's DataSign does not verify under our AppKey")
    if form.get("RequestType", PUSH) != PUSH:
        raise MalformedNotification(f"RequestType {form.get('RequestType')!r} is not a push ({PUSH})")
    data = _json_object(request_data, "RequestData")
    if str(data.get("EBusinessID", "")) != business_id:
        raise MalformedNotification("the push is for another EBusinessID")
    parcels = data.get("Data")
    if not isinstance(parcels, list) or not all(isinstance(parcel, dict) for parcel in parcels):
        raise MalformedNotification("the push's Data is not a list of parcels")
    return [_status(parcel) for parcel in parcels]


@dataclass(frozen=True)
class KdniaoConfig:
    """The merchant's EBusinessID and AppKey; which request types its plan pays for (8001/8008, or the free
    1002/1008); how long a call may take."""

    e_business_id: str
    app_key: str
    gateway_url: str = GATEWAY_URL
    timeout: float = float(DEFAULT_TIMEOUT)
    query_request_type: str = QUERY
    subscribe_request_type: str = SUBSCRIBE
    sf_customer_name: str = ""
    """The last four digits of the warehouse's phone: Kdniao's `CustomerName`, which SF parcels require (the
    warehouse sends every parcel out and receives every one back)."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> KdniaoConfig:
        return cls(
            e_business_id=required(settings, "e_business_id").strip(),
            app_key=secret(settings, "app_key").strip(),
            gateway_url=SETTINGS.gateway(settings),
            timeout=_seconds(optional(settings, "timeout", DEFAULT_TIMEOUT)),
            query_request_type=optional(settings, "query_request_type", QUERY).strip(),
            subscribe_request_type=optional(settings, "subscribe_request_type", SUBSCRIBE).strip(),
            sf_customer_name=optional(settings, "sf_customer_name", "").strip(),
        )


SETTINGS = ProviderSettings(
    "快递鸟",
    required=("e_business_id",),
    secrets={"app_key": TEXT_SECRET},
    gateway_url=GATEWAY_URL,
    optional=("timeout", "query_request_type", "subscribe_request_type", "sf_customer_name"),
)
"""A Kdniao merchant account: its EBusinessID and its AppKey (inline or in a file)."""


class KdniaoRefused(ProviderError):
    """Kdniao answered `Success: false`; `reason` is its Reason."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"Kdniao refused to {action}: {reason or 'no reason given'}")
        self.reason = reason


class KdniaoLogistics:
    """A `Logistics` port through Kdniao: queries, subscriptions with a callback, and the pushes they bring."""

    provider = PROVIDER

    def __init__(
        self, config: KdniaoConfig, *, http_client: httpx.Client | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._http = http_client or httpx.Client(timeout=config.timeout)
        self._clock = clock or SystemClock()

    def track(self, carrier: str, tracking_no: str) -> TrackingStatus:
        """Where the parcel is now. A query changes nothing at Kdniao, so one that got no answer is asked once more."""
        answer = self._call(self.config.query_request_type, self._parcel(carrier, tracking_no), attempts=2)
        if not answer.get("Success"):
            raise KdniaoRefused(f"track {tracking_no}", str(answer.get("Reason") or ""))
        return _status(answer, carrier=carrier)

    def subscribe(self, carrier: str, tracking_no: str, callback_url: str) -> None:
        """Kdniao pushes the parcel's changes to `callback_url` from now on. Asked once: Kdniao bills each
        subscription, and a lost answer does not say whether it was recorded; the caller decides when to ask again."""
        request = {**self._parcel(carrier, tracking_no), "CallBack": callback_url}
        answer = self._call(self.config.subscribe_request_type, request, attempts=1)
        if not answer.get("Success"):
            raise KdniaoRefused(f"subscribe {tracking_no}", str(answer.get("Reason") or ""))

    def verify_push(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingStatus]:
        """The parcels a push reports; `InvalidSignature` unless it is signed with our AppKey for our account."""
        return read_push(body, self.config.e_business_id, self.config.app_key)

    def push_acknowledgement(self) -> Acknowledgement:
        return push_answer(self.config.e_business_id, self._clock.now())

    def _parcel(self, carrier: str, tracking_no: str) -> dict[str, str]:
        """The parcel as Kdniao names it: its ShipperCode and LogisticCode (and for SF, our phone's last digits)."""
        code = shipper_code(carrier)
        parcel = {"OrderCode": "", "ShipperCode": code, "LogisticCode": tracking_no.strip()}
        if code == "SF" and self.config.sf_customer_name:
            parcel["CustomerName"] = self.config.sf_customer_name
        return parcel

    def _call(self, request_type: str, request: Mapping[str, str], *, attempts: int) -> dict[str, Any]:
        request_data = json.dumps(request, ensure_ascii=False, separators=(",", ":"))
        body = signed_form(request_type, request_data, self.config.e_business_id, self.config.app_key)
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.post(self.config.gateway_url, content=body, headers=headers)
            except httpx.HTTPError as error:
                if attempt < attempts:
                    log.info("Kdniao did not answer (%s); asking once more", type(error).__name__)
                    continue
                raise ProviderError(f"Kdniao did not answer: {error or type(error).__name__}") from error
            if response.status_code >= 500 and attempt < attempts:
                continue
            return _answer(response)
        raise AssertionError("unreachable")


def _answer(response: httpx.Response) -> dict[str, Any]:
    if not response.is_success:
        raise ProviderError(f"Kdniao answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise ProviderError(f"Kdniao answered HTTP {response.status_code} without JSON") from None
    if not isinstance(answer, dict):
        raise ProviderError("Kdniao answered something other than a JSON object")
    return answer


def _status(parcel: Mapping[str, Any], carrier: str | None = None) -> TrackingStatus:
    """A parcel as Kdniao reports it (a query's answer, or one of a push's Data): delivered when State is 3."""
    traces = parcel.get("Traces") or []
    if not isinstance(traces, list):
        raise MalformedNotification("Traces is not a list")
    events = tuple(_trace(trace) for trace in traces if isinstance(trace, dict))
    return TrackingStatus(
        carrier if carrier is not None else str(parcel.get("ShipperCode", "")),
        str(parcel.get("LogisticCode", "")),
        str(parcel.get("State", "")) == SIGNED_FOR,
        events,
    )


def _trace(trace: Mapping[str, Any]) -> str:
    return " ".join(str(trace.get(name, "")).strip() for name in ("AcceptTime", "AcceptStation")).strip()


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise MalformedNotification("a Kdniao push is a UTF-8 form") from None
    return {name: values[0] for name, values in fields.items()}


def _json_object(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedNotification(f"{name} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedNotification(f"{name} is not a JSON object")
    return value


def _seconds(text: str) -> float:
    try:
        seconds = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("setting 'timeout' is a number of seconds") from None
    if not seconds.is_finite() or seconds <= 0:
        raise ValueError("setting 'timeout' is a number of seconds above 0")
    return float(seconds)

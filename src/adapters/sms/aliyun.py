"""Aliyun SMS (阿里云短信) `SendSms`, signed with the RPC v1 HMAC-SHA1 signature of the sorted encoded params."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote

import httpx

from adapters.errors import SmsFailed, SmsUnconfirmed
from adapters.settings import TEXT_SECRET, ProviderSettings, optional, required, seconds, secret
from leasecore.clock import SystemClock
from leasecore.ports import Clock

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"
TIMEOUT = 10.0


def percent_encode(text: str) -> str:
    """RFC 3986 encoding of UTF-8: only A–Z a–z 0–9 - _ . ~ stay as they are; a space is %20."""
    return quote(text, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(key)}={percent_encode(value)}" for key, value in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """`METHOD&%2F&` followed by the encoded canonical query."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def rpc_signature(access_key_secret: str, method: str, params: Mapping[str, str]) -> str:
    """Base64 of HMAC-SHA1 keyed by the secret followed by `&`."""
    key = f"{access_key_secret}&".encode()
    digest = hmac.new(key, string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class AliyunSmsConfig:
    """An access key, the approved signature name, and a template whose one parameter carries the text."""

    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    template_param: str = "content"
    endpoint: str = ENDPOINT
    region_id: str = "cn-hangzhou"
    timeout: float = TIMEOUT

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AliyunSmsConfig:
        return cls(
            access_key_id=required(settings, "access_key_id"),
            access_key_secret=secret(settings, "access_key_secret").strip(),
            sign_name=required(settings, "sign_name"),
            template_code=required(settings, "template_code"),
            template_param=optional(settings, "template_param", "content"),
            endpoint=SETTINGS.gateway(settings),
            timeout=seconds(settings, "timeout", TIMEOUT),
        )


SETTINGS = ProviderSettings(
    "阿里云短信",
    required=("access_key_id", "sign_name", "template_code"),
    secrets={"access_key_secret": TEXT_SECRET},
    gateway_url=ENDPOINT,
    gateway_aliases=("endpoint",),
    optional=("template_param", "timeout"),
)
"""An Aliyun access key and an approved signature and template; `endpoint` is the older name of `gateway_url`."""


class AliyunSms:
    """An `SmsSender` through Aliyun's `SendSms`; the answer's BizId is the message id."""

    def __init__(
        self,
        config: AliyunSmsConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        nonces: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self._http = http_client or httpx.Client(timeout=config.timeout)
        self._clock = clock or SystemClock()
        self._nonces = nonces or (lambda: str(uuid.uuid4()))

    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        """Sent only when Aliyun answers Code OK; anything else raises `SmsFailed` with Aliyun's code. `ref` goes
        as `OutId`, which Aliyun hands back in its delivery receipts (it does not deduplicate by it)."""
        params = self.signed_params(phone, text, ref)
        try:
            response = self._http.get(f"{self.config.endpoint}?{canonical_query(params)}")
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as error:
            raise SmsFailed(f"Aliyun SMS is unreachable: {error}") from error
        except httpx.HTTPError as error:
            raise SmsUnconfirmed(f"Aliyun SMS did not answer: {error or type(error).__name__}") from error
        return _biz_id(response)

    def signed_params(self, phone: str, text: str, ref: str | None = None) -> dict[str, str]:
        params = {
            "AccessKeyId": self.config.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone.strip(),
            "RegionId": self.config.region_id,
            "SignName": self.config.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonces(),
            "SignatureVersion": "1.0",
            "TemplateCode": self.config.template_code,
            "TemplateParam": json.dumps({self.config.template_param: text}, ensure_ascii=False),
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        if ref:
            params["OutId"] = ref
        return {**params, "Signature": rpc_signature(self.config.access_key_secret, "GET", params)}


def _biz_id(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError as error:
        raise SmsFailed(f"Aliyun SMS answered HTTP {response.status_code} without JSON") from error
    if not isinstance(answer, dict) or answer.get("Code") != "OK" or not answer.get("BizId"):
        code = answer.get("Code", response.status_code) if isinstance(answer, dict) else response.status_code
        message = answer.get("Message", "") if isinstance(answer, dict) else ""
        raise SmsFailed(f"{code}: {message}", str(code))
    return str(answer["BizId"])

"""e签宝 (eSign) open API v3: the contract signed through a sign flow created from an uploaded PDF, on e签宝's own
page, its end called back, and the signed file downloaded and hashed.

Requests carry `X-Tsign-Open-App-Id`, `X-Tsign-Open-Auth-Mode: Signature`, `X-Tsign-Open-Ca-Timestamp` (ms),
`Content-MD5` (base64 of the body's MD5; empty without a body) and `X-Tsign-Open-Ca-Signature`: base64 HMAC-SHA256,
keyed by the app secret, of `METHOD\\nAccept\\nContent-MD5\\nContent-Type\\nDate\\n` and the path with its query
sorted. Answers are `{"code": 0, "message": "成功", "data": {...}}`. Callbacks are signed with
`X-Tsign-Open-SIGNATURE`: hex HMAC-SHA256 of `X-Tsign-Open-TIMESTAMP` followed by the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from uuid import UUID

import httpx

from adapters.errors import MalformedNotification, ProviderError
from adapters.esign.pdf import PAGE_WIDTH, text_pdf
from adapters.esign.sandbox import require_signable
from adapters.identity.gb11643 import normalize_id_number
from adapters.settings import TEXT_SECRET, ProviderSettings, optional, required, secret
from leasecore.clock import SystemClock
from leasecore.ports import (
    Acknowledgement,
    Clock,
    InvalidSignature,
    SignedContract,
    SignedDocument,
    SigningOutcome,
    SigningSession,
)

PROVIDER = "esign"
GATEWAY_URL = "https://openapi.esign.cn"
ACCEPT = "*/*"
JSON_TYPE = "application/json; charset=UTF-8"
PDF_TYPE = "application/pdf"
SUCCESS = 0
FLOW_COMPLETE = "SIGN_FLOW_COMPLETE"
COMPLETED = 2
FLOW_ENDINGS = {3: "revoked", 5: "expired", 7: "refused by the signer"}
"""signFlowStatus values that end a flow unsigned."""
MAX_CALLBACK_AGE = timedelta(minutes=10)
SIGN_FIELD_X, SIGN_FIELD_Y = PAGE_WIDTH - 160, 120

ACKNOWLEDGEMENT = Acknowledgement(200, '{"code":"200","msg":"success"}', "application/json")
"""What e签宝 expects back once a callback is handled (anything but HTTP 200 is sent again)."""


def content_md5(body: bytes) -> str:
    """Base64 of the body's MD5; empty for a request without a body."""
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii") if body else ""


def signed_path(target: str) -> str:
    """The path, and its query parameters sorted by name (`k=v&…`, values as sent) when there are any."""
    parts = urlsplit(target)
    params = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "&".join(f"{name}={value}" if value else name for name, value in params)
    return f"{parts.path}?{query}" if query else parts.path


def string_to_sign(method: str, md5: str, content_type: str, target: str, accept: str = ACCEPT, date: str = "") -> str:
    return f"{method.upper()}\n{accept}\n{md5}\n{content_type}\n{date}\n{signed_path(target)}"


def request_signature(app_secret: str, text: str) -> str:
    """`X-Tsign-Open-Ca-Signature`: base64 HMAC-SHA256 keyed by the app secret."""
    digest = hmac.new(app_secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def callback_signature(app_secret: str, timestamp: str, body: bytes) -> str:
    """`X-Tsign-Open-SIGNATURE`: hex HMAC-SHA256 of the timestamp followed by the body."""
    return hmac.new(app_secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256).hexdigest()


def signed_headers(
    app_id: str, app_secret: str, method: str, target: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of a signed v3 request."""
    md5 = content_md5(body)
    return {
        "X-Tsign-Open-App-Id": app_id,
        "X-Tsign-Open-Auth-Mode": "Signature",
        "X-Tsign-Open-Ca-Timestamp": str(int(now.timestamp() * 1000)),
        "Accept": ACCEPT,
        "Content-Type": JSON_TYPE,
        "Content-MD5": md5,
        "X-Tsign-Open-Ca-Signature": request_signature(app_secret, string_to_sign(method, md5, JSON_TYPE, target)),
    }


class EsignError(ProviderError):
    """e签宝 refused a call: its `code` and `message`."""

    def __init__(self, what: str, code: object, message: str) -> None:
        super().__init__(f"e签宝 {what} answered code {code}: {message}")
        self.code = code


@dataclass(frozen=True)
class EsignConfig:
    """An e签宝 app: its id and secret, the gateway, and how long a call may take (seconds)."""

    app_id: str
    app_secret: str
    gateway_url: str = GATEWAY_URL
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EsignConfig:
        return cls(
            app_id=required(settings, "app_id"),
            app_secret=secret(settings, "app_secret").strip(),
            gateway_url=SETTINGS.gateway(settings).rstrip("/"),
            timeout=_seconds(optional(settings, "timeout", "10")),
        )


SETTINGS = ProviderSettings(
    "e签宝",
    required=("app_id",),
    secrets={"app_secret": TEXT_SECRET},
    gateway_url=GATEWAY_URL,
    optional=("timeout",),
)
"""An e签宝 open-platform app: its id and secret (inline or in a file), the gateway, and `timeout` in seconds."""


class EsignSignature:
    """An `ESignature` port through e签宝's sign flows; the signer is a person identified by phone, name and ID card."""

    provider = PROVIDER
    acknowledgement = ACKNOWLEDGEMENT

    def __init__(
        self, config: EsignConfig, *, http_client: httpx.Client | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._http = http_client or httpx.Client(timeout=config.timeout)
        self._clock = clock or SystemClock()

    def sign(self, order_id: UUID, signer_name: str, signer_id_number: str, text: str) -> SignedContract:
        """e签宝 signs only on its own page: there is no signing at once."""
        raise ProviderError("e签宝 signs through a sign flow: start_signing, then its callback")

    def start_signing(
        self,
        order_id: UUID,
        signer_name: str,
        signer_id_number: str,
        signer_phone: str,
        text: str,
        notify_url: str,
        return_url: str = "",
    ) -> SigningSession:
        """Upload the contract as a PDF, open a flow for the one signer on it (finished once they sign), and get
        their signing page."""
        id_number = normalize_id_number(signer_id_number)
        require_signable(signer_name, id_number, text, self._clock.now())
        name = f"lease-contract-{order_id}.pdf"
        pdf = text_pdf(text)
        file_id = self._upload(name, pdf.data)
        config: dict[str, Any] = {"signFlowTitle": f"租赁合同 {order_id}", "autoFinish": True, "notifyUrl": notify_url}
        if return_url:
            config["redirectConfig"] = {"redirectUrl": return_url}
        field = {
            "fileId": file_id,
            "normalSignFieldConfig": {
                "signFieldStyle": 1,
                "signFieldPosition": {
                    "positionPage": str(pdf.pages),
                    "positionX": SIGN_FIELD_X,
                    "positionY": SIGN_FIELD_Y,
                },
            },
        }
        signer = {
            "signerType": 0,
            "psnSignerInfo": {
                "psnAccount": signer_phone.strip(),
                "psnInfo": {
                    "psnName": signer_name.strip(),
                    "psnIDCardNum": id_number,
                    "psnIDCardType": "CRED_PSN_CH_IDCARD",
                },
            },
            "signFields": [field],
        }
        body = {"docs": [{"fileId": file_id, "fileName": name}], "signFlowConfig": config, "signers": [signer]}
        flow_id = _text(self._call("POST", "/v3/sign-flow/create-by-file", body), "signFlowId", "sign flow")
        return self.resume_signing(flow_id, signer_phone, return_url)

    def resume_signing(self, flow_id: str, signer_phone: str, return_url: str = "") -> SigningSession:
        """The signer's page for the flow (a fresh link: e签宝's expire)."""
        body: dict[str, Any] = {"operator": {"psnAccount": signer_phone.strip()}, "needLogin": False, "urlType": 2}
        if return_url:
            body["redirectConfig"] = {"redirectUrl": return_url}
        data = self._call("POST", f"/v3/sign-flow/{quote(flow_id, safe='')}/sign-url", body)
        return SigningSession(flow_id, _text(data, "url", "sign URL"))

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> SigningOutcome:
        """Signed by our app secret within ten minutes of now; a flow's end (SIGN_FLOW_COMPLETE) completed or not,
        any other event not final."""
        lowered = {name.lower(): value for name, value in headers.items()}
        timestamp = lowered.get("x-tsign-open-timestamp", "")
        signature = lowered.get("x-tsign-open-signature", "")
        if not timestamp or not signature:
            raise InvalidSignature("the callback carries no X-Tsign-Open-SIGNATURE and X-Tsign-Open-TIMESTAMP")
        expected = callback_signature(self.config.app_secret, timestamp, body)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise InvalidSignature("the callback's signature does not verify with the app secret")
        self._require_fresh(timestamp)
        return _outcome(body)

    def signing_outcome(self, flow_id: str) -> SigningOutcome:
        """The flow's status as e签宝's flow detail gives it: signed, ended unsigned, or still under way."""
        data = self._call("GET", f"/v3/sign-flow/{quote(flow_id, safe='')}/detail")
        return _flow_outcome(flow_id, data.get("signFlowStatus"), data.get("signFlowDescription"))

    def signed_document(self, flow_id: str) -> SignedDocument:
        """The flow's signed file: its id, and the SHA-256 of the bytes downloaded from the link e签宝 gives."""
        data = self._call("GET", f"/v3/sign-flow/{quote(flow_id, safe='')}/file-download-url")
        files = data.get("files")
        if not isinstance(files, list) or not files or not isinstance(files[0], dict):
            raise ProviderError(f"e签宝 gave no signed file for flow {flow_id}")
        file_id, url = _text(files[0], "fileId", "signed file"), _text(files[0], "downloadUrl", "signed file")
        content = self._send("GET", url, retries=1).content
        return SignedDocument(file_id, hashlib.sha256(content).hexdigest(), url)

    def _upload(self, name: str, data: bytes) -> str:
        """Ask where to put the file, then put it there; the file's id names it in the flow."""
        asked = {"contentMd5": content_md5(data), "contentType": PDF_TYPE, "fileName": name, "fileSize": len(data)}
        answer = self._call("POST", "/v3/files/file-upload-url", asked)
        file_id, url = _text(answer, "fileId", "upload"), _text(answer, "fileUploadUrl", "upload")
        response = self._send(
            "PUT", url, content=data, headers={"Content-MD5": asked["contentMd5"], "Content-Type": PDF_TYPE}
        )
        if response.status_code != httpx.codes.OK:
            raise ProviderError(f"e签宝 refused the contract file: HTTP {response.status_code}")
        return file_id

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A signed call; its `data` when code is 0, else `EsignError` with e签宝's code. Only reads are retried."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() if body is not None else b""
        headers = signed_headers(self.config.app_id, self.config.app_secret, method, path, content, self._clock.now())
        response = self._send(
            method,
            self.config.gateway_url + path,
            content=content,
            headers=headers,
            retries=1 if method == "GET" else 0,
        )
        try:
            answer = response.json()
        except ValueError:
            raise ProviderError(f"e签宝 {path} answered HTTP {response.status_code} without JSON") from None
        if not isinstance(answer, dict) or "code" not in answer:
            raise ProviderError(f"e签宝 {path} answered HTTP {response.status_code} without a code")
        if answer["code"] != SUCCESS:
            raise EsignError(path, answer["code"], str(answer.get("message", "")))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def _send(self, method: str, url: str, *, retries: int = 0, **options: Any) -> httpx.Response:
        for attempt in range(retries + 1):
            try:
                return self._http.request(method, url, **options)
            except httpx.HTTPError as error:
                if attempt == retries:
                    raise ProviderError(f"e签宝 is unreachable: {error or type(error).__name__}") from error
        raise AssertionError("unreachable")

    def _require_fresh(self, timestamp: str) -> None:
        try:
            sent = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidSignature(f"the callback's timestamp {timestamp!r} is not milliseconds") from None
        if abs(self._clock.now() - sent) > MAX_CALLBACK_AGE:
            raise InvalidSignature(f"the callback was signed at {sent.isoformat()}, too far from now to be believed")


def _outcome(body: bytes) -> SigningOutcome:
    try:
        event = json.loads(body)
    except ValueError as error:
        raise MalformedNotification(f"the callback is not JSON: {error}") from error
    if not isinstance(event, dict) or not isinstance(event.get("signFlowId"), str) or not event["signFlowId"]:
        raise MalformedNotification("the callback names no signFlowId")
    flow_id, action = event["signFlowId"], event.get("action")
    if action != FLOW_COMPLETE:
        return SigningOutcome(flow_id, completed=False, reason=f"{action} is not the flow's end", final=False)
    outcome = _flow_outcome(flow_id, event.get("signFlowStatus"), event.get("statusDescription"))
    if not outcome.final:
        return SigningOutcome(
            flow_id, completed=False, reason=f"e签宝: ended with status {event.get('signFlowStatus')}"
        )
    return outcome


def _flow_outcome(flow_id: str, status: object, words: object) -> SigningOutcome:
    """A signFlowStatus: 2 signed, 3, 5 and 7 ended unsigned, anything else still under way (not final)."""
    number = _number(status)
    if number == COMPLETED:
        return SigningOutcome(flow_id, completed=True)
    if number in FLOW_ENDINGS:
        return SigningOutcome(flow_id, completed=False, reason=f"e签宝: {words or FLOW_ENDINGS[number]}")
    return SigningOutcome(flow_id, completed=False, reason=f"e签宝: status {status}", final=False)


def _number(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _text(data: Mapping[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ProviderError(f"e签宝's {what} answer has no {name}")
    return value


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"setting 'timeout' is seconds, not {text!r}") from None
    if not 0 < seconds <= 120:
        raise ValueError("setting 'timeout' is between 0 and 120 seconds")
    return seconds

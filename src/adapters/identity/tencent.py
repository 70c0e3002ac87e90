"""Tencent Cloud real-name verification (腾讯云实名核身): OCR `IDCardOCR` reads the front of the ID card, whose
name and number must be the ones the customer typed; FaceID `ImageRecognition` then matches the selfie against the
authority's photo of that person. Both are API 3.0 calls signed with TC3-HMAC-SHA256.

Each call is billed, so none is retried: a timeout or an error raises `IdentityProviderError` and the customer
submits again. An answer about the person (the face does not match, the name and number disagree in the
authority's database) is a failed `IdentityCheck` with its reason; an answer about the request (a bad image, the
signature, the quota) is an `IdentityProviderError` naming Tencent's code. Neither the ID number nor an image is
ever logged or put in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.china_time import today_in_china
from adapters.errors import IdentityProviderError
from adapters.identity.gb11643 import normalize_id_number
from adapters.identity.sandbox import submission_problem
from adapters.settings import TEXT_SECRET, ProviderSettings, optional, required, secret
from leasecore.clock import SystemClock
from leasecore.credit.customer import IdentityCheck
from leasecore.ports import Clock

PROVIDER = "tencent"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"
GATEWAY_URL = "https://{service}.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_SIM_THRESHOLD = Decimal(70)
SUCCESS = "Success"


@dataclass(frozen=True)
class Action:
    """One API 3.0 action: the service it belongs to (its host and its signing scope), its version and name, and
    the request members an error message must never echo."""

    service: str
    version: str
    name: str
    private: tuple[str, ...] = ()


ID_CARD_OCR = Action("ocr", "2018-11-19", "IDCardOCR", private=("ImageBase64",))
IMAGE_RECOGNITION = Action("faceid", "2018-03-01", "ImageRecognition", private=("IdCard", "ImageBase64"))

PERSON_NOT_VERIFIED = {
    "FailedOperation.CompareLowSimilarity": "selfie does not match the ID card photo",
    "FailedOperation.LifePhotoDetectFake": "selfie is not of a live person",
    "FailedOperation.IdNameMisMatch": "name and ID number do not match the authority's records",
    "FailedOperation.IdNoExistSystem": "ID number is not in the authority's records",
    "FailedOperation.IdPhotoNoExist": "the authority holds no photo for this ID number",
    "FailedOperation.NameFormatError": "name is not one the authority accepts",
}
"""FaceID's answers about the person rather than the request: the check is made, and failed, with this reason."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_date(timestamp: int) -> str:
    """The credential scope's date is the UTC date of the timestamp, not the local one."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(host: str, payload: bytes, path: str = "/", content_type: str = CONTENT_TYPE) -> str:
    """A POST's canonical request: method, URI, an empty query, the two signed headers and the payload's hash."""
    headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    return f"POST\n{path}\n\n{headers}\n{SIGNED_HEADERS}\n{sha256_hex(payload)}"


def credential_scope(timestamp: int, service: str) -> str:
    return f"{utc_date(timestamp)}/{service}/tc3_request"


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{timestamp}\n{credential_scope(timestamp, service)}\n{sha256_hex(canonical.encode())}"


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    """HMAC-SHA256 chained from `TC3` + the secret key through the date, the service and `tc3_request`."""
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def tc3_signature(secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    key = signing_key(secret_key, utc_date(timestamp), service)
    return hmac.new(key, string_to_sign(timestamp, service, canonical).encode(), hashlib.sha256).hexdigest()


def authorization(secret_id: str, secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    signature = tc3_signature(secret_key, timestamp, service, canonical)
    scope = credential_scope(timestamp, service)
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"


@dataclass(frozen=True)
class TencentIdentityConfig:
    """A CAM key allowed OCR and FaceID, the region called, where, how similar a face must be, how long to wait.

    `gateway_url` may name the service as `{service}` (the default does); without it every action goes to that
    one address."""

    secret_id: str
    secret_key: str
    region: str = DEFAULT_REGION
    gateway_url: str = GATEWAY_URL
    sim_threshold: Decimal = DEFAULT_SIM_THRESHOLD
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TencentIdentityConfig:
        return cls(
            secret_id=required(settings, "secret_id").strip(),
            secret_key=secret(settings, "secret_key").strip(),
            region=optional(settings, "region", DEFAULT_REGION).strip(),
            gateway_url=SETTINGS.gateway(settings),
            sim_threshold=_threshold(optional(settings, "sim_threshold", str(DEFAULT_SIM_THRESHOLD))),
        )

    def url(self, action: Action) -> str:
        return self.gateway_url.replace("{service}", action.service)


SETTINGS = ProviderSettings(
    "腾讯云实名核身",
    required=("secret_id",),
    secrets={"secret_key": TEXT_SECRET},
    gateway_url=GATEWAY_URL,
    optional=("region", "sim_threshold"),
)
"""A Tencent Cloud API key; `region` defaults to ap-guangzhou, `sim_threshold` (0–100, as text) to 70."""


def _threshold(text: str) -> Decimal:
    try:
        threshold = Decimal(text.strip())
    except InvalidOperation:
        threshold = Decimal(-1)
    if not threshold.is_finite() or not Decimal(0) <= threshold <= Decimal(100):
        raise ValueError("setting 'sim_threshold' must be a number from 0 to 100")
    return threshold


@dataclass(frozen=True)
class Answer:
    """A successful `Response` member, and the RequestId Tencent asks for when a call is looked into."""

    fields: Mapping[str, Any]
    request_id: str


class TencentIdentity:
    """An `IdentityVerifier` through Tencent Cloud: the card read by OCR, then the selfie matched by FaceID."""

    def __init__(
        self, config: TencentIdentityConfig, *, http_client: httpx.Client | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._http = http_client or httpx.Client()
        self._clock = clock or SystemClock()

    def verify(self, name: str, id_number: str, id_card_image: bytes, selfie_image: bytes) -> IdentityCheck:
        """Verified only when the card reads as the name and number given and the face is at least `sim_threshold`
        similar to the authority's photo; a submission no provider could check is failed without a (billed) call."""
        name, number = name.strip(), normalize_id_number(id_number)
        problem = submission_problem(name, number, id_card_image, selfie_image, today_in_china(self._clock))
        if problem is not None:
            return self._check(name, number, problem)
        card = self.call(ID_CARD_OCR, {"ImageBase64": _base64(id_card_image), "CardSide": "FRONT"})
        problem = _card_mismatch(card, name, number)
        if problem is not None:
            return self._check(name, number, problem, card.request_id)
        face_request = {"IdCard": number, "Name": name, "ImageBase64": _base64(selfie_image)}
        face = self.call(IMAGE_RECOGNITION, face_request, accepted=PERSON_NOT_VERIFIED)
        reference = f"{card.request_id},{face.request_id}"
        return self._check(name, number, self._face_problem(face), reference)

    def call(self, action: Action, request: Mapping[str, Any], accepted: Mapping[str, str] | None = None) -> Answer:
        """One signed call, never retried. An error code in `accepted` is an answer (its `Result`), not an error."""
        url = self.config.url(action)
        payload = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = self._http.post(
                url, content=payload, headers=self.headers(action, url, payload), timeout=self.config.timeout
            )
        except httpx.TimeoutException as error:
            raise IdentityProviderError(
                f"Tencent Cloud {action.name} did not answer within {self.config.timeout:g}s", "Timeout"
            ) from error
        except httpx.HTTPError as error:
            raise IdentityProviderError(
                f"Tencent Cloud {action.name} is unreachable: {type(error).__name__}"
            ) from error
        try:
            return _answer(action, response, accepted or {})
        except IdentityProviderError as error:
            hidden = [str(request[member]) for member in action.private if request.get(member)]
            raise IdentityProviderError(_redacted(str(error), hidden), error.code) from None

    def headers(self, action: Action, url: str, payload: bytes) -> dict[str, str]:
        """The signed headers: the host signed is the one the URL names, so a gateway elsewhere verifies too."""
        parts = urlsplit(url)
        host, timestamp = parts.netloc, int(self._clock.now().timestamp())
        canonical = canonical_request(host, payload, parts.path or "/")
        headers = {
            "Authorization": authorization(
                self.config.secret_id, self.config.secret_key, timestamp, action.service, canonical
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": action.name,
            "X-TC-Version": action.version,
            "X-TC-Timestamp": str(timestamp),
        }
        if self.config.region:
            headers["X-TC-Region"] = self.config.region
        return headers

    def _face_problem(self, face: Answer) -> str | None:
        result = str(face.fields.get("Result", SUCCESS))
        if result != SUCCESS:
            return PERSON_NOT_VERIFIED[result]
        similarity = _similarity(face.fields.get("Sim"))
        if similarity < self.config.sim_threshold:
            return f"selfie does not match the ID card photo (similarity {similarity} < {self.config.sim_threshold})"
        return None

    def _check(self, name: str, number: str, problem: str | None, reference: str = "") -> IdentityCheck:
        return IdentityCheck(name, number, problem is None, problem, None, PROVIDER, reference)


def _answer(action: Action, response: httpx.Response, accepted: Mapping[str, str]) -> Answer:
    """The `Response` member; an `Error` in it raises, unless its code is `accepted`, when it reads as a `Result`."""
    fields = _response(action, response)
    request_id = str(fields.get("RequestId", ""))
    if "Error" in fields:
        code, message = _error(fields["Error"])
        if code in accepted:
            return Answer({"Result": code}, request_id)
    else:
        code, message = str(fields.get("Result", SUCCESS)), str(fields.get("Description", ""))
        if code == SUCCESS or code in accepted:
            return Answer(fields, request_id)
    raise IdentityProviderError(f"Tencent Cloud {action.name} failed: {code}: {message} (RequestId {request_id})", code)


def _response(action: Action, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise IdentityProviderError(
            f"Tencent Cloud {action.name} answered HTTP {response.status_code} without JSON"
        ) from error
    fields = body.get("Response") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise IdentityProviderError(
            f"Tencent Cloud {action.name} answered HTTP {response.status_code} without Response"
        )
    return fields


def _redacted(text: str, hidden: list[str]) -> str:
    for value in hidden:
        text = text.replace(value, "…")
    return text


def _error(error: object) -> tuple[str, str]:
    if not isinstance(error, dict):
        return "UnknownError", ""
    return str(error.get("Code") or "UnknownError"), str(error.get("Message", ""))


def _card_mismatch(card: Answer, name: str, number: str) -> str | None:
    """The card must be the customer's own: the name and ID number read from it are the ones typed."""
    read_name, read_number = card.fields.get("Name"), card.fields.get("IdNum")
    if not isinstance(read_name, str) or not isinstance(read_number, str):
        raise IdentityProviderError(f"Tencent Cloud {ID_CARD_OCR.name} answered without Name and IdNum")
    if _compact(read_name) != _compact(name):
        return "the name on the ID card is not the name given"
    if normalize_id_number(read_number) != number:
        return "the ID number on the ID card is not the number given"
    return None


def _compact(name: str) -> str:
    return "".join(name.split())


def _similarity(value: object) -> Decimal:
    try:
        similarity = Decimal(str(value))
    except InvalidOperation:
        similarity = Decimal("NaN")
    if not similarity.is_finite():
        raise IdentityProviderError(f"Tencent Cloud {IMAGE_RECOGNITION.name} answered an impossible Sim {value!r}")
    return similarity


def _base64(image: bytes) -> str:
    return base64.b64encode(image).decode("ascii")

"""Tencent Cloud API 3.0 as a local peer: OCR `IDCardOCR` and FaceID `ImageRecognition` behind one address.

It checks every request as Tencent does, with its own step-by-step TC3-HMAC-SHA256 computation from the shared
secret (written from Tencent's signing document, not taken from the adapter): a wrong or stale signature is
answered with Tencent's `AuthFailure` errors. Otherwise it answers what the test scripted for the action.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from leasecore.ports import Clock
from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

ACTIONS = {"IDCardOCR": ("ocr", "2018-11-19"), "ImageRecognition": ("faceid", "2018-03-01")}
AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
SIGNATURE_LIFETIME = 300


def hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class TencentPeer:
    """Answers each action with `answers[action]` (the members of `Response`), or `errors[action]` when set."""

    def __init__(self, secret_id: str, secret_key: str, clock: Clock, delay: float = 0.0) -> None:
        self.secret_id, self.secret_key, self.clock, self.delay = secret_id, secret_key, clock, delay
        self.answers: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, tuple[str, str]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """Every authentic call: its action and its JSON request."""
        self.refused: list[str] = []
        """The error code of every call refused for its authentication."""
        self.loopback = LoopbackPeer({("POST", "/"): self.serve})

    def reset(self, clock: Clock) -> None:
        """Forget what was scripted and received, and read time from `clock` from now on."""
        self.clock = clock
        self.answers.clear()
        self.errors.clear()
        self.calls.clear()
        self.refused.clear()
        self.loopback.received.clear()
        self.loopback.failures.clear()
        self.loopback.routes[("POST", "/")] = self.serve

    @property
    def url(self) -> str:
        return self.loopback.url

    def card_reads(self, name: str, id_number: str) -> None:
        self.answers["IDCardOCR"] = {"Name": name, "Sex": "男", "Nation": "汉", "IdNum": id_number, "ValidDate": ""}

    def face_answers(self, sim: float, result: str = "Success", description: str = "成功") -> None:
        self.answers["ImageRecognition"] = {"Sim": sim, "Result": result, "Description": description}

    def serve(self, request: PeerRequest) -> PeerAnswer:
        action = request.headers.get("x-tc-action", "")
        refusal = self.authentication_problem(request, action)
        if refusal is not None:
            self.refused.append(refusal[0])
            return self.answer({"Error": {"Code": refusal[0], "Message": refusal[1]}})
        self.calls.append((action, json.loads(request.body)))
        if self.delay:
            time.sleep(self.delay)
        if action in self.errors:
            code, message = self.errors[action]
            return self.answer({"Error": {"Code": code, "Message": message}})
        return self.answer(self.answers[action])

    def answer(self, members: dict[str, Any]) -> PeerAnswer:
        body = {"Response": {**members, "RequestId": str(uuid.uuid4())}}
        return PeerAnswer.json(json.dumps(body, ensure_ascii=False))

    def authentication_problem(self, request: PeerRequest, action: str) -> tuple[str, str] | None:
        """Tencent's error code and message for a request it would not accept, or None."""
        if action not in ACTIONS:
            return "InvalidAction", f"unknown action {action!r}"
        service, version = ACTIONS[action]
        if request.headers.get("x-tc-version") != version:
            return "NoSuchVersion", f"{action} has no version {request.headers.get('x-tc-version')!r}"
        credential = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if credential is None:
            return "AuthFailure.SignatureFailure", "the Authorization header is malformed"
        if credential["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "the SecretId is unknown"
        timestamp = int(request.headers.get("x-tc-timestamp", "0"))
        if abs(timestamp - self.clock.now().timestamp()) > SIGNATURE_LIFETIME:
            return "AuthFailure.SignatureExpire", "the signature expired"
        signed = credential["headers"].split(";")
        if not {"content-type", "host"} <= set(signed) or any(name not in request.headers for name in signed):
            return "AuthFailure.SignatureFailure", "content-type and host must be signed"
        expected = self.signature(request, signed, timestamp, credential["date"], credential["service"])
        if credential["service"] != service or not hmac.compare_digest(expected, credential["signature"]):
            return "AuthFailure.SignatureFailure", "the signature does not verify"
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != credential["date"]:
            return "AuthFailure.SignatureFailure", "the credential's date is not the timestamp's UTC date"
        return None

    def signature(self, request: PeerRequest, signed: list[str], timestamp: int, date: str, service: str) -> str:
        """Tencent's four steps: the canonical request, the string to sign, the derived key, the signature."""
        headers = "".join(f"{name}:{request.headers[name].strip().lower()}\n" for name in signed)
        payload_hash = hashlib.sha256(request.body).hexdigest()
        canonical = "\n".join(["POST", request.path, "", headers, ";".join(signed), payload_hash])
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join(
            ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
        )
        secret_date = hmac_sha256(("TC3" + self.secret_key).encode("utf-8"), date)
        secret_service = hmac_sha256(secret_date, service)
        secret_signing = hmac_sha256(secret_service, "tc3_request")
        return hmac.new(secret_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    def __enter__(self) -> TencentPeer:
        self.loopback.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.loopback.stop()


__all__ = ["TencentPeer"]

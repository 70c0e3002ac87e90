"""An Aliyun SMS (阿里云短信) peer: `GET /` with the RPC-style query of `SendSms`, its `Signature` checked as Aliyun
checks it (HMAC-SHA1 keyed by the AccessKey secret and `&`, over `GET&%2F&` and the encoded sorted query), a
`SignatureNonce` used twice refused, and answered in JSON with a BizId, or refused with an Aliyun code when told.

Its signing is written out here, not imported from the adapter, so a mistake in one is not mirrored by the other."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, quote, urlsplit

from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

ACCESS_KEY_ID = "LTAI5tTestKeyId"
ACCESS_KEY_SECRET = "testsecret"


def encode(text: str) -> str:
    return quote(text, safe="-_.~")


def aliyun_signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    text = f"{method}&{encode('/')}&{encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()).decode()


class AliyunSmsPeer(LoopbackPeer):
    """The SMS endpoint at `endpoint`. `refuse` answers that Aliyun code (with `message`) instead of sending;
    `delay` holds each answer; `sent` keeps each (PhoneNumbers, TemplateParam, OutId) sent."""

    def __init__(self, access_key_id: str = ACCESS_KEY_ID, secret: str = ACCESS_KEY_SECRET) -> None:
        super().__init__()
        self.access_key_id, self.secret = access_key_id, secret
        self.refuse: tuple[str, str] | None = None
        self.delay = 0.0
        self.nonces: set[str] = set()
        self.sent: list[tuple[str, str, str]] = []
        self.route("GET", "/")(self._send)

    @property
    def endpoint(self) -> str:
        return self.url + "/"

    def _send(self, request: PeerRequest) -> PeerAnswer:
        if self.delay:
            time.sleep(self.delay)
        params = dict(parse_qsl(urlsplit(request.target).query, keep_blank_values=True))
        signature = params.pop("Signature", "")
        if signature != aliyun_signature(self.secret, "GET", params):
            self.failures.append(AssertionError("the Signature does not verify"))
            return self._answer(400, "SignatureDoesNotMatch", "Specified signature is not matched.")
        assert params["AccessKeyId"] == self.access_key_id, params
        assert (params["Action"], params["Version"], params["SignatureMethod"]) == (
            "SendSms",
            "2017-05-25",
            "HMAC-SHA1",
        ), params
        if params["SignatureNonce"] in self.nonces:
            return self._answer(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(params["SignatureNonce"])
        if self.refuse is not None:
            return self._answer(200, *self.refuse)
        self.sent.append((params["PhoneNumbers"], params["TemplateParam"], params.get("OutId", "")))
        biz_id = f"9006197469364984{len(self.sent):02d}^0"
        return PeerAnswer.json(json.dumps({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "R"}))

    def _answer(self, status: int, code: str, message: str) -> PeerAnswer:
        body = {"Code": code, "Message": message, "RequestId": "8906582E-6722-4B8F-9B32-2F4C1F8F1A2B"}
        return PeerAnswer.json(json.dumps(body, ensure_ascii=False), status)

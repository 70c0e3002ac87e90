"""An Alipay open-platform peer (支付宝开放平台): the gateway `POST /gateway.do` that checks each call's RSA2
signature over its sorted parameters with the app's public key, dispatches on `method`, and answers
`{"<method>_response": {...}, "sign": "..."}` signed with Alipay's key over the member's raw text, as Alipay does;
and the notifications Alipay posts, signed over their sorted parameters without `sign` and `sign_type`.

A call whose signature does not verify is answered as Alipay answers it (`40002 isv.invalid-signature`, unsigned)
and kept in `failures`, so a test that ends with `failures == []` proves every call it made was signed right.

Its signing is written out here, not imported from the adapter, so a mistake in one is not mirrored by the other."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

PATH = "/gateway.do"
APP_ID = "2021004100000001"

Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""A method's behaviour: the decoded biz_content in, the answer member's payload out."""


def rsa2_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verifies(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def signed_text(params: dict[str, str], excluded: tuple[str, ...]) -> bytes:
    """Sorted `k=v` of the non-empty parameters not excluded, joined by `&`: what both sides sign."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in excluded and v != "").encode()


def answer_text(method: str, payload: dict[str, Any], key: rsa.RSAPrivateKey | None) -> str:
    """An answer as Alipay writes it, a space after each colon: the member's raw text is what gets signed."""
    member = method.replace(".", "_") + "_response"
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ": "))
    signature = f',"sign":"{rsa2_sign(key, content.encode())}"' if key is not None else ""
    return f'{{"{member}": {content}{signature}}}'


INVALID_SIGNATURE = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}


class AlipayPeer(LoopbackPeer):
    """Alipay's gateway at `gateway_url`. `handlers` answer a method from its biz_content; `answers` give a fixed
    payload for a method instead. `sign_with` is the key answers are signed with (None: unsigned), `tamper`
    rewrites an answer's text after signing, `delay` holds every answer, `fail` answers that many HTTP 500s."""

    def __init__(
        self,
        app_public_key: rsa.RSAPublicKey,
        alipay_key: rsa.RSAPrivateKey,
        app_id: str = APP_ID,
        handlers: dict[str, Handler] | None = None,
    ) -> None:
        super().__init__()
        self.app_public_key, self.alipay_key, self.app_id = app_public_key, alipay_key, app_id
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.answers: dict[str, dict[str, Any]] = {}
        self.sign_with: rsa.RSAPrivateKey | None = alipay_key
        self.tamper: Callable[[str], str] | None = None
        self.delay = 0.0
        self.fail = 0
        self.route("POST", PATH)(self._gateway)

    @property
    def gateway_url(self) -> str:
        return self.url + PATH

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The biz_content of each call of that method received, in order."""
        return [
            json.loads(request.form["biz_content"])
            for request in self.received
            if request.path == PATH and request.form.get("method") == method
        ]

    def notification(self, params: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> bytes:
        """A notification as Alipay posts it: `sign_type=RSA2` and the sign over the rest, form-encoded."""
        signature = rsa2_sign(key or self.alipay_key, signed_text(params, ("sign", "sign_type")))
        return urlencode({**params, "sign_type": "RSA2", "sign": signature}).encode()

    def _gateway(self, request: PeerRequest) -> PeerAnswer:
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            self.fail -= 1
            return PeerAnswer(500, b"busy")
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded"), request.headers
        params = request.form
        method = params.get("method", "")
        if not rsa2_verifies(self.app_public_key, signed_text(params, ("sign",)), params.get("sign", "")):
            self.failures.append(AssertionError(f"the app's signature on {method} does not verify"))
            return PeerAnswer.json(answer_text(method, INVALID_SIGNATURE, None))
        assert (params["app_id"], params["sign_type"], params["charset"]) == (self.app_id, "RSA2", "utf-8"), params
        payload = self._payload(method, json.loads(params["biz_content"]))
        text = answer_text(method, payload, self.sign_with)
        return PeerAnswer.json(self.tamper(text) if self.tamper else text)

    def _payload(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        if method in self.answers:
            return self.answers[method]
        handler = self.handlers.get(method)
        if handler is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method", "sub_msg": method}
        return handler(biz)


__all__ = ["APP_ID", "PATH", "AlipayPeer", "answer_text", "rsa2_sign", "rsa2_verifies", "signed_text"]

"""A WeChat Pay v3 peer (微信支付): every request's `Authorization: WECHATPAY2-SHA256-RSA2048` checked with the
merchant's public key over `METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`, every answer signed by the platform key in
`Wechatpay-Timestamp`, `-Nonce`, `-Signature` and `-Serial` over `timestamp\\nnonce\\nbody\\n`; APP and JSAPI
prepays, the order query by out_trade_no and refunds served from the orders it keeps; callbacks encrypted with the
APIv3 key (AEAD_AES_256_GCM) and signed as WeChat Pay posts them.

A request whose Authorization does not verify is answered `401 SIGN_ERROR` as WeChat Pay does and kept in
`failures`. Its signing is written out here, not imported from the adapter."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest
from tests.peers.alipay import rsa2_sign, rsa2_verifies

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
APIV3_KEY = b"0123456789abcdefghijABCDEFGHIJ!!"
ORDER_PATH = "/v3/pay/transactions/out-trade-no/"
AUTHORIZATION = re.compile(
    r'WECHATPAY2-SHA256-RSA2048 mchid="(?P<mchid>[^"]+)",nonce_str="(?P<nonce>[^"]+)",'
    r'signature="(?P<signature>[^"]+)",timestamp="(?P<timestamp>[^"]+)",serial_no="(?P<serial>[^"]+)"'
)


def signed_headers(key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: str, nonce: str) -> dict[str, str]:
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa2_sign(key, message),
        "Wechatpay-Serial": serial,
    }


def encrypted(apiv3_key: bytes, plaintext: dict[str, Any], nonce: str, associated_data: str) -> dict[str, str]:
    ciphertext = AESGCM(apiv3_key).encrypt(nonce.encode(), json.dumps(plaintext).encode(), associated_data.encode())
    return {
        "original_type": associated_data,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


class WeChatPayPeer(LoopbackPeer):
    """WeChat Pay's API at `url`, answering as of `timestamp` (Unix seconds, as text).

    `orders` by out_trade_no are what the query answers (a prepay adds one, NOTPAY); `answers` by `(method, path)`
    (the order query's path is `ORDER_PATH`) give a fixed `(status, payload)` instead; `sign_with` and `serial` sign
    the answers (`sign_with=None`: unsigned); `delay` holds every answer; `prepays` counts prepay ids handed out."""

    def __init__(
        self,
        merchant_public_key: rsa.RSAPublicKey,
        platform_key: rsa.RSAPrivateKey,
        timestamp: str,
        *,
        mchid: str = MCHID,
        merchant_serial: str = MERCHANT_SERIAL,
        apiv3_key: bytes = APIV3_KEY,
    ) -> None:
        super().__init__()
        self.merchant_public_key, self.platform_key, self.timestamp = merchant_public_key, platform_key, timestamp
        self.mchid, self.merchant_serial, self.apiv3_key = mchid, merchant_serial, apiv3_key
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.answers: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}
        self.sign_with: rsa.RSAPrivateKey | None = platform_key
        self.serial = PLATFORM_SERIAL
        self.delay = 0.0
        self.prepays = 0

    def requests(self, method: str, path: str) -> list[PeerRequest]:
        return [r for r in self.received if r.method == method and r.path.startswith(path)]

    def callback(
        self, event_type: str, resource: dict[str, Any], original_type: str = "transaction"
    ) -> tuple[bytes, dict[str, str]]:
        """A callback as WeChat Pay posts it: the resource encrypted with the APIv3 key, the body signed."""
        envelope = {
            "id": "EV-2018022511223320873",
            "create_time": "2026-01-31T10:00:02+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": encrypted(self.apiv3_key, resource, "fdasflkja484", original_type),
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return body, signed_headers(self.platform_key, self.serial, body, self.timestamp, "fdasfjihihihlkja484w")

    def answer(self, request: PeerRequest) -> PeerAnswer:
        if self.delay:
            time.sleep(self.delay)
        if not self._authorized(request):
            self.failures.append(AssertionError(f"the Authorization of {request.method} {request.target} is wrong"))
            return self._signed(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        path = ORDER_PATH if request.path.startswith(ORDER_PATH) else request.path
        fixed = self.answers.get((request.method, path))
        if fixed is not None:
            return self._signed(*fixed)
        body = json.loads(request.body) if request.body else {}
        serve = {
            ("POST", "/v3/pay/transactions/app"): self._prepay,
            ("POST", "/v3/pay/transactions/jsapi"): self._prepay,
            ("GET", ORDER_PATH): lambda _: self._order(request),
            ("POST", "/v3/refund/domestic/refunds"): self._refund,
        }.get((request.method, path))
        if serve is None:
            return self._signed(404, {"code": "NOT_FOUND", "message": f"no {request.method} {request.path}"})
        return self._signed(*serve(body))

    def _authorized(self, request: PeerRequest) -> bool:
        found = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if found is None or (found["mchid"], found["serial"]) != (self.mchid, self.merchant_serial):
            return False
        message = f"{request.method}\n{request.target}\n{found['timestamp']}\n{found['nonce']}\n".encode()
        return rsa2_verifies(self.merchant_public_key, message + request.body + b"\n", found["signature"])

    def _prepay(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("mchid") != self.mchid or not body.get("notify_url"):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        unpaid = {"mchid": self.mchid, "out_trade_no": body["out_trade_no"], "trade_state": "NOTPAY"}
        order = self.orders.setdefault(body["out_trade_no"], {**unpaid, "amount": body["amount"]})
        if order["trade_state"] != "NOTPAY":
            return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
        self.prepays += 1
        return 200, {"prepay_id": f"wx2026013110000{self.prepays:021d}"}

    def _order(self, request: PeerRequest) -> tuple[int, dict[str, Any]]:
        assert request.query == {"mchid": self.mchid}, request.target
        order = self.orders.get(request.path.removeprefix(ORDER_PATH))
        if order is None:
            return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
        return 200, order

    def _refund(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        order = self.orders.get(body["out_trade_no"])
        if order is None or order["trade_state"] not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单状态不正确"}
        if body["amount"]["total"] != order["amount"]["total"]:
            return 400, {"code": "PARAM_ERROR", "message": "订单金额不一致"}
        refund = self.refunds.setdefault(
            body["out_refund_no"],
            {"refund_id": f"5030000038201905270973{len(self.refunds):07d}", "status": "PROCESSING", **body},
        )
        return 200, {"refund_id": refund["refund_id"], "out_refund_no": body["out_refund_no"], "status": "PROCESSING"}

    def _signed(self, status: int, payload: dict[str, Any] | None) -> PeerAnswer:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self.sign_with is not None:
            headers |= signed_headers(self.sign_with, self.serial, body, self.timestamp, "ANSWERNONCE")
        return PeerAnswer(status, body, headers)

"""A local e签宝: checks every v3 request's Content-MD5 and signature (wrong: code 401, as e签宝 refuses), takes the
contract file at the upload URL it hands out, opens sign flows, gives sign and download URLs, serves the signed
file's bytes, and makes the completion callback signed as e签宝 signs it."""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from adapters.esign.esignbao import callback_signature, content_md5, request_signature, string_to_sign
from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

BAD_SIGNATURE = 401
UNKNOWN_FLOW = 1435002


@dataclass
class Flow:
    flow_id: str
    request: dict[str, Any]
    signed_bytes: bytes = b""
    return_url: str = ""
    status: int = 1
    """signFlowStatus: 1 under way, 2 signed, 3 revoked, 5 expired, 7 refused."""


@dataclass
class EsignState:
    files: dict[str, bytes] = field(default_factory=dict)
    expected_md5: dict[str, str] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)


class EsignPeer(LoopbackPeer):
    """e签宝 on loopback for one app (`app_id`, `app_secret`)."""

    def __init__(self, app_id: str = "7438000001", app_secret: str = "peer-app-secret") -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.state = EsignState()

    def answer(self, request: PeerRequest) -> PeerAnswer:
        try:
            return self._answer(request)
        except Exception as error:
            self.failures.append(error)
            return PeerAnswer(500, repr(error).encode())

    def signed_bytes(self, flow_id: str) -> bytes:
        """What the signed file of a flow is: the uploaded PDF with a signature appended."""
        return self.state.flows[flow_id].signed_bytes

    def finish(self, flow_id: str, status: int = 2) -> None:
        """The signer signs (2) or refuses (7), or the flow is revoked (3) or expires (5), at e签宝."""
        self.state.flows[flow_id].status = status

    def callback(
        self, flow_id: str, status: int = 2, *, timestamp_ms: int, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The SIGN_FLOW_COMPLETE callback e签宝 posts to the flow's notifyUrl, and its headers."""
        if flow_id in self.state.flows:
            self.finish(flow_id, status)
        body = json.dumps(
            {
                "action": "SIGN_FLOW_COMPLETE",
                "signFlowId": flow_id,
                "signFlowTitle": "租赁合同",
                "signFlowStatus": status,
                "statusDescription": {2: "完成", 7: "拒签"}.get(status, "结束"),
                "signFlowCreateTime": timestamp_ms - 60_000,
                "signFlowFinishTime": timestamp_ms,
                "timestamp": timestamp_ms,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(timestamp_ms)
        return body, {
            "X-Tsign-Open-App-Id": self.app_id,
            "X-Tsign-Open-SIGNATURE-ALGORITHM": "hmac-sha256",
            "X-Tsign-Open-TIMESTAMP": stamp,
            "X-Tsign-Open-SIGNATURE": callback_signature(secret or self.app_secret, stamp, body),
            "Content-Type": "application/json",
        }

    def _answer(self, request: PeerRequest) -> PeerAnswer:
        if request.path.startswith("/oss/"):
            return self._storage(request)
        if request.path.startswith("/sign/") and request.method == "GET":
            return self._sign_page(request.path.removeprefix("/sign/"))
        if not request.path.startswith("/v3/"):
            return PeerAnswer(404, b"not found")
        refusal = self._refusal(request)
        if refusal:
            self.state.refusals.append(refusal)
            return _answer({"code": BAD_SIGNATURE, "message": refusal, "data": None}, status=401)
        body = json.loads(request.body) if request.body else {}
        if (request.method, request.path) == ("POST", "/v3/files/file-upload-url"):
            file_id = f"file{len(self.state.files) + 1:04d}"
            self.state.files[file_id] = b""
            self.state.expected_md5[file_id] = body["contentMd5"]
            return _ok({"fileId": file_id, "fileUploadUrl": f"{self.url}/oss/upload/{file_id}?Expires=3600&sig=x"})
        if (request.method, request.path) == ("POST", "/v3/sign-flow/create-by-file"):
            file_id = body["docs"][0]["fileId"]
            if not self.state.files.get(file_id):
                return _answer({"code": 1435011, "message": "文件未上传", "data": None})
            flow_id = f"flow{len(self.state.flows) + 1:04d}"
            signed = self.state.files[file_id] + b"%signed by " + flow_id.encode()
            self.state.flows[flow_id] = Flow(flow_id, body, signed)
            return _ok({"signFlowId": flow_id})
        match = re.fullmatch(r"/v3/sign-flow/([^/]+)/(sign-url|file-download-url|detail)", request.path)
        if match is None:
            return _answer({"code": 404, "message": "no such API", "data": None}, status=404)
        flow = self.state.flows.get(match.group(1))
        if flow is None:
            return _answer({"code": UNKNOWN_FLOW, "message": "流程不存在", "data": None})
        if match.group(2) == "detail" and request.method == "GET":
            return _ok({"signFlowId": flow.flow_id, "signFlowStatus": flow.status, "signFlowDescription": ""})
        if match.group(2) == "sign-url" and request.method == "POST":
            if flow.status != 1:
                return _answer({"code": 1437512, "message": "流程已结束", "data": None})
            flow.return_url = body.get("redirectConfig", {}).get("redirectUrl", "")
            url = f"{self.url}/sign/{flow.flow_id}?account={body['operator']['psnAccount']}"
            return _ok({"url": url, "shortUrl": url})
        if match.group(2) == "file-download-url" and request.method == "GET":
            file_id = flow.request["docs"][0]["fileId"]
            url = f"{self.url}/oss/download/{flow.flow_id}?Expires=3600"
            return _ok({"files": [{"fileId": f"{file_id}-signed", "fileName": "contract.pdf", "downloadUrl": url}]})
        return _answer({"code": 405, "message": "method not allowed", "data": None}, status=405)

    def _sign_page(self, flow_id: str) -> PeerAnswer:
        """The signer's page: the flow's title, and the way back the platform asked for."""
        flow = self.state.flows[flow_id]
        title = html.escape(flow.request["signFlowConfig"]["signFlowTitle"])
        page = (
            f"<!doctype html><meta charset=utf-8><title>e签宝</title><h1>{title}</h1>"
            f'<a id="back" href="{html.escape(flow.return_url)}">签署完成，返回</a>'
        )
        return PeerAnswer(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _storage(self, request: PeerRequest) -> PeerAnswer:
        kind, _, name = request.path.removeprefix("/oss/").partition("/")
        if kind == "upload" and request.method == "PUT":
            expected = self.state.expected_md5.get(name)
            if request.headers.get("content-md5") != expected or content_md5(request.body) != expected:
                return PeerAnswer(400, b"Content-MD5 mismatch")
            self.state.files[name] = request.body
            return PeerAnswer(200, b"")
        if kind == "download" and request.method == "GET":
            return PeerAnswer(200, self.signed_bytes(name), {"Content-Type": "application/pdf"})
        return PeerAnswer(404, b"no such object")

    def _refusal(self, request: PeerRequest) -> str:
        headers = request.headers
        if headers.get("x-tsign-open-app-id") != self.app_id:
            return "unknown app id"
        if headers.get("x-tsign-open-auth-mode") != "Signature":
            return "auth mode is not Signature"
        if not headers.get("x-tsign-open-ca-timestamp", "").isdigit():
            return "no timestamp"
        md5 = content_md5(request.body)
        if headers.get("content-md5", "") != md5:
            return "Content-MD5 does not match the body"
        text = string_to_sign(
            request.method, md5, headers.get("content-type", ""), request.target, headers.get("accept", "")
        )
        if headers.get("x-tsign-open-ca-signature") != request_signature(self.app_secret, text):
            return "签名校验失败"
        return ""


def _ok(data: dict[str, Any]) -> PeerAnswer:
    return _answer({"code": 0, "message": "成功", "data": data})


def _answer(document: dict[str, Any], status: int = 200) -> PeerAnswer:
    return PeerAnswer.json(json.dumps(document, ensure_ascii=False), status)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

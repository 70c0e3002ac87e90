"""The e签宝 adapter against a local e签宝 that checks every request's Content-MD5 and signature: the contract goes
up as a PDF, a flow opens for the signer, the sign URL comes back, the callback verifies, and the signed file's
hash is the hash of the bytes e签宝 served."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from adapters.errors import ProviderError, SigningRefused
from adapters.esign.esignbao import (
    SETTINGS,
    EsignConfig,
    EsignError,
    EsignSignature,
    callback_signature,
    content_md5,
    request_signature,
    string_to_sign,
)
from adapters.esign.pdf import text_pdf
from leasecore.clock import SettableClock
from leasecore.ports import InvalidSignature, SigningOutcome
from tests.peers.esign import BAD_SIGNATURE, EsignPeer

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
ORDER = UUID("5b0e7d3c-2f7a-4c53-9a7e-1d2f3c4b5a69")
ID_NUMBER = "11010519491231002X"
TEXT = "Lease agreement for order 5b0e7d3c.\n租赁合同：押金 3000.00 元，首付 329.00 元。"
NOTIFY = "https://lease.example.com/v1/esign/notify/esign"


@pytest.fixture
def peer() -> Iterator[EsignPeer]:
    with EsignPeer() as peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(NOW)


@pytest.fixture
def esign(peer: EsignPeer, clock: SettableClock) -> EsignSignature:
    return EsignSignature(EsignConfig(peer.app_id, peer.app_secret, peer.url, timeout=5), clock=clock)


def start(esign: EsignSignature, return_url: str = "") -> str:
    session = esign.start_signing(ORDER, "张三", ID_NUMBER, "13900000001", TEXT, NOTIFY, return_url)
    assert session.sign_url is not None and not session.completed
    return session.flow_id


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def test_the_string_to_sign_sorts_the_query_and_leaves_date_empty() -> None:
    text = string_to_sign("GET", "", "application/json; charset=UTF-8", "/v3/files?b=2&a=1")
    assert text == "GET\n*/*\n\napplication/json; charset=UTF-8\n\n/v3/files?a=1&b=2"
    assert content_md5(b"") == ""
    assert content_md5(b'{"a":1}') == "u2y1xo30ZSlByvZSo2by2A=="


def test_starting_uploads_the_pdf_opens_a_flow_for_the_signer_and_answers_the_sign_url(
    esign: EsignSignature, peer: EsignPeer
) -> None:
    flow_id = start(esign, return_url="https://lease.example.com/m/orders/1")

    upload, put, create, sign_url = peer.received
    assert [(r.method, r.path) for r in peer.received] == [
        ("POST", "/v3/files/file-upload-url"),
        ("PUT", "/oss/upload/file0001"),
        ("POST", "/v3/sign-flow/create-by-file"),
        ("POST", f"/v3/sign-flow/{flow_id}/sign-url"),
    ]
    assert put.body == text_pdf(TEXT).data and put.body.startswith(b"%PDF-1.4")
    asked = json.loads(upload.body)
    assert (asked["contentMd5"], asked["fileSize"], asked["contentType"]) == (
        content_md5(put.body),
        len(put.body),
        "application/pdf",
    )
    flow = json.loads(create.body)
    signer = flow["signers"][0]["psnSignerInfo"]
    assert signer["psnAccount"] == "13900000001"
    assert signer["psnInfo"] == {"psnName": "张三", "psnIDCardNum": ID_NUMBER, "psnIDCardType": "CRED_PSN_CH_IDCARD"}
    assert flow["signFlowConfig"]["notifyUrl"] == NOTIFY and flow["signFlowConfig"]["autoFinish"] is True
    assert flow["signFlowConfig"]["redirectConfig"] == {"redirectUrl": "https://lease.example.com/m/orders/1"}
    assert json.loads(sign_url.body)["operator"] == {"psnAccount": "13900000001"}
    for request in (upload, create, sign_url):
        assert request.headers["x-tsign-open-ca-timestamp"] == str(ms(NOW))
        assert request.headers["content-md5"] == content_md5(request.body)
    assert peer.state.refusals == []


def test_every_request_is_signed_with_the_app_secret(esign: EsignSignature, peer: EsignPeer) -> None:
    start(esign)
    for request in peer.received:
        if request.path.startswith("/v3/"):
            text = string_to_sign(
                request.method, content_md5(request.body), request.headers["content-type"], request.target
            )
            assert request.headers["x-tsign-open-ca-signature"] == request_signature(peer.app_secret, text)


def test_a_wrong_secret_is_refused_with_esigns_code(esign: EsignSignature, peer: EsignPeer) -> None:
    wrong = EsignSignature(replace(esign.config, app_secret="not-the-secret"), clock=SettableClock(NOW))
    with pytest.raises(EsignError) as refused:
        start(wrong)
    assert refused.value.code == BAD_SIGNATURE and "401" in str(refused.value)
    assert peer.state.refusals == ["签名校验失败"]
    assert peer.state.flows == {}


def test_resuming_asks_a_fresh_url_for_the_same_flow(esign: EsignSignature, peer: EsignPeer) -> None:
    flow_id = start(esign)
    again = esign.resume_signing(flow_id, "13900000001")
    assert again.flow_id == flow_id and again.sign_url is not None
    assert len(peer.state.flows) == 1


def test_an_unknown_flow_is_a_provider_error_naming_the_code(esign: EsignSignature) -> None:
    with pytest.raises(ProviderError, match="1435002"):
        esign.resume_signing("no-such-flow", "13900000001")


def test_the_signed_document_is_the_downloaded_file_and_its_hash(esign: EsignSignature, peer: EsignPeer) -> None:
    flow_id = start(esign)
    document = esign.signed_document(flow_id)
    assert document.document_id == "file0001-signed"
    assert document.sha256 == hashlib.sha256(peer.signed_bytes(flow_id)).hexdigest()
    assert document.url.startswith(peer.url)


@pytest.mark.parametrize(
    ("name", "id_number", "text"),
    [(" ", ID_NUMBER, TEXT), ("张三", "110105194912310021", TEXT), ("张三", ID_NUMBER, "  ")],
)
def test_an_unsignable_contract_is_refused_before_anything_is_sent(
    esign: EsignSignature, peer: EsignPeer, name: str, id_number: str, text: str
) -> None:
    with pytest.raises(SigningRefused):
        esign.start_signing(ORDER, name, id_number, "13900000001", text, NOTIFY)
    assert peer.received == []


def test_a_completion_callback_verifies(esign: EsignSignature, peer: EsignPeer) -> None:
    flow_id = start(esign)
    body, headers = peer.callback(flow_id, timestamp_ms=ms(NOW))
    outcome = esign.verify_callback(body, headers)
    assert (outcome.flow_id, outcome.completed, outcome.final) == (flow_id, True, True)


def test_a_refused_flow_ends_unsigned_with_esigns_words(esign: EsignSignature, peer: EsignPeer) -> None:
    flow_id = start(esign)
    outcome = esign.verify_callback(*peer.callback(flow_id, 7, timestamp_ms=ms(NOW)))
    assert (outcome.completed, outcome.final, outcome.reason) == (False, True, "e签宝: 拒签")


def test_a_step_on_the_way_is_not_final(esign: EsignSignature, peer: EsignPeer) -> None:
    body, headers = peer.callback("flow0001", timestamp_ms=ms(NOW))
    body = body.replace(b"SIGN_FLOW_COMPLETE", b"SIGN_MISSON_COMPLETE")
    headers["X-Tsign-Open-SIGNATURE"] = callback_signature(peer.app_secret, headers["X-Tsign-Open-TIMESTAMP"], body)
    assert esign.verify_callback(body, headers).final is False


def test_a_tampered_callback_is_refused(esign: EsignSignature, peer: EsignPeer) -> None:
    body, headers = peer.callback("flow0001", 7, timestamp_ms=ms(NOW))
    with pytest.raises(InvalidSignature):
        esign.verify_callback(body.replace(b'"signFlowStatus": 7', b'"signFlowStatus": 2'), headers)


def test_a_callback_signed_with_another_secret_is_refused(esign: EsignSignature, peer: EsignPeer) -> None:
    with pytest.raises(InvalidSignature):
        esign.verify_callback(*peer.callback("flow0001", timestamp_ms=ms(NOW), secret="another"))


def test_an_unsigned_callback_is_refused(esign: EsignSignature, peer: EsignPeer) -> None:
    body, _ = peer.callback("flow0001", timestamp_ms=ms(NOW))
    with pytest.raises(InvalidSignature):
        esign.verify_callback(body, {"Content-Type": "application/json"})


def test_a_stale_callback_is_refused(esign: EsignSignature, peer: EsignPeer) -> None:
    with pytest.raises(InvalidSignature, match="too far from now"):
        esign.verify_callback(*peer.callback("flow0001", timestamp_ms=ms(NOW - timedelta(minutes=11))))


def test_the_settings_take_the_secret_from_a_file_and_a_timeout(tmp_path: Path) -> None:
    path = tmp_path / "esign.secret"
    path.write_text("file-secret\n", encoding="utf-8")
    settings = {"app_id": "7438000001", "app_secret_path": str(path), "timeout": "4"}
    assert SETTINGS.problems(settings) == []
    config = EsignConfig.from_settings(settings)
    assert (config.app_secret, config.timeout, config.gateway_url) == ("file-secret", 4.0, "https://openapi.esign.cn")
    assert [name for name, _ in SETTINGS.problems({"app_id": "x"})] == ["app_secret_path"]


def test_the_pdf_is_well_formed_and_its_lines_fit_the_page() -> None:
    pdf = text_pdf("word " * 400 + "\n" + "汉" * 300)
    data = pdf.data
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data[xref:].startswith(b"xref\n")
    assert pdf.pages == 1 and text_pdf("x\n" * 100).pages == 3
    assert text_pdf(TEXT).data == text_pdf(TEXT).data


def test_the_flow_detail_says_where_a_flow_stands(esign: EsignSignature, peer: EsignPeer) -> None:
    flow_id = start(esign)
    under_way = esign.signing_outcome(flow_id)
    assert (under_way.final, under_way.completed) == (False, False)
    peer.finish(flow_id, 7)
    assert esign.signing_outcome(flow_id) == SigningOutcome(
        flow_id, completed=False, reason="e签宝: refused by the signer"
    )
    peer.finish(flow_id, 2)
    assert esign.signing_outcome(flow_id) == SigningOutcome(flow_id, completed=True)
    assert peer.received[-1].method == "GET" and peer.received[-1].path == f"/v3/sign-flow/{flow_id}/detail"

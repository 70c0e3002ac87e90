"""Tencent Cloud identity verification against a local peer that checks every TC3-HMAC-SHA256 signature: the card
read by OCR must be the customer's, the selfie must match at the configured similarity; Tencent's published signing
example; errors and timeouts raising `IdentityProviderError` with Tencent's code, and no call ever retried."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import IdentityProviderError, ProviderError
from adapters.identity import tencent
from adapters.identity.tencent import TencentIdentity, TencentIdentityConfig
from adapters.providers import configuration_problems
from leasecore.clock import SettableClock
from tests.peers import PeerAnswer, PeerRequest
from tests.peers.tencent import TencentPeer

from .conftest import NOW

SECRET_ID = "AKIDleasecoreTEST0000000000000000000"
SECRET_KEY = "leasecore-test-secret-key-000000"
NAME = "王小明"
ID_NUMBER = "11010519491231002X"
CARD = b"\xff\xd8id-card-front"
SELFIE = b"\xff\xd8selfie"


@pytest.fixture(scope="module")
def running_peer() -> Iterator[TencentPeer]:
    """One peer for the module: stopping a loopback server takes half a second."""
    with TencentPeer(SECRET_ID, SECRET_KEY, SettableClock(NOW)) as peer:
        yield peer


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def peer(running_peer: TencentPeer, clock: SettableClock) -> TencentPeer:
    """The module's peer, reading this test's clock, its card and face answering a pass, nothing received yet."""
    running_peer.reset(clock)
    running_peer.card_reads(NAME, ID_NUMBER)
    running_peer.face_answers(92.5)
    return running_peer


def verifier(peer: TencentPeer, clock: SettableClock, **changes: Any) -> TencentIdentity:
    config = replace(TencentIdentityConfig(SECRET_ID, SECRET_KEY, gateway_url=peer.url, timeout=2.0), **changes)
    return TencentIdentity(config, http_client=httpx.Client(), clock=clock)


# Tencent's published example (the signature v3 document: CVM DescribeInstances at 1551113065).

EXAMPLE_PAYLOAD = rb'{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}'
EXAMPLE_CANONICAL = (
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
    "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
)


def test_tencents_published_signing_example_is_reproduced_step_by_step():
    canonical = tencent.canonical_request("cvm.tencentcloudapi.com", EXAMPLE_PAYLOAD)
    assert canonical == EXAMPLE_CANONICAL
    assert tencent.string_to_sign(1551113065, "cvm", canonical) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tencent.authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", 1551113065, "cvm", canonical
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_the_scope_date_is_the_utc_date_even_when_it_is_already_tomorrow_in_china():
    assert tencent.utc_date(1551113065) == "2019-02-25"
    assert tencent.credential_scope(1551113065, "faceid") == "2019-02-25/faceid/tc3_request"


@settings(max_examples=60, deadline=None)
@given(
    request=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=40) | st.integers(), max_size=4),
    seconds=st.integers(min_value=0, max_value=10**9),
    action=st.sampled_from([tencent.ID_CARD_OCR, tencent.IMAGE_RECOGNITION]),
    host=st.sampled_from(["ocr.tencentcloudapi.com", "127.0.0.1:8443", "Gateway.Example.COM"]),
)
def test_whatever_is_sent_the_adapters_signature_is_the_one_tencent_computes(
    running_peer: TencentPeer,
    http: httpx.Client,
    request: dict[str, Any],
    seconds: int,
    action: tencent.Action,
    host: str,
):
    """The peer's step-by-step computation, written from Tencent's document, agrees with the adapter's for any
    payload, instant (around midnight UTC too), service and host."""
    clock = SettableClock(NOW.fromtimestamp(seconds, NOW.tzinfo))
    config = TencentIdentityConfig(SECRET_ID, SECRET_KEY, gateway_url=f"https://{host}")
    payload = json.dumps(request, ensure_ascii=False).encode()
    headers = TencentIdentity(config, http_client=http, clock=clock).headers(action, f"https://{host}", payload)
    received = PeerRequest("POST", "/", {name.lower(): value for name, value in headers.items()}, payload)
    running_peer.clock = clock
    assert running_peer.authentication_problem(received, action.name) is None


# Verification through the peer.


def test_a_card_that_reads_as_typed_and_a_matching_face_verify(peer: TencentPeer, clock: SettableClock):
    check = verifier(peer, clock).verify(f" {NAME} ", ID_NUMBER.lower(), CARD, SELFIE)
    assert (check.verified, check.reason, check.name, check.id_number) == (True, None, NAME, ID_NUMBER)
    assert check.provider == "tencent" and check.valid_until is None
    (ocr, ocr_request), (face, face_request) = peer.calls
    assert (ocr, ocr_request) == ("IDCardOCR", {"ImageBase64": base64.b64encode(CARD).decode(), "CardSide": "FRONT"})
    assert (face, face_request) == (
        "ImageRecognition",
        {"IdCard": ID_NUMBER, "Name": NAME, "ImageBase64": base64.b64encode(SELFIE).decode()},
    )
    assert len(check.reference.split(",")) == 2 and peer.refused == []


def test_every_request_carries_tencents_headers_signed_for_the_gateways_host(peer: TencentPeer, clock: SettableClock):
    verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    requests = peer.loopback.received
    host = peer.url.removeprefix("http://")
    assert [request.headers["host"] for request in requests] == [host, host]
    assert [request.headers["x-tc-action"] for request in requests] == ["IDCardOCR", "ImageRecognition"]
    assert [request.headers["x-tc-version"] for request in requests] == ["2018-11-19", "2018-03-01"]
    assert {request.headers["x-tc-region"] for request in requests} == {"ap-guangzhou"}
    assert {request.headers["x-tc-timestamp"] for request in requests} == {str(int(clock.now().timestamp()))}
    assert [request.headers["authorization"].split("/")[2] for request in requests] == ["ocr", "faceid"]


@pytest.mark.parametrize(("sim", "verified"), [(69.99, False), (70, True), (70.0, True), (100, True)])
def test_the_face_passes_at_the_threshold_and_not_below(
    peer: TencentPeer, clock: SettableClock, sim: float, verified: bool
):
    peer.face_answers(sim)
    assert verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE).verified is verified


def test_a_face_below_a_stricter_threshold_fails_naming_the_similarity(peer: TencentPeer, clock: SettableClock):
    peer.face_answers(75.5)
    check = verifier(peer, clock, sim_threshold=Decimal(80)).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert (check.verified, check.reason) == (False, "selfie does not match the ID card photo (similarity 75.5 < 80)")
    assert check.name == NAME and check.id_number == ID_NUMBER


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("FailedOperation.CompareLowSimilarity", "selfie does not match the ID card photo"),
        ("FailedOperation.IdNameMisMatch", "name and ID number do not match the authority's records"),
        ("FailedOperation.IdNoExistSystem", "ID number is not in the authority's records"),
        ("FailedOperation.LifePhotoDetectFake", "selfie is not of a live person"),
    ],
)
def test_faceids_verdicts_on_the_person_are_failed_checks_whether_result_or_error(
    peer: TencentPeer, clock: SettableClock, code: str, reason: str
):
    peer.face_answers(12.0, result=code, description="不通过")
    assert verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE).reason == reason
    peer.errors["ImageRecognition"] = (code, "不通过")
    check = verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert (check.verified, check.reason) == (False, reason)


def test_a_card_of_someone_else_fails_without_asking_faceid(peer: TencentPeer, clock: SettableClock):
    peer.card_reads("李四", ID_NUMBER)
    check = verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert (check.verified, check.reason) == (False, "the name on the ID card is not the name given")
    assert [action for action, _ in peer.calls] == ["IDCardOCR"]
    peer.card_reads(NAME, "110105194912310011")
    check = verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert (check.verified, check.reason) == (False, "the ID number on the ID card is not the number given")


def test_a_minority_name_read_with_spacing_still_matches(peer: TencentPeer, clock: SettableClock):
    peer.card_reads("买买提 · 艾力", ID_NUMBER)
    assert verifier(peer, clock).verify("买买提·艾力", ID_NUMBER, CARD, SELFIE).verified


def test_an_uncheckable_submission_fails_without_a_billed_call(peer: TencentPeer, clock: SettableClock):
    identity = verifier(peer, clock)
    assert identity.verify("  ", ID_NUMBER, CARD, SELFIE).reason == "name is empty"
    assert identity.verify(NAME, "110105194912310021", CARD, SELFIE).reason == (
        "ID number fails the GB 11643 check digit"
    )
    assert identity.verify(NAME, ID_NUMBER, b"", SELFIE).reason == "ID card image is empty"
    assert identity.verify(NAME, ID_NUMBER, CARD, b"").reason == "selfie image is empty"
    assert peer.loopback.received == []


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("IDCardOCR", "FailedOperation.ImageDecodeFailed"),
        ("IDCardOCR", "FailedOperation.ImageNoIdCard"),
        ("ImageRecognition", "FailedOperation.ImageDecodeFailed"),
        ("ImageRecognition", "UnauthorizedOperation.Arrears"),
    ],
)
def test_an_error_about_the_request_raises_naming_tencents_code(
    peer: TencentPeer, clock: SettableClock, action: str, code: str
):
    peer.errors[action] = (code, "图片解码失败")
    with pytest.raises(IdentityProviderError) as raised:
        verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert raised.value.code == code and isinstance(raised.value, ProviderError)
    assert str(raised.value).startswith(f"Tencent Cloud {action} failed: {code}: 图片解码失败 (RequestId ")
    assert ID_NUMBER not in str(raised.value)


def test_an_error_message_echoing_the_id_number_is_not_passed_on(peer: TencentPeer, clock: SettableClock):
    peer.errors["ImageRecognition"] = ("InvalidParameterValue", f"IdCard {ID_NUMBER} is not accepted")
    with pytest.raises(IdentityProviderError) as raised:
        verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert "IdCard … is not accepted" in str(raised.value) and ID_NUMBER not in str(raised.value)


def test_an_unknown_business_result_is_an_error_not_a_verdict(peer: TencentPeer, clock: SettableClock):
    peer.face_answers(0, result="FailedOperation.LifePhotoDetectNoFaces", description="未能检测到完整人脸")
    with pytest.raises(IdentityProviderError) as raised:
        verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert raised.value.code == "FailedOperation.LifePhotoDetectNoFaces"


def test_a_wrong_secret_key_is_refused_by_tencents_signature_check(peer: TencentPeer, clock: SettableClock):
    with pytest.raises(IdentityProviderError) as raised:
        verifier(peer, clock, secret_key="not-the-shared-secret").verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert raised.value.code == "AuthFailure.SignatureFailure"
    assert peer.refused == ["AuthFailure.SignatureFailure"] and peer.calls == []


def test_the_peer_refuses_a_request_altered_after_it_was_signed(peer: TencentPeer, clock: SettableClock):
    identity = verifier(peer, clock)
    payload = json.dumps({"ImageBase64": "AAAA", "CardSide": "FRONT"}).encode()
    headers = identity.headers(tencent.ID_CARD_OCR, peer.url, payload)
    honest = httpx.post(peer.url, content=payload, headers=headers)
    altered = httpx.post(peer.url, content=payload.replace(b"FRONT", b"BACK"), headers=headers)
    assert "Error" not in honest.json()["Response"]
    assert altered.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_a_stale_clock_is_refused_as_an_expired_signature(peer: TencentPeer, clock: SettableClock):
    behind = SettableClock(clock.now().replace(year=2025))
    with pytest.raises(IdentityProviderError) as raised:
        verifier(peer, behind).verify(NAME, ID_NUMBER, CARD, SELFIE)
    assert raised.value.code == "AuthFailure.SignatureExpire"


def test_a_slow_answer_times_out_once_and_is_not_retried(clock: SettableClock):
    with TencentPeer(SECRET_ID, SECRET_KEY, clock, delay=1.0) as slow:
        slow.card_reads(NAME, ID_NUMBER)
        with pytest.raises(IdentityProviderError) as raised:
            verifier(slow, clock, timeout=0.2).verify(NAME, ID_NUMBER, CARD, SELFIE)
        assert raised.value.code == "Timeout"
        assert str(raised.value) == "Tencent Cloud IDCardOCR did not answer within 0.2s"
        assert len(slow.loopback.received) == 1


def test_an_unreachable_gateway_or_an_answer_without_json_raises(peer: TencentPeer, clock: SettableClock):
    with pytest.raises(IdentityProviderError, match="IDCardOCR is unreachable"):
        verifier(peer, clock, gateway_url="http://127.0.0.1:9").verify(NAME, ID_NUMBER, CARD, SELFIE)
    peer.loopback.routes[("POST", "/")] = lambda request: PeerAnswer(502, b"<html>bad gateway</html>")
    with pytest.raises(IdentityProviderError, match="answered HTTP 502 without JSON"):
        verifier(peer, clock).verify(NAME, ID_NUMBER, CARD, SELFIE)


# Settings.


def settings(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    (tmp_path / "tencent.secret").write_text(SECRET_KEY + "\n")
    given = {"secret_id": SECRET_ID, "secret_key_path": str(tmp_path / "tencent.secret"), **changes}
    return {name: value for name, value in given.items() if value is not None}


def test_settings_read_the_secret_from_its_file_and_default_the_rest(tmp_path: Path):
    config = TencentIdentityConfig.from_settings(settings(tmp_path))
    assert (config.secret_id, config.secret_key, config.region) == (SECRET_ID, SECRET_KEY, "ap-guangzhou")
    assert config.sim_threshold == Decimal(70)
    assert config.url(tencent.ID_CARD_OCR) == "https://ocr.tencentcloudapi.com"
    assert config.url(tencent.IMAGE_RECOGNITION) == "https://faceid.tencentcloudapi.com"


def test_a_configured_gateway_serves_every_service(tmp_path: Path):
    config = TencentIdentityConfig.from_settings(
        settings(tmp_path, gateway_url="http://127.0.0.1:8080", region="ap-shanghai", sim_threshold="80.5")
    )
    assert {config.url(tencent.ID_CARD_OCR), config.url(tencent.IMAGE_RECOGNITION)} == {"http://127.0.0.1:8080"}
    assert (config.region, config.sim_threshold) == ("ap-shanghai", Decimal("80.5"))


@pytest.mark.parametrize("threshold", ["high", "101", "-1", "NaN"])
def test_a_threshold_that_is_not_a_similarity_is_refused(tmp_path: Path, threshold: str):
    with pytest.raises(ValueError, match="sim_threshold"):
        TencentIdentityConfig.from_settings(settings(tmp_path, sim_threshold=threshold))


def test_the_production_check_names_a_missing_key_and_passes_a_complete_one(tmp_path: Path):
    payments = {"cashier": {"kind": "sandbox"}}
    assert configuration_problems({"payments": payments, "identity": settings(tmp_path)}) == []
    incomplete = {"secret_id": SECRET_ID, "sim_treshold": "80"}
    assert configuration_problems({"payments": payments, "identity": incomplete}) == [
        "identity.secret_key_path: missing",
        "identity.sim_treshold: unknown setting (did you mean sim_threshold?)",
    ]
    assert configuration_problems({"payments": payments, "identity": {"kind": "faceplusplus"}}) == [
        "identity: unknown kind 'faceplusplus' (known: tencent)"
    ]

"""Production mode with Tencent Cloud identity configured: a configuration missing its secret is refused before the
database opens; a complete one wires it in place of the sandbox, and a customer is verified through it end to end
(over HTTP, against a local peer that checks every signature), the events saying which provider and request."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.identity.tencent import TencentIdentity
from adapters.providers import ProviderConfigurationError
from api.bootstrap import Service, Settings, build_service
from api.http.app import create_app
from api.web.mobile.frame import COOKIE, CUSTOMER
from api.web.sessions import WebSessions
from leasecore.clock import SystemClock
from leasecore.credit.customer import Customer
from tests.peers.tencent import TencentPeer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET_ID = "AKIDleasecoreINTEGRATION000000000000"
SECRET_KEY = "leasecore-integration-secret-0000"
NAME = "韩梅梅"
ID_NUMBER = "11010519491231002X"
PAYMENTS = {"cashier": {"kind": "sandbox"}}
JPEG = b"\xff\xd8\xff\xe0 a photo"


def identity(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    (tmp_path / "tencent.secret").write_text(SECRET_KEY)
    return {"secret_id": SECRET_ID, "secret_key_path": str(tmp_path / "tencent.secret"), **changes}


@pytest.fixture
def peer() -> Iterator[TencentPeer]:
    with TencentPeer(SECRET_ID, SECRET_KEY, SystemClock()) as peer:
        peer.card_reads(NAME, ID_NUMBER)
        peer.face_answers(88.0)
        yield peer


@pytest.fixture
def service(tmp_path: Path, sqlite_url: str, peer: TencentPeer) -> Iterator[Service]:
    providers = {"payments": PAYMENTS, "identity": identity(tmp_path, gateway_url=peer.url)}
    service = build_service(Settings(database_url=sqlite_url, mode="production", providers=providers))
    try:
        yield service
    finally:
        service.close()


def test_production_refuses_identity_without_its_secret_naming_the_setting(tmp_path: Path):
    database = tmp_path / "leasecore.db"
    providers = {"payments": PAYMENTS, "identity": {"secret_id": SECRET_ID}}
    settings = Settings(database_url=f"sqlite:///{database}", mode="production", providers=providers)
    with pytest.raises(ProviderConfigurationError) as refused:
        build_service(settings)
    assert refused.value.problems == ["identity.secret_key_path: missing"]
    assert not database.exists()


def test_configured_identity_replaces_the_sandbox_and_leaves_the_warning(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
):
    providers = {"payments": PAYMENTS, "identity": identity(tmp_path)}
    with caplog.at_level(logging.WARNING, logger="api.bootstrap"):
        service = build_service(Settings(database_url=sqlite_url, mode="production", providers=providers))
    try:
        assert isinstance(service.app.identity, TencentIdentity)
    finally:
        service.close()
    assert caplog.records[0].getMessage() == (
        "production mode: payments.cashier, sms, bureau, logistics, esign still on the local sandbox "
        "(no real provider configured)"
    )


def test_a_customer_is_verified_over_http_through_tencent(service: Service, peer: TencentPeer):
    customer_id = service.app.register_customer("13900000001")
    token, _ = service.tokens.for_customer(customer_id)
    http = TestClient(create_app(service), raise_server_exceptions=False)
    submission = {"name": NAME, "id_number": ID_NUMBER, "id_card_image": "aWQ=", "selfie_image": "bWU="}
    answer = http.post("/v1/me/identity", json=submission, headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()) == (200, {"status": "verified", "reason": None})
    assert [action for action, _ in peer.calls] == ["IDCardOCR", "ImageRecognition"]
    assert peer.calls[0][1]["ImageBase64"] == "aWQ=" and peer.calls[1][1]["ImageBase64"] == "bWU="
    registered, verified = service.app.events.get(customer_id)
    assert isinstance(registered, Customer.Registered) and isinstance(verified, Customer.IdentityVerified)
    assert (verified.name, verified.id_number, verified.provider) == (NAME, ID_NUMBER, "tencent")
    assert verified.reference.count(",") == 1


def test_a_face_that_does_not_match_is_rejected_and_a_provider_error_is_a_502(service: Service, peer: TencentPeer):
    customer_id = service.app.register_customer("13900000002")
    token, _ = service.tokens.for_customer(customer_id)
    http = TestClient(create_app(service), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"}
    submission = {"name": NAME, "id_number": ID_NUMBER, "id_card_image": "aWQ=", "selfie_image": "bWU="}
    peer.face_answers(41.0)
    answer = http.post("/v1/me/identity", json=submission, headers=headers)
    reason = "selfie does not match the ID card photo (similarity 41.0 < 70)"
    assert (answer.status_code, answer.json()) == (200, {"status": "rejected", "reason": reason})
    peer.errors["IDCardOCR"] = ("FailedOperation.ImageDecodeFailed", "图片解码失败")
    answer = http.post("/v1/me/identity", json=submission, headers=headers)
    assert answer.status_code == 502 and "FailedOperation.ImageDecodeFailed" in answer.text
    assert ID_NUMBER not in answer.text
    events = list(service.app.events.get(customer_id))
    assert [type(event) for event in events] == [Customer.Registered, Customer.IdentityRejected]
    assert (events[1].reason, events[1].provider) == (reason, "tencent")


def test_the_mobile_screen_shows_over_the_form_that_the_provider_could_not_check(service: Service, peer: TencentPeer):
    customer_id = service.app.register_customer("13900000003")
    session_id, session = WebSessions(service.store, SystemClock()).open(f"{CUSTOMER}{customer_id}")
    http = TestClient(create_app(service), raise_server_exceptions=False, cookies={COOKIE: session_id})
    peer.errors["IDCardOCR"] = ("FailedOperation.ImageBlur", "图片模糊")
    form = {"csrf": session.csrf_token, "name": NAME, "id_number": ID_NUMBER, "next": ""}
    photos = {"id_card_image": ("card.jpg", JPEG), "selfie_image": ("me.jpg", JPEG)}
    page = http.post("/m/me/identity", data=form, files=photos)
    assert page.status_code == 502 and 'data-testid="identity-unchecked"' in page.text
    assert "FailedOperation.ImageBlur" in page.text and 'data-testid="identity-form"' in page.text
    assert [type(event) for event in service.app.events.get(customer_id)] == [Customer.Registered]
    del peer.errors["IDCardOCR"]
    http.post("/m/me/identity", data=form, files=photos)
    assert service.app.customer(customer_id).is_verified

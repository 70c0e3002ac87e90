"""Production mode wired to local peers that speak Aliyun SMS, Sesame credit (the Alipay open platform) and WeChat
Pay, each by its `gateway_url` as a real deployment configures it: a login code goes out through Aliyun, a score
is asked of Sesame; a provider's refusal answers 502 naming the provider's own code; and no secret (the private
key, the APIv3 key, the SMS secret), inline in the configuration or in a file, ever reaches a log record."""

from __future__ import annotations

import json
import logging
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.keys import generate_private_key, private_key_pem, public_key_pem
from api.bootstrap import Service, Settings, build_service
from api.http.app import create_app
from leasecore.staff import Role
from tests.peers.aliyun_sms import AliyunSmsPeer
from tests.peers.wechatpay import APIV3_KEY, APPID, MCHID, MERCHANT_SERIAL, PLATFORM_SERIAL, WeChatPayPeer
from tests.peers.zhima import ZhimaPeer
from tests.support import CREDIT_LEVELS, SCORING_RULES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SMS_SECRET = "Zx81-aliyun-secret-never-logged"
SMS_KEY_ID = "LTAI5tPeerIntegration"
PHONE = "13900000001"
ID_NUMBER = "11010519491231002X"


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: generate_private_key() for name in ("app", "alipay", "merchant", "platform")}


@pytest.fixture
def sms() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(SMS_KEY_ID, SMS_SECRET) as peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def sesame(keys: dict[str, rsa.RSAPrivateKey]) -> Iterator[ZhimaPeer]:
    with ZhimaPeer(keys["app"].public_key(), keys["alipay"]) as peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def wechat(keys: dict[str, rsa.RSAPrivateKey]) -> Iterator[WeChatPayPeer]:
    with WeChatPayPeer(keys["merchant"].public_key(), keys["platform"], str(int(time.time()))) as peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def providers(
    tmp_path: Path, keys: dict[str, rsa.RSAPrivateKey], sms: AliyunSmsPeer, sesame: ZhimaPeer, wechat: WeChatPayPeer
) -> dict[str, Any]:
    """Secrets both ways: the Alipay app key and the SMS secret inline, the WeChat Pay merchant key in a file."""
    (tmp_path / "merchant.pem").write_bytes(private_key_pem(keys["merchant"]))
    return {
        "payments": {
            "wechatpay": {
                "mchid": MCHID,
                "appid": APPID,
                "merchant_serial_no": MERCHANT_SERIAL,
                "merchant_private_key_path": str(tmp_path / "merchant.pem"),
                "platform_serial_no": PLATFORM_SERIAL,
                "platform_public_key": public_key_pem(keys["platform"].public_key()).decode(),
                "apiv3_key": APIV3_KEY.decode(),
                "gateway_url": wechat.url,
                "timeout": "2",
            }
        },
        "sms": {
            "access_key_id": SMS_KEY_ID,
            "access_key_secret": SMS_SECRET,
            "sign_name": "leasecore",
            "template_code": "SMS_154950909",
            "gateway_url": sms.endpoint,
            "timeout": "2",
        },
        "bureau": {
            "app_id": "2021004100000002",
            "app_private_key": private_key_pem(keys["app"]).decode(),
            "alipay_public_key": public_key_pem(keys["alipay"].public_key()).decode(),
            "gateway_url": sesame.gateway_url,
            "timeout": "2",
        },
    }


@pytest.fixture
def service(sqlite_url: str, providers: dict[str, Any]) -> Iterator[Service]:
    service = build_service(Settings(database_url=sqlite_url, mode="production", providers=providers))
    try:
        yield service
    finally:
        service.close()


def configured(service: Service, http: TestClient) -> None:
    """The scoring and credit documents a score is read by."""
    token, _ = service.tokens.for_staff("tester", [Role.ADMIN])
    admin = {"Authorization": f"Bearer {token}"}
    for name, document in (("scoring-rules", SCORING_RULES), ("credit-levels", CREDIT_LEVELS)):
        assert http.put(f"/v1/admin/config/{name}", json=document, headers=admin).status_code == 200


def logged_in(service: Service, http: TestClient, sms: AliyunSmsPeer) -> dict[str, str]:
    """A customer logged in with the code Aliyun was asked to text, verified by the (sandbox) identity check."""
    configured(service, http)
    assert http.post("/v1/auth/otp", json={"phone": PHONE}).status_code == 202
    phone, template, _ = sms.sent[-1]
    code = re.search(r"\b(\d{6})\b", json.loads(template)["content"])
    assert phone == PHONE and code is not None
    token = http.post("/v1/auth/login", json={"phone": PHONE, "code": code.group(1)}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    identity = {"name": "Han Meimei", "id_number": ID_NUMBER, "id_card_image": "aWQ=", "selfie_image": "bWU="}
    assert http.post("/v1/me/identity", json=identity, headers=headers).status_code == 200
    return headers


def test_a_score_is_asked_of_sesame_and_its_refusal_answers_502_naming_alipays_sub_code(
    service: Service, sms: AliyunSmsPeer, sesame: ZhimaPeer
) -> None:
    http = TestClient(create_app(service), raise_server_exceptions=False)
    headers = logged_in(service, http, sms)

    refused = http.post("/v1/me/credit", json={}, headers=headers)

    assert refused.status_code == 502, refused.text
    assert refused.status_code == 502 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/provider-error"
    assert "ZMCREDIT.authentication_fail" in refused.json()["detail"]

    sesame.scores[ID_NUMBER] = 720
    assert http.post("/v1/me/credit", json={}, headers=headers).json()["score"] == 720
    assert [biz["cert_no"] for biz in sesame.calls("zhima.credit.score.get")] == [ID_NUMBER, ID_NUMBER]


def test_aliyun_refusing_a_login_code_answers_502_naming_its_code(service: Service, sms: AliyunSmsPeer) -> None:
    sms.refuse = ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
    http = TestClient(create_app(service), raise_server_exceptions=False)

    refused = http.post("/v1/auth/otp", json={"phone": PHONE})

    assert refused.status_code == 502 and "isv.BUSINESS_LIMIT_CONTROL" in refused.json()["detail"]


def test_no_secret_reaches_a_log_record_through_start_up_and_provider_calls(
    sqlite_url: str,
    providers: dict[str, Any],
    keys: dict[str, rsa.RSAPrivateKey],
    sms: AliyunSmsPeer,
    sesame: ZhimaPeer,
    wechat: WeChatPayPeer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = [SMS_SECRET, APIV3_KEY.decode()] + [_pem_body(private_key_pem(key)) for key in keys.values()]
    sesame.scores[ID_NUMBER] = 720
    with caplog.at_level(logging.DEBUG):
        service = build_service(Settings(database_url=sqlite_url, mode="production", providers=providers))
        try:
            http = TestClient(create_app(service), raise_server_exceptions=False)
            headers = logged_in(service, http, sms)
            assert http.post("/v1/me/credit", json={}, headers=headers).status_code == 200
            sms.refuse = ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控")
            assert http.post("/v1/auth/otp", json={"phone": "13900000002"}).status_code == 502
            gateway = service.app.gateways["wechatpay"]
            assert gateway.query_payment("5f0c8a3e-8f7e-4a6b-9a55-2b1e0c8d7f10").state.value == "not_paid"
        finally:
            service.close()
    logged = [_everything(record) for record in caplog.records]
    assert any(SMS_KEY_ID in text for text in logged), "the capture saw the calls to the providers logged"
    leaked = [(secret[:12], text[:80]) for text in logged for secret in secrets if secret in text]
    assert leaked == []


def _pem_body(pem: bytes) -> str:
    """A long run from the middle of the key's base64: enough to be found in any text that quotes the key."""
    lines = [line for line in pem.decode().splitlines() if not line.startswith("-----")]
    return "".join(lines)[64:128]


def _everything(record: logging.LogRecord) -> str:
    """What a handler could write of the record: its message, its arguments, its traceback and any extras."""
    plain = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
    extras = {key: value for key, value in record.__dict__.items() if key not in plain}
    trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    return "\n".join([record.getMessage(), repr(record.args), trace, record.exc_text or "", repr(extras)])

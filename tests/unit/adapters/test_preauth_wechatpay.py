"""WeChat Pay Score (微信支付分) as a deposit freeze, against a local WeChat Pay peer: the service order made with
the deposit as its risk fund, the confirm callback verified and decrypted, the order completed with what is taken
(releasing the rest) or cancelled; the peer checks every request's merchant signature and signs its answers, and a
call asked again finds the order as the first call left it."""

from __future__ import annotations

import json
import re
from decimal import Decimal as D
from typing import Any
from urllib.parse import parse_qsl

import pytest

from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from leasecore.ports import DepositFreezer, InvalidSignature
from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

from .conftest import NOW
from .fakes import rsa2_verifies, wechat_resource, wechat_signed_headers

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
SERVICE_ID = "500001000000000000000000000000000"
MERCHANT_SERIAL = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
APIV3_KEY = b"0123456789abcdefghijABCDEFGHIJ!!"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/wechatpay"
REF = "fz" + "0" * 32
TIMESTAMP = str(int(NOW.timestamp()))
AUTHORIZATION = re.compile(
    r'WECHATPAY2-SHA256-RSA2048 mchid="(?P<mchid>[^"]+)",nonce_str="(?P<nonce>[^"]+)",'
    r'signature="(?P<signature>[^"]+)",timestamp="(?P<timestamp>[^"]+)",serial_no="(?P<serial>[^"]+)"'
)


class PayScorePeer:
    """WeChat Pay's Pay Score service orders: each request's merchant signature checked, each answer signed by the
    platform key; an order is made once per out_order_no, confirmed by the customer, then completed or cancelled."""

    def __init__(self, merchant_key: Any, platform_key: Any) -> None:
        self.merchant_key, self.platform_key = merchant_key, platform_key
        self.orders: dict[str, dict[str, Any]] = {}
        self.peer = LoopbackPeer(
            {
                ("POST", "/v3/payscore/serviceorder"): self.create,
                ("GET", "/v3/payscore/serviceorder"): self.query,
                ("POST", f"/v3/payscore/serviceorder/{REF}/complete"): self.complete,
                ("POST", f"/v3/payscore/serviceorder/{REF}/cancel"): self.cancel,
            }
        )

    def answer(self, status: int, payload: dict[str, Any]) -> PeerAnswer:
        body = json.dumps(payload).encode()
        return PeerAnswer(status, body, wechat_signed_headers(self.platform_key, PLATFORM_SERIAL, body, TIMESTAMP, "N"))

    def checked(self, request: PeerRequest) -> dict[str, Any]:
        fields = AUTHORIZATION.fullmatch(request.headers["authorization"])
        assert fields is not None and (fields["mchid"], fields["serial"]) == (MCHID, MERCHANT_SERIAL)
        message = f"{request.method}\n{request.target}\n{fields['timestamp']}\n{fields['nonce']}\n".encode()
        assert rsa2_verifies(self.merchant_key.public_key(), message + request.body + b"\n", fields["signature"])
        return json.loads(request.body) if request.body else {}

    def create(self, request: PeerRequest) -> PeerAnswer:
        body = self.checked(request)
        assert (body["appid"], body["service_id"], body["risk_fund"]["name"]) == (APPID, SERVICE_ID, "DEPOSIT")
        assert body["need_user_confirm"] is True and body["notify_url"] == NOTIFY_URL
        if body["out_order_no"] in self.orders:
            return self.answer(400, {"code": "ORDER_ALREADY_EXISTS", "message": "the order exists"})
        self.orders[body["out_order_no"]] = {
            "appid": APPID,
            "mchid": MCHID,
            "service_id": SERVICE_ID,
            "out_order_no": body["out_order_no"],
            "order_id": "1000000000201912000000000001",
            "state": "CREATED",
            "risk_fund": body["risk_fund"],
            "package": "DJIOSQPYWDxsjdldeskdsflsdk",
        }
        return self.answer(200, self.orders[body["out_order_no"]])

    def query(self, request: PeerRequest) -> PeerAnswer:
        self.checked(request)
        order = self.orders.get(request.query["out_order_no"])
        if order is None or request.query["service_id"] != SERVICE_ID:
            return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "no such order"})
        return self.answer(200, order)

    def complete(self, request: PeerRequest) -> PeerAnswer:
        body = self.checked(request)
        order = self.orders[REF]
        if order["state"] != "DOING":
            return self.answer(400, {"code": "INVALID_REQUEST", "message": f"the order is {order['state']}"})
        charged = sum(payment["amount"] for payment in body["post_payments"])
        assert charged == body["total_amount"] <= order["risk_fund"]["amount"]
        order.update(state="DONE", total_amount=body["total_amount"])
        return self.answer(200, order)

    def cancel(self, request: PeerRequest) -> PeerAnswer:
        body = self.checked(request)
        assert body["reason"]
        self.orders[REF]["state"] = "REVOKED"
        return self.answer(200, {"out_order_no": REF, "order_id": self.orders[REF]["order_id"]})

    def confirm(self) -> tuple[bytes, dict[str, str]]:
        """The customer confirms: the order runs, and the callback goes out encrypted and signed."""
        order = self.orders[REF]
        order["state"] = "DOING"
        envelope = {
            "id": "EV-2018022511223320873",
            "create_time": "2026-01-31T10:00:05+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "PAYSCORE.USER_CONFIRM",
            "resource": wechat_resource(
                APIV3_KEY, {**order, "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "0a1b2c3d4e5f", "payscore"
            ),
        }
        body = json.dumps(envelope).encode()
        return body, wechat_signed_headers(self.platform_key, PLATFORM_SERIAL, body, TIMESTAMP, "CALLBACK")


@pytest.fixture
def wechat(merchant_key, provider_key):
    peer = PayScorePeer(merchant_key, provider_key)
    with peer.peer:
        yield peer
    assert peer.peer.failures == []


@pytest.fixture
def gateway(wechat, merchant_key, provider_key, clock):
    config = WeChatPayConfig(
        mchid=MCHID,
        appid=APPID,
        merchant_serial_no=MERCHANT_SERIAL,
        merchant_private_key_pem=private_key_pem(merchant_key).decode(),
        platform_public_keys={PLATFORM_SERIAL: public_key_pem(provider_key.public_key()).decode()},
        apiv3_key=APIV3_KEY.decode(),
        base_url=wechat.peer.url,
        payscore_service_id=SERVICE_ID,
    )
    return WeChatPayGateway(config, clock=clock)


def test_a_service_order_holds_the_deposit_as_its_risk_fund_and_the_app_confirms_its_package(gateway, wechat):
    assert isinstance(gateway, DepositFreezer)
    request = gateway.create_freeze(REF, D("2000.00"), "deposit of a phone", NOTIFY_URL)
    assert wechat.orders[REF]["risk_fund"] == {"name": "DEPOSIT", "amount": 200000}
    query = dict(parse_qsl(request.pay_params["query"]))
    assert (request.pay_params["businessType"], query["package"], query["mch_id"]) == (
        "wxpayScoreUse",
        "DJIOSQPYWDxsjdldeskdsflsdk",
        MCHID,
    )
    again = gateway.create_freeze(REF, D("2000.00"), "deposit of a phone", NOTIFY_URL)
    assert dict(parse_qsl(again.pay_params["query"]))["package"] == query["package"] and len(wechat.orders) == 1
    assert gateway.query_freeze(REF) is None


def test_the_confirm_callback_is_verified_decrypted_and_read_as_the_risk_fund_frozen(gateway, wechat):
    gateway.create_freeze(REF, D("2000.00"), "deposit", NOTIFY_URL)
    body, headers = wechat.confirm()
    frozen = gateway.freeze_notification(body, headers)
    assert frozen is not None
    assert (frozen.out_request_no, frozen.auth_no, frozen.operation_id) == (REF, REF, "1000000000201912000000000001")
    assert (frozen.amount, frozen.fund_amount, frozen.credit_amount) == (D("2000.00"), D("2000.00"), D("0.00"))
    assert gateway.query_freeze(REF) == frozen.__class__(**{**frozen.__dict__, "frozen_at": NOW, "raw": {}})
    with pytest.raises(InvalidSignature):
        gateway.freeze_notification(body.replace(b"PAYSCORE", b"PAYSC0RE"), headers)


def test_a_payment_callback_is_not_a_freeze(gateway, provider_key):
    body = json.dumps({"event_type": "TRANSACTION.SUCCESS", "resource": {}}).encode()
    assert (
        gateway.freeze_notification(body, wechat_signed_headers(provider_key, PLATFORM_SERIAL, body, TIMESTAMP, "N"))
        is None
    )


def test_taking_damage_completes_the_order_once_and_the_unfreeze_after_it_has_nothing_to_do(gateway, wechat):
    gateway.create_freeze(REF, D("2000.00"), "deposit", NOTIFY_URL)
    wechat.confirm()
    for _ in range(2):
        taken = gateway.take_from_freeze(REF, "ft-1", D("400.00"), "damage and arrears", completes=False)
        released = gateway.unfreeze(REF, "fu-2", D("1600.00"), "deposit released")
    assert (taken.accepted, released.accepted) == (True, True)
    assert (wechat.orders[REF]["state"], wechat.orders[REF]["total_amount"]) == ("DONE", 40000)
    completes = [r for r in wechat.peer.received if r.path.endswith("/complete")]
    assert [r.path.endswith("/cancel") for r in wechat.peer.received].count(True) == 0 and len(completes) == 2


def test_an_unfreeze_of_a_running_order_cancels_it_once(gateway, wechat):
    gateway.create_freeze(REF, D("2000.00"), "deposit", NOTIFY_URL)
    wechat.confirm()
    for _ in range(2):
        assert gateway.unfreeze(REF, "fu-0", D("2000.00"), "order cancelled").accepted
    assert wechat.orders[REF]["state"] == "REVOKED"
    assert [r.path.endswith("/cancel") for r in wechat.peer.received].count(True) == 1


def test_a_merchant_without_a_pay_score_service_does_not_freeze_deposits(wechat, merchant_key, provider_key, clock):
    config = WeChatPayConfig(
        mchid=MCHID,
        appid=APPID,
        merchant_serial_no=MERCHANT_SERIAL,
        merchant_private_key_pem=private_key_pem(merchant_key).decode(),
        platform_public_keys={PLATFORM_SERIAL: public_key_pem(provider_key.public_key()).decode()},
        apiv3_key=APIV3_KEY.decode(),
        base_url=wechat.peer.url,
    )
    assert not WeChatPayGateway(config, clock=clock).freezes_deposits

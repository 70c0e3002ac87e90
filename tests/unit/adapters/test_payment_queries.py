"""Asking a provider where a payment stands, for when its notification was lost: Alipay's alipay.trade.query,
WeChat Pay's order query by out_trade_no, and the sandbox's own records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay import AlipayConfig, AlipayGateway
from adapters.payments.sandbox import SandboxPayments
from adapters.payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from leasecore.ports import InvalidSignature, PaymentQuery, PaymentState
from tests.peers.alipay import AlipayPeer
from tests.peers.wechatpay import ORDER_PATH, WeChatPayPeer

from .conftest import NOW
from .fakes import rsa2_verifies

APP_ID = "2021004100000001"
QUERY = "alipay.trade.query"
MCHID = "1900009191"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
PAYMENT_ID = "5f0c8a3e-8f7e-4a6b-9a55-2b1e0c8d7f10"
TRADE_NO = "2026013122001404011000123456"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/sandbox"


# Alipay: alipay.trade.query.


@pytest.fixture
def alipay_peer(merchant_key, provider_key) -> Iterator[AlipayPeer]:
    peer = AlipayPeer(merchant_key.public_key(), provider_key, APP_ID)
    with peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def alipay_config(merchant_key, provider_key, alipay_peer):
    return AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url=alipay_peer.gateway_url,
        timeout=0.5,
    )


def alipay(config, clock, peer: AlipayPeer, answer: dict[str, Any], key=None) -> AlipayGateway:
    """The gateway, the peer answering the query with `answer` signed by `key` (Alipay's own unless told)."""
    peer.answers[QUERY] = answer
    peer.sign_with = key or peer.alipay_key
    return AlipayGateway(config, clock=clock)


def trade(status: str, **more: str) -> dict[str, str]:
    return {"code": "10000", "msg": "Success", "out_trade_no": PAYMENT_ID, "trade_status": status, **more}


PAID_TRADE = trade("TRADE_SUCCESS", trade_no=TRADE_NO, total_amount="1299.00", send_pay_date="2026-01-31 10:00:01")


def test_alipay_is_asked_with_a_signed_trade_query_by_out_trade_no(alipay_config, clock, alipay_peer, merchant_key):
    answer = alipay(alipay_config, clock, alipay_peer, PAID_TRADE).query_payment(PAYMENT_ID)

    (request,) = alipay_peer.received
    params = request.form
    assert (request.path, params["method"], params["app_id"]) == ("/gateway.do", QUERY, APP_ID)
    assert json.loads(params["biz_content"]) == {"out_trade_no": PAYMENT_ID}
    signed = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
    assert rsa2_verifies(merchant_key.public_key(), signed.encode(), params["sign"])
    paid_at = datetime(2026, 1, 31, 2, 0, 1, tzinfo=UTC)
    assert answer == PaymentQuery(PAYMENT_ID, "alipay", PaymentState.PAID, TRADE_NO, D("1299.00"), paid_at)
    assert answer.paid_at == paid_at


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("TRADE_FINISHED", PaymentState.PAID),
        ("WAIT_BUYER_PAY", PaymentState.NOT_PAID),
        ("TRADE_CLOSED", PaymentState.CLOSED),
    ],
)
def test_alipays_trade_status_says_paid_not_paid_or_closed(alipay_config, clock, alipay_peer, status, state):
    answer = trade(status, trade_no=TRADE_NO, total_amount="10.00", send_pay_date="2026-01-31 10:00:01")

    assert alipay(alipay_config, clock, alipay_peer, answer).query_payment(PAYMENT_ID).state is state


def test_a_trade_alipay_does_not_know_was_never_paid(alipay_config, clock, alipay_peer):
    missing = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}

    answer = alipay(alipay_config, clock, alipay_peer, missing).query_payment(PAYMENT_ID)

    assert (answer.state, answer.transaction_id, answer.amount) == (PaymentState.NOT_PAID, None, None)


def test_another_refusal_of_the_query_is_a_provider_error_naming_alipays_code(alipay_config, clock, alipay_peer):
    refused = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误"}

    with pytest.raises(ProviderError, match="ACQ.SYSTEM_ERROR"):
        alipay(alipay_config, clock, alipay_peer, refused).query_payment(PAYMENT_ID)


def test_a_paid_answer_signed_by_another_key_is_not_believed(alipay_config, clock, alipay_peer, stranger_key):
    with pytest.raises(InvalidSignature):
        alipay(alipay_config, clock, alipay_peer, PAID_TRADE, stranger_key).query_payment(PAYMENT_ID)


def test_a_paid_answer_about_another_trade_or_without_its_transaction_is_a_provider_error(
    alipay_config, clock, alipay_peer
):
    other = {**PAID_TRADE, "out_trade_no": "someone-else"}
    with pytest.raises(ProviderError, match="someone-else"):
        alipay(alipay_config, clock, alipay_peer, other).query_payment(PAYMENT_ID)
    without = {key: value for key, value in PAID_TRADE.items() if key != "trade_no"}
    with pytest.raises(ProviderError, match="trade_no"):
        alipay(alipay_config, clock, alipay_peer, without).query_payment(PAYMENT_ID)


def test_a_paid_answer_without_its_payment_time_is_paid_when_asked(alipay_config, clock, alipay_peer):
    undated = {key: value for key, value in PAID_TRADE.items() if key != "send_pay_date"}

    assert alipay(alipay_config, clock, alipay_peer, undated).query_payment(PAYMENT_ID).paid_at == NOW


# WeChat Pay v3: GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=.


@pytest.fixture
def wechat_peer(merchant_key, provider_key) -> Iterator[WeChatPayPeer]:
    peer = WeChatPayPeer(merchant_key.public_key(), provider_key, str(int(NOW.timestamp())))
    with peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def wechat_config(merchant_key, provider_key, wechat_peer):
    return WeChatPayConfig(
        mchid=MCHID,
        appid="wxd678efh567hg6787",
        merchant_serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        merchant_private_key_pem=private_key_pem(merchant_key).decode(),
        platform_public_keys={PLATFORM_SERIAL: public_key_pem(provider_key.public_key()).decode()},
        apiv3_key="0123456789abcdefghijABCDEFGHIJ!!",
        base_url=wechat_peer.url,
        timeout=0.5,
    )


def wechat(config, clock, peer: WeChatPayPeer, status: int, payload: dict[str, Any], key=None) -> WeChatPayGateway:
    """The gateway, the peer answering the order query with `payload` signed by `key` (the platform's unless told)."""
    peer.answers[("GET", ORDER_PATH)] = (status, payload)
    peer.sign_with = key or peer.platform_key
    return WeChatPayGateway(config, clock=clock)


def order(trade_state: str, **more: Any) -> dict[str, Any]:
    return {"mchid": MCHID, "out_trade_no": "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10", "trade_state": trade_state, **more}


PAID_ORDER = order(
    "SUCCESS",
    transaction_id="4200000985202601310000000001",
    amount={"total": 129950, "payer_total": 129950, "currency": "CNY"},
    success_time="2026-01-31T10:00:01+08:00",
)


def test_wechat_is_asked_for_the_order_by_out_trade_no_and_its_answer_read_in_fen(wechat_config, clock, wechat_peer):
    answer = wechat(wechat_config, clock, wechat_peer, 200, PAID_ORDER).query_payment(PAYMENT_ID)

    (request,) = wechat_peer.received
    assert (request.method, request.target) == (
        "GET",
        f"/v3/pay/transactions/out-trade-no/5f0c8a3e8f7e4a6b9a552b1e0c8d7f10?mchid={MCHID}",
    )
    assert request.headers["authorization"].startswith(f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}"')
    paid_at = datetime(2026, 1, 31, 2, 0, 1, tzinfo=UTC)
    expected = PaymentQuery(
        PAYMENT_ID, "wechatpay", PaymentState.PAID, "4200000985202601310000000001", D("1299.50"), paid_at
    )
    assert answer == expected


@pytest.mark.parametrize(
    ("trade_state", "state"),
    [
        ("NOTPAY", PaymentState.NOT_PAID),
        ("USERPAYING", PaymentState.NOT_PAID),
        ("CLOSED", PaymentState.CLOSED),
        ("REVOKED", PaymentState.CLOSED),
    ],
)
def test_wechats_trade_state_says_not_paid_or_closed(wechat_config, clock, wechat_peer, trade_state, state):
    answer = wechat(wechat_config, clock, wechat_peer, 200, order(trade_state)).query_payment(PAYMENT_ID)

    assert (answer.state, answer.transaction_id) == (state, None)


def test_an_order_refunded_since_was_still_paid(wechat_config, clock, wechat_peer):
    refunded = {**PAID_ORDER, "trade_state": "REFUND"}

    answer = wechat(wechat_config, clock, wechat_peer, 200, refunded).query_payment(PAYMENT_ID)

    assert (answer.state, answer.amount) == (PaymentState.PAID, D("1299.50"))


def test_an_order_wechat_does_not_know_was_never_paid_and_other_refusals_name_their_code(
    wechat_config, clock, wechat_peer
):
    missing = {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
    answer = wechat(wechat_config, clock, wechat_peer, 404, missing).query_payment(PAYMENT_ID)
    assert answer.state is PaymentState.NOT_PAID

    refused = {"code": "SIGN_ERROR", "message": "签名错误"}
    with pytest.raises(ProviderError, match="SIGN_ERROR"):
        wechat(wechat_config, clock, wechat_peer, 401, refused).query_payment(PAYMENT_ID)


def test_a_paid_order_signed_by_another_key_or_for_another_merchant_is_not_believed(
    wechat_config, clock, wechat_peer, stranger_key
):
    with pytest.raises(InvalidSignature):
        wechat(wechat_config, clock, wechat_peer, 200, PAID_ORDER, stranger_key).query_payment(PAYMENT_ID)
    foreign = {**PAID_ORDER, "mchid": "1900000000"}
    with pytest.raises(ProviderError, match="1900000000"):
        wechat(wechat_config, clock, wechat_peer, 200, foreign).query_payment(PAYMENT_ID)


def test_a_wechat_outage_is_a_provider_error(wechat_config, clock, wechat_peer):
    with pytest.raises(ProviderError, match="HTTP 503"):
        wechat(wechat_config, clock, wechat_peer, 503, {}).query_payment(PAYMENT_ID)


# The sandbox: its own records, and a notification that can be lost.


def test_a_sandbox_payment_settled_without_its_notification_answers_paid(clock):
    delivered: list[bytes] = []
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: delivered.append(body))
    sandbox.create_payment(PAYMENT_ID, D("1299.00"), "Phone X", NOTIFY_URL)
    assert sandbox.query_payment(PAYMENT_ID).state is PaymentState.NOT_PAID

    paid_at = NOW + timedelta(minutes=1)
    sandbox.settle_unnotified(PAYMENT_ID, "success", paid_at)

    assert delivered == []
    trade_no = sandbox.payment(PAYMENT_ID).trade_no
    expected = PaymentQuery(PAYMENT_ID, "sandbox", PaymentState.PAID, trade_no, D("1299.00"), paid_at)
    assert sandbox.query_payment(PAYMENT_ID) == expected


def test_a_sandbox_payment_closed_answers_closed_and_one_it_never_made_not_paid(clock):
    sandbox = SandboxPayments(clock, deliver=lambda body, headers: None)
    sandbox.create_payment(PAYMENT_ID, D("10.00"), "Phone X", NOTIFY_URL)
    sandbox.settle_unnotified(PAYMENT_ID, "fail")

    assert sandbox.query_payment(PAYMENT_ID).state is PaymentState.CLOSED
    assert sandbox.query_payment("never-made").state is PaymentState.NOT_PAID

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.errors import MalformedNotification, ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.wechatpay import (
    WeChatPayConfig,
    WeChatPayGateway,
    decrypt_resource,
    out_trade_no,
    request_message,
    response_message,
)
from leasecore.ports import InvalidSignature
from tests.peers import PeerRequest
from tests.peers.wechatpay import AUTHORIZATION, ORDER_PATH, WeChatPayPeer

from .conftest import NOW
from .fakes import rsa2_verifies, wechat_resource, wechat_signed_headers

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
APIV3_KEY = b"0123456789abcdefghijABCDEFGHIJ!!"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/wechatpay"
PAYMENT_ID = "5f0c8a3e-8f7e-4a6b-9a55-2b1e0c8d7f10"
TIMESTAMP = str(int(NOW.timestamp()))
OUT_TRADE_NO = "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10"
APP_PATH = "/v3/pay/transactions/app"
REFUNDS_PATH = "/v3/refund/domestic/refunds"


@pytest.fixture
def peer(merchant_key, provider_key) -> Iterator[WeChatPayPeer]:
    wechat = WeChatPayPeer(merchant_key.public_key(), provider_key, TIMESTAMP)
    with wechat:
        yield wechat
    assert wechat.failures == []


@pytest.fixture
def config(merchant_key, provider_key, peer):
    """The merchant as production configures it, its gateway_url the peer's."""
    return WeChatPayConfig.from_settings(
        {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_serial_no": MERCHANT_SERIAL,
            "merchant_private_key": private_key_pem(merchant_key).decode(),
            "platform_serial_no": PLATFORM_SERIAL,
            "platform_public_key": public_key_pem(provider_key.public_key()).decode(),
            "apiv3_key": APIV3_KEY.decode(),
            "gateway_url": peer.url,
            "timeout": "0.5",
        }
    )


def nonces():
    counter = iter(range(1, 1000))
    return lambda: f"NONCE{next(counter):027d}"


def gateway(config, clock):
    return WeChatPayGateway(config, clock=clock, nonces=nonces())


def authorization(request: PeerRequest) -> dict[str, str]:
    """The Authorization's fields (the peer has checked its signature)."""
    fields = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert fields is not None, request.headers["authorization"]
    return fields.groupdict()


def test_the_request_message_is_method_url_timestamp_nonce_body_each_on_its_own_line():
    message = request_message(
        "post", "/v3/pay/transactions/app", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", b'{"a":1}'
    )
    assert message == b'POST\n/v3/pay/transactions/app\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"a":1}\n'
    assert (
        request_message("GET", "/v3/certificates", "1554208460", "N", b"")
        == b"GET\n/v3/certificates\n1554208460\nN\n\n"
    )
    assert response_message("1554208460", "N", b'{"a":1}') == b'1554208460\nN\n{"a":1}\n'


def test_an_app_prepay_is_a_signed_request_in_fen_and_its_answer_is_verified(config, clock, merchant_key, peer):
    peer.answers[("POST", APP_PATH)] = (200, {"prepay_id": "wx201410272009395522657a690389285100"})

    request = gateway(config, clock).create_payment(PAYMENT_ID, D("1299.50"), "Phone X 256G", NOTIFY_URL)

    (sent,) = peer.received
    assert (sent.method, sent.target) == ("POST", APP_PATH)
    fields = authorization(sent)
    assert (fields["mchid"], fields["serial"], fields["timestamp"]) == (MCHID, MERCHANT_SERIAL, TIMESTAMP)
    assert json.loads(sent.body) == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "Phone X 256G",
        "out_trade_no": "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10",
        "attach": PAYMENT_ID,
        "notify_url": NOTIFY_URL,
        "amount": {"total": 129950, "currency": "CNY"},
    }
    params = request.pay_params
    assert (params["prepayid"], params["partnerid"], params["package"]) == (
        "wx201410272009395522657a690389285100",
        MCHID,
        "Sign=WXPay",
    )
    signed = f"{APPID}\n{params['timestamp']}\n{params['noncestr']}\n{params['prepayid']}\n".encode()
    assert rsa2_verifies(merchant_key.public_key(), signed, params["sign"])
    assert (request.amount, request.provider) == (D("1299.50"), "wechatpay")


def test_a_jsapi_prepay_names_the_payer_and_signs_the_package(config, clock, merchant_key, peer):
    peer.answers[("POST", "/v3/pay/transactions/jsapi")] = (200, {"prepay_id": "wx2014"})

    request = gateway(config, clock).create_jsapi_payment("pay-00001", D("0.01"), "x", NOTIFY_URL, "oUpF8uMuAJO")

    (sent,) = peer.received
    assert sent.path == "/v3/pay/transactions/jsapi"
    assert json.loads(sent.body)["payer"] == {"openid": "oUpF8uMuAJO"}
    assert json.loads(sent.body)["amount"]["total"] == 1
    params = request.pay_params
    assert params["package"] == "prepay_id=wx2014"
    signed = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\nprepay_id=wx2014\n".encode()
    assert rsa2_verifies(merchant_key.public_key(), signed, params["paySign"])


def test_a_prepay_answer_that_is_unsigned_or_signed_by_another_key_is_rejected(config, clock, stranger_key, peer):
    peer.sign_with = None
    with pytest.raises(InvalidSignature, match="unsigned"):
        gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)
    peer.sign_with = stranger_key
    with pytest.raises(InvalidSignature, match="does not verify"):
        gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)


def test_a_refused_prepay_is_a_provider_error_naming_wechats_code(config, clock, peer):
    peer.answers[("POST", APP_PATH)] = (400, {"code": "PARAM_ERROR", "message": "参数错误"})
    with pytest.raises(ProviderError, match="PARAM_ERROR: 参数错误") as refused:
        gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)
    assert refused.value.code == "PARAM_ERROR"


def test_a_prepay_asked_again_for_the_same_payment_is_for_the_same_order(config, clock, peer):
    first = gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)
    again = gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)
    assert first.pay_params["prepayid"] and again.pay_params["prepayid"] and list(peer.orders) == [OUT_TRADE_NO]


def test_a_prepay_slower_than_the_timeout_is_a_provider_error_after_one_request(config, clock, peer):
    peer.delay = 1.0
    with pytest.raises(ProviderError, match="unreachable"):
        gateway(config, clock).create_payment(PAYMENT_ID, D("1.00"), "x", NOTIFY_URL)
    assert len(peer.received) == 1


def test_payment_ids_become_valid_out_trade_numbers():
    assert out_trade_no(PAYMENT_ID) == "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10"
    assert out_trade_no("order_2026_0001") == "order_2026_0001"
    with pytest.raises(ValueError):
        out_trade_no("not a valid id at all!")


TRANSACTION = {
    "mchid": MCHID,
    "appid": APPID,
    "out_trade_no": "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10",
    "transaction_id": "4200000985202601310000000001",
    "trade_type": "APP",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMC",
    "attach": PAYMENT_ID,
    "success_time": "2026-01-31T10:00:01+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 129950, "payer_total": 129950, "currency": "CNY", "payer_currency": "CNY"},
}


def callback(key, transaction=TRANSACTION, *, apiv3_key=APIV3_KEY, timestamp=TIMESTAMP, serial=PLATFORM_SERIAL):
    envelope = {
        "id": "EV-2018022511223320873",
        "create_time": "2026-01-31T10:00:02+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": wechat_resource(apiv3_key, transaction, "fdasflkja484", "transaction"),
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return body, wechat_signed_headers(key, serial, body, timestamp, "fdasfjihihihlkja484w")


def test_a_callback_is_verified_decrypted_and_read_in_fen(config, clock, provider_key):
    notification = gateway(config, clock).verify_notification(*callback(provider_key))

    assert notification.payment_id == PAYMENT_ID
    assert notification.transaction_id == "4200000985202601310000000001"
    assert notification.amount == D("1299.50")
    assert notification.succeeded is True
    assert notification.paid_at == datetime(2026, 1, 31, 2, 0, 1, tzinfo=UTC)
    assert notification.provider == "wechatpay"


def test_callback_headers_are_read_whatever_their_case(config, clock, provider_key):
    body, headers = callback(provider_key)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert gateway(config, clock).verify_notification(body, lowered).succeeded


def test_a_stale_callback_is_rejected_as_a_replay(config, clock, provider_key):
    body, headers = callback(provider_key)
    clock.advance(timedelta(minutes=4, seconds=59))
    assert gateway(config, clock).verify_notification(body, headers).succeeded
    clock.advance(timedelta(seconds=2))
    with pytest.raises(InvalidSignature, match="more than 5 minutes"):
        gateway(config, clock).verify_notification(body, headers)


def test_a_callback_from_the_future_is_rejected_too(config, clock, provider_key):
    ahead = str(int((NOW + timedelta(minutes=6)).timestamp()))
    with pytest.raises(InvalidSignature, match="more than 5 minutes"):
        gateway(config, clock).verify_notification(*callback(provider_key, timestamp=ahead))


def test_a_tampered_callback_body_is_rejected(config, clock, provider_key):
    body, headers = callback(provider_key)
    tampered = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESX")
    assert tampered != body
    with pytest.raises(InvalidSignature, match="does not verify"):
        gateway(config, clock).verify_notification(tampered, headers)


def test_a_callback_signed_by_another_key_or_unknown_serial_is_rejected(config, clock, stranger_key, provider_key):
    with pytest.raises(InvalidSignature, match="does not verify"):
        gateway(config, clock).verify_notification(*callback(stranger_key))
    with pytest.raises(InvalidSignature, match="names no platform key"):
        gateway(config, clock).verify_notification(*callback(provider_key, serial="PUB_KEY_ID_OTHER"))


@pytest.mark.parametrize(
    "header", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"]
)
def test_a_callback_missing_a_signature_header_is_unsigned(config, clock, provider_key, header):
    body, headers = callback(provider_key)
    del headers[header]
    with pytest.raises(InvalidSignature, match=f"unsigned: it lacks {header}"):
        gateway(config, clock).verify_notification(body, headers)


def test_a_resource_encrypted_with_another_apiv3_key_is_rejected(config, clock, provider_key):
    foreign = callback(provider_key, apiv3_key=b"ZYXWVUTSRQPONMLKJIHGFEDCBA987654")
    with pytest.raises(InvalidSignature, match="APIv3 key"):
        gateway(config, clock).verify_notification(*foreign)


def test_a_transaction_for_another_merchant_is_rejected(config, clock, provider_key):
    with pytest.raises(MalformedNotification, match="mchid 1900000000"):
        gateway(config, clock).verify_notification(*callback(provider_key, {**TRANSACTION, "mchid": "1900000000"}))


def test_a_closed_transaction_is_not_paid_and_dates_from_the_callback(config, clock, provider_key):
    closed = {k: v for k, v in TRANSACTION.items() if k != "success_time"} | {"trade_state": "CLOSED"}
    notification = gateway(config, clock).verify_notification(*callback(provider_key, closed))
    assert (notification.succeeded, notification.paid_at) == (False, datetime(2026, 1, 31, 2, 0, 2, tzinfo=UTC))


def test_decrypt_resource_reads_what_was_encrypted_with_its_nonce_and_associated_data():
    resource = wechat_resource(APIV3_KEY, {"hello": "世界"}, "0123456789ab", "certificate")
    assert json.loads(decrypt_resource(APIV3_KEY, resource)) == {"hello": "世界"}
    with pytest.raises(InvalidSignature):
        decrypt_resource(APIV3_KEY, {**resource, "associated_data": "transaction"})
    with pytest.raises(MalformedNotification, match="AEAD_AES_256_GCM"):
        decrypt_resource(APIV3_KEY, {**resource, "algorithm": "AES_128_CBC"})
    with pytest.raises(MalformedNotification, match="nonce"):
        decrypt_resource(APIV3_KEY, {k: v for k, v in resource.items() if k != "nonce"})
    ciphertext = AESGCM(APIV3_KEY).encrypt(b"0123456789ab", b"plain", None)
    assert len(ciphertext) == len(b"plain") + 16


def paid(peer: WeChatPayPeer, trade_state: str = "SUCCESS") -> None:
    order = {"mchid": MCHID, "out_trade_no": OUT_TRADE_NO, "trade_state": trade_state}
    peer.orders[OUT_TRADE_NO] = {**order, "amount": {"total": 129950, "currency": "CNY"}}


def test_a_refund_looks_up_the_order_total_and_refunds_in_fen(config, clock, peer):
    paid(peer)

    receipt = gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("300.25"))

    assert (receipt.accepted, receipt.amount, receipt.provider) == (True, D("300.25"), "wechatpay")
    query, refund = peer.received
    assert (query.method, query.target) == (
        "GET",
        f"/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}?mchid=1900009191",
    )
    assert (refund.method, refund.target) == ("POST", "/v3/refund/domestic/refunds")
    assert json.loads(refund.body) == {
        "out_trade_no": OUT_TRADE_NO,
        "out_refund_no": "refund-7",
        "amount": {"refund": 30025, "total": 129950, "currency": "CNY"},
    }
    assert list(peer.refunds) == ["refund-7"]


def test_a_refund_beyond_the_order_total_is_refused_without_asking(config, clock, peer):
    paid(peer)
    receipt = gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("1299.51"))
    assert (receipt.accepted, [r.method for r in peer.received]) == (False, ["GET"])
    assert "1299.51 exceeds the 1299.50 paid" in receipt.reason


def test_a_refund_of_an_unpaid_order_or_refused_by_wechat_is_not_accepted(config, clock, peer):
    paid(peer, "NOTPAY")
    assert "NOTPAY" in gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("1.00")).reason

    paid(peer)
    peer.answers[("POST", REFUNDS_PATH)] = (403, {"code": "NOT_ENOUGH", "message": "基本账户余额不足"})
    receipt = gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("1.00"))
    assert (receipt.accepted, receipt.reason) == (False, "NOT_ENOUGH: 基本账户余额不足")

    peer.answers[("POST", REFUNDS_PATH)] = (200, {"refund_id": "5000", "status": "ABNORMAL"})
    receipt = gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("1.00"))
    assert (receipt.accepted, receipt.reason) == (False, "refund status ABNORMAL")


def test_an_outage_is_a_provider_error(config, clock, peer):
    peer.answers[("GET", ORDER_PATH)] = (500, None)
    with pytest.raises(ProviderError, match="HTTP 500"):
        gateway(config, clock).refund(PAYMENT_ID, "refund-7", D("1.00"))


def test_the_apiv3_key_must_be_32_bytes(config, clock):
    with pytest.raises(ValueError, match="32 bytes"):
        WeChatPayGateway(WeChatPayConfig(**{**config.__dict__, "apiv3_key": "short"}), clock=clock)
    assert config.timeout == 0.5


def test_uuid_payment_ids_round_trip_through_attach(config, clock, provider_key):
    without_attach = {k: v for k, v in TRANSACTION.items() if k != "attach"}
    notification = gateway(config, clock).verify_notification(*callback(provider_key, without_attach))
    assert notification.payment_id == "5f0c8a3e8f7e4a6b9a552b1e0c8d7f10"
    assert uuid.UUID(notification.payment_id) == uuid.UUID(PAYMENT_ID)

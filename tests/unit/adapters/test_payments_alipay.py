"""Alipay app payments, notifications and refunds against a loopback Alipay gateway (tests.peers.alipay) that
checks the app's RSA2 signature on every call and answers signed with Alipay's key, as production does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal as D
from urllib.parse import parse_qsl, urlencode

import pytest

from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay import AlipayConfig, AlipayGateway
from leasecore.ports import InvalidSignature
from tests.peers.alipay import AlipayPeer

from .fakes import rsa2, rsa2_verifies

APP_ID = "2021004100000001"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/alipay"
REFUND = "alipay.trade.refund"
REFUNDED = {
    "code": "10000",
    "msg": "Success",
    "trade_no": "2026013122001404011000123456",
    "out_trade_no": "pay-1",
    "buyer_logon_id": "159****5620",
    "fund_change": "Y",
    "refund_fee": "300.00",
}


@pytest.fixture
def peer(merchant_key, provider_key) -> Iterator[AlipayPeer]:
    alipay = AlipayPeer(merchant_key.public_key(), provider_key, APP_ID)
    alipay.answers[REFUND] = REFUNDED
    with alipay:
        yield alipay
    assert alipay.failures == []


@pytest.fixture
def config(merchant_key, provider_key, peer):
    """The app as production configures it, its gateway_url the peer's."""
    return AlipayConfig.from_settings(
        {
            "app_id": APP_ID,
            "app_private_key": private_key_pem(merchant_key).decode(),
            "alipay_public_key": public_key_pem(provider_key.public_key()).decode(),
            "gateway_url": peer.gateway_url,
            "timeout": "0.5",
        }
    )


def gateway(config, clock):
    return AlipayGateway(config, clock=clock)


def alipay_notification(key, **overrides: str) -> bytes:
    """A notification as Alipay's servers post it, signed over the sorted params without sign and sign_type."""
    params = {
        "notify_time": "2026-01-31 10:00:03",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026013122001404011000123456",
        "out_trade_no": "pay-1",
        "buyer_id": "2088102122524333",
        "total_amount": "1299.00",
        "receipt_amount": "1299.00",
        "trade_status": "TRADE_SUCCESS",
        "subject": "Phone X 256G · 12 months",
        "gmt_create": "2026-01-31 09:59:40",
        "gmt_payment": "2026-01-31 10:00:01",
        "fund_bill_list": '[{"amount":"1299.00","fundChannel":"ALIPAYACCOUNT"}]',
        **overrides,
    }
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v)
    return urlencode({**params, "sign_type": "RSA2", "sign": rsa2(key, unsigned.encode())}).encode()


def test_the_app_pay_order_string_is_signed_with_the_app_key(config, clock, merchant_key):
    request = gateway(config, clock).create_payment("pay-1", D("1299.00"), "Phone X 256G", NOTIFY_URL)

    order_string = request.pay_params["order_string"]
    params = dict(parse_qsl(order_string))
    assert order_string.startswith("app_id=2021004100000001&biz_content=%7B%22out_trade_no%22%3A%22pay-1%22")
    assert {k: params[k] for k in ("method", "charset", "sign_type", "timestamp", "version", "notify_url")} == {
        "method": "alipay.trade.app.pay",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-01-31 10:00:00",
        "version": "1.0",
        "notify_url": NOTIFY_URL,
    }
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": "pay-1",
        "total_amount": "1299.00",
        "subject": "Phone X 256G",
        "product_code": "QUICK_MSECURITY_PAY",
    }
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    assert rsa2_verifies(merchant_key.public_key(), unsigned.encode(), params["sign"])
    assert request.amount == D("1299.00") and request.provider == "alipay"


def test_an_alipay_notification_verifies_with_the_alipay_public_key(config, clock, provider_key):
    notification = gateway(config, clock).verify_notification(alipay_notification(provider_key), {})

    assert notification.payment_id == "pay-1"
    assert notification.transaction_id == "2026013122001404011000123456"
    assert notification.amount == D("1299.00")
    assert notification.succeeded is True
    assert notification.paid_at == datetime(2026, 1, 31, 2, 0, 1, tzinfo=UTC)
    assert notification.raw["buyer_id"] == "2088102122524333"


def test_a_finished_trade_is_paid_and_a_closed_one_is_not(config, clock, provider_key):
    alipay = gateway(config, clock)
    assert alipay.verify_notification(alipay_notification(provider_key, trade_status="TRADE_FINISHED"), {}).succeeded
    closed = alipay_notification(
        provider_key, trade_status="TRADE_CLOSED", gmt_payment="", gmt_close="2026-01-31 10:30:00"
    )
    notification = alipay.verify_notification(closed, {})
    assert (notification.succeeded, notification.paid_at) == (False, datetime(2026, 1, 31, 2, 30, tzinfo=UTC))


def test_a_notification_signed_by_the_merchant_key_is_not_from_alipay(config, clock, merchant_key):
    with pytest.raises(InvalidSignature, match="does not verify"):
        gateway(config, clock).verify_notification(alipay_notification(merchant_key), {})


def test_a_tampered_amount_in_the_notification_is_rejected(config, clock, provider_key):
    body = alipay_notification(provider_key).replace(b"total_amount=1299.00", b"total_amount=1.00")
    assert b"total_amount=1.00" in body
    with pytest.raises(InvalidSignature):
        gateway(config, clock).verify_notification(body, {})


def test_a_refund_is_a_signed_alipay_trade_refund_whose_answer_is_verified(config, clock, peer):
    receipt = gateway(config, clock).refund("pay-1", "refund-7", D("300.00"))

    assert (receipt.accepted, receipt.amount, receipt.refund_id, receipt.provider) == (
        True,
        D("300.00"),
        "refund-7",
        "alipay",
    )
    (request,) = peer.received
    assert (request.method, request.path) == ("POST", "/gateway.do")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded;charset=utf-8"
    params = request.form
    assert (params["method"], params["app_id"]) == (REFUND, APP_ID)
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": "pay-1",
        "refund_amount": "300.00",
        "out_request_no": "refund-7",
    }


def test_a_refused_refund_carries_alipays_reason(config, clock, peer):
    peer.answers[REFUND] = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "sub_msg": "退款金额超限",
    }

    receipt = gateway(config, clock).refund("pay-1", "refund-8", D("99999.00"))

    assert receipt.accepted is False
    assert receipt.reason == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL: 退款金额超限"


def test_a_refund_answer_signed_by_another_key_is_rejected(config, clock, peer, stranger_key):
    peer.sign_with = stranger_key
    with pytest.raises(InvalidSignature, match="does not verify"):
        gateway(config, clock).refund("pay-1", "refund-7", D("300.00"))


def test_an_unsigned_success_is_not_believed_but_an_unsigned_error_is_a_refusal(config, clock, peer):
    peer.sign_with = None
    with pytest.raises(InvalidSignature, match="unsigned"):
        gateway(config, clock).refund("pay-1", "refund-7", D("300.00"))

    peer.answers[REFUND] = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
    receipt = gateway(config, clock).refund("pay-1", "refund-7", D("300.00"))
    assert (receipt.accepted, receipt.reason) == (False, "isv.invalid-signature: Invalid Arguments")


def test_a_tampered_refund_answer_is_rejected(config, clock, peer):
    def tampering(text: str) -> str:
        assert '"refund_fee": "300.00"' in text
        return text.replace('"refund_fee": "300.00"', '"refund_fee": "3000.00"')

    peer.tamper = tampering
    with pytest.raises(InvalidSignature):
        gateway(config, clock).refund("pay-1", "refund-7", D("300.00"))


def test_an_unreachable_or_failing_gateway_is_a_provider_error(config, clock, peer, merchant_key, provider_key):
    peer.fail = 1
    with pytest.raises(ProviderError, match="HTTP 500"):
        gateway(config, clock).refund("pay-1", "refund-7", D("1.00"))

    with AlipayPeer(merchant_key.public_key(), provider_key, APP_ID) as closed:
        gone = closed.gateway_url
    unreachable = AlipayConfig(**{**config.__dict__, "gateway_url": gone})
    with pytest.raises(ProviderError, match="unreachable"):
        gateway(unreachable, clock).refund("pay-1", "refund-7", D("1.00"))


def test_a_gateway_slower_than_the_timeout_is_a_provider_error_after_one_request(config, clock, peer):
    """Alipay dedupes a refund by its out_request_no, so the refund process may ask again later; the adapter itself
    does not retry within the call."""
    peer.delay = 1.0
    with pytest.raises(ProviderError, match="unreachable"):
        gateway(config, clock).refund("pay-1", "refund-7", D("1.00"))
    assert len(peer.received) == 1


def test_a_refusal_of_a_query_names_alipays_code_in_the_error(config, clock, peer):
    peer.answers["alipay.trade.query"] = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"}
    with pytest.raises(ProviderError, match="ACQ.SYSTEM_ERROR") as refused:
        gateway(config, clock).query_payment("pay-1")
    assert refused.value.code == "ACQ.SYSTEM_ERROR"


def test_config_reads_keys_inline_or_from_files(tmp_path, merchant_key, provider_key):
    (tmp_path / "app.pem").write_bytes(private_key_pem(merchant_key))
    config = AlipayConfig.from_settings(
        {
            "app_id": APP_ID,
            "app_private_key_path": str(tmp_path / "app.pem"),
            "alipay_public_key": public_key_pem(provider_key.public_key()).decode(),
        }
    )
    assert config.app_private_key_pem == private_key_pem(merchant_key).decode()
    assert (config.gateway_url, config.timeout) == ("https://openapi.alipay.com/gateway.do", 10.0)
    with pytest.raises(ValueError, match="app_id"):
        AlipayConfig.from_settings({"app_private_key": "x", "alipay_public_key": "y"})
    with pytest.raises(ValueError, match="timeout"):
        AlipayConfig.from_settings({"app_id": APP_ID, "app_private_key": "x", "alipay_public_key": "y", "timeout": "x"})

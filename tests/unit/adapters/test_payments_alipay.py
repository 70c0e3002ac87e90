from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from adapters import alipay_openapi
from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay import AlipayConfig, AlipayGateway
from leasecore.ports import InvalidSignature

from .fakes import alipay_answer, rsa2, rsa2_verifies

APP_ID = "2021004100000001"
GATEWAY = "https://openapi.alipay.test/gateway.do"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/alipay"


@pytest.fixture
def config(merchant_key, provider_key):
    return AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url=GATEWAY,
    )


def gateway(config, clock, handler=None):
    client = httpx.Client(transport=httpx.MockTransport(handler or (lambda request: httpx.Response(500))))
    return AlipayGateway(config, http_client=client, clock=clock)


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


def refund_handler(provider_key, merchant_key, seen, payload=None, sign=True):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        params = dict(parse_qsl(request.content.decode()))
        assert rsa2_verifies(
            merchant_key.public_key(), alipay_openapi.request_sign_content(params).encode(), params["sign"]
        )
        answer = payload or {
            "code": "10000",
            "msg": "Success",
            "trade_no": "2026013122001404011000123456",
            "out_trade_no": "pay-1",
            "buyer_logon_id": "159****5620",
            "fund_change": "Y",
            "refund_fee": "300.00",
        }
        text = alipay_answer("alipay.trade.refund", answer, provider_key if sign else None)
        return httpx.Response(200, content=text.encode(), headers={"Content-Type": "text/html;charset=utf-8"})

    return handle


def test_a_refund_is_a_signed_alipay_trade_refund_whose_answer_is_verified(config, clock, provider_key, merchant_key):
    seen: list[httpx.Request] = []
    alipay = gateway(config, clock, refund_handler(provider_key, merchant_key, seen))

    receipt = alipay.refund("pay-1", "refund-7", D("300.00"))

    assert (receipt.accepted, receipt.amount, receipt.refund_id, receipt.provider) == (
        True,
        D("300.00"),
        "refund-7",
        "alipay",
    )
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", GATEWAY)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded;charset=utf-8"
    params = dict(parse_qsl(request.content.decode()))
    assert params["method"] == "alipay.trade.refund"
    assert params["app_id"] == APP_ID
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": "pay-1",
        "refund_amount": "300.00",
        "out_request_no": "refund-7",
    }


def test_a_refused_refund_carries_alipays_reason(config, clock, provider_key, merchant_key):
    refusal = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "sub_msg": "退款金额超限",
    }
    alipay = gateway(config, clock, refund_handler(provider_key, merchant_key, [], refusal))

    receipt = alipay.refund("pay-1", "refund-8", D("99999.00"))

    assert receipt.accepted is False
    assert receipt.reason == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL: 退款金额超限"


def test_a_refund_answer_signed_by_another_key_is_rejected(config, clock, stranger_key, merchant_key):
    alipay = gateway(config, clock, refund_handler(stranger_key, merchant_key, []))
    with pytest.raises(InvalidSignature, match="does not verify"):
        alipay.refund("pay-1", "refund-7", D("300.00"))


def test_an_unsigned_success_is_not_believed_but_an_unsigned_error_is_a_refusal(config, clock, merchant_key):
    unsigned_success = gateway(config, clock, refund_handler(None, merchant_key, [], sign=False))
    with pytest.raises(InvalidSignature, match="unsigned"):
        unsigned_success.refund("pay-1", "refund-7", D("300.00"))

    error = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
    unsigned_error = gateway(config, clock, refund_handler(None, merchant_key, [], error, sign=False))
    receipt = unsigned_error.refund("pay-1", "refund-7", D("300.00"))
    assert (receipt.accepted, receipt.reason) == (False, "isv.invalid-signature: Invalid Arguments")


def test_a_tampered_refund_answer_is_rejected(config, clock, provider_key, merchant_key):
    honest = refund_handler(provider_key, merchant_key, [])

    def tampering(request: httpx.Request) -> httpx.Response:
        text = honest(request).content.replace(b'"refund_fee": "300.00"', b'"refund_fee": "3000.00"')
        assert b"3000.00" in text
        return httpx.Response(200, content=text)

    with pytest.raises(InvalidSignature):
        gateway(config, clock, tampering).refund("pay-1", "refund-7", D("300.00"))


def test_an_unreachable_or_failing_gateway_is_a_provider_error(config, clock):
    with pytest.raises(ProviderError, match="HTTP 500"):
        gateway(config, clock).refund("pay-1", "refund-7", D("1.00"))

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderError, match="unreachable"):
        gateway(config, clock, unreachable).refund("pay-1", "refund-7", D("1.00"))


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
    assert config.gateway_url == "https://openapi.alipay.com/gateway.do"
    with pytest.raises(ValueError, match="app_id"):
        AlipayConfig.from_settings({"app_private_key": "x", "alipay_public_key": "y"})

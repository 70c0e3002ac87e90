from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from adapters import alipay_openapi
from adapters.errors import MalformedNotification
from leasecore.ports import InvalidSignature

from .fakes import rsa2

PARAMS = {
    "trade_status": "TRADE_SUCCESS",
    "app_id": "2021000000000001",
    "sign": "SIGNATURE",
    "sign_type": "RSA2",
    "body": "",
    "subject": "租 Phone X & 意外保障=yes+",
    "total_amount": "12.50",
}


def test_a_request_signs_every_non_empty_param_but_sign_sorted_by_key():
    assert alipay_openapi.request_sign_content(PARAMS) == (
        "app_id=2021000000000001&sign_type=RSA2&subject=租 Phone X & 意外保障=yes+"
        "&total_amount=12.50&trade_status=TRADE_SUCCESS"
    )


def test_a_notification_signs_the_same_without_sign_type():
    assert alipay_openapi.notification_sign_content(PARAMS) == (
        "app_id=2021000000000001&subject=租 Phone X & 意外保障=yes+&total_amount=12.50&trade_status=TRADE_SUCCESS"
    )


def test_alipay_times_are_shanghai_wall_clock_to_the_second():
    instant = datetime(2026, 1, 31, 17, 30, 5, 999, tzinfo=UTC)
    assert alipay_openapi.format_alipay_time(instant) == "2026-02-01 01:30:05"
    assert alipay_openapi.parse_alipay_time("2026-02-01 01:30:05") == instant.replace(microsecond=0)
    with pytest.raises(ValueError):
        alipay_openapi.format_alipay_time(datetime(2026, 1, 31))


def test_a_form_body_is_url_decoded_before_anything_is_verified():
    body = b"subject=%E7%A7%9F+Phone&total_amount=12.50&x=a%26b%3Dc"
    assert alipay_openapi.parse_form(body) == {"subject": "租 Phone", "total_amount": "12.50", "x": "a&b=c"}


@pytest.mark.parametrize("body", [b"", b"   ", b"no_equals_sign", b"a=1&a=2", b"a=%FF%FE", "a=中".encode()])
def test_a_body_that_is_not_one_clean_form_is_malformed(body):
    with pytest.raises(MalformedNotification):
        alipay_openapi.parse_form(body)


def test_the_raw_text_of_the_answer_member_is_what_is_verified():
    text = '{"alipay_trade_refund_response": {"code":"10000",  "msg":"Success","refund_fee":"5.00"},"sign":"abc"}'
    content, payload, sign = alipay_openapi.response_content(text, "alipay.trade.refund")
    assert content == '{"code":"10000",  "msg":"Success","refund_fee":"5.00"}'
    assert payload["refund_fee"] == "5.00"
    assert sign == "abc"


def test_a_gateway_error_answers_in_error_response():
    text = '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}'
    content, payload, sign = alipay_openapi.response_content(text, "alipay.trade.refund")
    assert (payload["sub_code"], sign) == ("isv.invalid-app-id", None)
    assert content.startswith('{"code":"40002"')


@pytest.mark.parametrize("text", ["not json", "[1]", '{"other_response":{}}', '{"alipay_trade_refund_response":1}'])
def test_an_answer_without_the_member_cannot_be_verified(text):
    with pytest.raises(InvalidSignature):
        alipay_openapi.response_content(text, "alipay.trade.refund")


def test_a_gbk_notification_is_decoded_and_verified_in_gbk(provider_key):
    params = {"app_id": "A", "charset": "gbk", "out_trade_no": "p1", "subject": "手机租赁", "total_amount": "1.00"}
    signature = rsa2(provider_key, alipay_openapi.notification_sign_content(params).encode("gbk"))
    from urllib.parse import urlencode

    body = urlencode({**params, "sign_type": "RSA2", "sign": signature}, encoding="gbk").encode()
    assert alipay_openapi.verify_notification(body, provider_key.public_key())["subject"] == "手机租赁"


def test_a_notification_is_read_as_a_payment_outcome():
    params = {
        "app_id": "A",
        "out_trade_no": "p1",
        "trade_no": "2026013122001",
        "total_amount": "12.50",
        "trade_status": "TRADE_CLOSED",
        "gmt_close": "2026-01-31 10:00:00",
    }
    notification = alipay_openapi.payment_notification(params, "alipay", "A")
    assert (notification.succeeded, notification.amount, notification.transaction_id) == (
        False,
        D("12.50"),
        "2026013122001",
    )
    assert notification.paid_at == datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    with pytest.raises(MalformedNotification, match="WAIT_BUYER_PAY"):
        alipay_openapi.payment_notification({**params, "trade_status": "WAIT_BUYER_PAY"}, "alipay", "A")
    with pytest.raises(MalformedNotification, match="trade_no"):
        alipay_openapi.payment_notification({**params, "trade_no": ""}, "alipay", "A")
    with pytest.raises(MalformedNotification, match="total_amount"):
        alipay_openapi.payment_notification({**params, "total_amount": "12.505"}, "alipay", "A")
    with pytest.raises(MalformedNotification, match="app_id B"):
        alipay_openapi.payment_notification({**params, "app_id": "B"}, "alipay", "A")

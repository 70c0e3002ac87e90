from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters import alipay_openapi
from adapters.errors import DeliveryFailed, MalformedNotification, PaymentStateConflict, UnknownPayment
from adapters.payments.sandbox import SandboxPayments, SandboxPaymentStatus
from leasecore.ports import InvalidSignature

from .conftest import NOW
from .fakes import rsa2, rsa2_verifies

NOTIFY_URL = "http://leasecore.test/v1/payments/notify/sandbox"


@pytest.fixture
def sandbox(clock, provider_key):
    return SandboxPayments(clock, private_key=provider_key, deliver=lambda body, headers: None)


def paid(sandbox, payment_id="pay-1", amount="12.50", paid_at=None):
    sandbox.create_payment(payment_id, D(amount), "Phone X, 12 months", NOTIFY_URL)
    body, _ = sandbox.notification(payment_id, "success", paid_at)
    return body


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def test_a_payment_request_carries_a_pay_url_and_a_signed_order_string(sandbox, provider_key):
    request = sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)

    assert (request.payment_id, request.provider, request.amount) == ("pay-1", "sandbox", D("12.50"))
    assert request.pay_params["pay_url"] == "https://sandbox.leasecore.invalid/pay/pay-1"
    order = form(request.pay_params["order_string"].encode())
    assert order["method"] == "alipay.trade.app.pay"
    assert order["notify_url"] == NOTIFY_URL
    assert order["timestamp"] == "2026-01-31 10:00:00"
    assert json.loads(order["biz_content"])["total_amount"] == "12.50"
    signed = alipay_openapi.request_sign_content(order).encode()
    assert rsa2_verifies(provider_key.public_key(), signed, order["sign"])


def test_a_success_notification_is_signed_like_alipay_and_verifies(sandbox, provider_key):
    paid_at = datetime(2026, 1, 31, 3, 15, 42, tzinfo=UTC)
    body = paid(sandbox, paid_at=paid_at)
    params = form(body)

    assert params["out_trade_no"] == "pay-1"
    assert params["total_amount"] == "12.50"
    assert params["trade_status"] == "TRADE_SUCCESS"
    assert params["gmt_payment"] == "2026-01-31 11:15:42"
    assert params["sign_type"] == "RSA2"
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v)
    assert rsa2_verifies(provider_key.public_key(), unsigned.encode(), params["sign"])

    notification = sandbox.verify_notification(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert notification.payment_id == "pay-1"
    assert notification.provider == "sandbox"
    assert notification.transaction_id == params["trade_no"]
    assert notification.amount == D("12.50")
    assert notification.succeeded is True
    assert notification.paid_at == paid_at


def test_paid_at_defaults_to_the_injected_clock(sandbox, clock):
    clock.advance(timedelta(minutes=7))
    notification = sandbox.verify_notification(paid(sandbox), {})
    assert notification.paid_at == NOW + timedelta(minutes=7)


def test_a_failed_payment_notifies_a_closed_trade(sandbox):
    sandbox.create_payment("pay-2", D("99.00"), "Camera", NOTIFY_URL)
    body, _ = sandbox.notification("pay-2", "fail")

    assert form(body)["trade_status"] == "TRADE_CLOSED"
    notification = sandbox.verify_notification(body, {})
    assert (notification.succeeded, notification.amount, notification.paid_at) == (False, D("99.00"), NOW)
    assert sandbox.payment("pay-2").status is SandboxPaymentStatus.CLOSED


def test_the_transaction_id_is_stable_per_payment_and_distinct_between_payments(sandbox):
    first = sandbox.verify_notification(paid(sandbox, "pay-1"), {})
    again = sandbox.verify_notification(sandbox.notification("pay-1", "success")[0], {})
    other = sandbox.verify_notification(paid(sandbox, "pay-2"), {})

    assert first.transaction_id == again.transaction_id
    assert first.transaction_id != other.transaction_id
    assert len(first.transaction_id) == 28 and first.transaction_id.startswith("20260131")


def test_a_resent_notification_keeps_the_recorded_payment_time(sandbox, clock):
    paid(sandbox, paid_at=NOW)
    clock.advance(timedelta(hours=1))
    body, _ = sandbox.notification("pay-1", "success", NOW + timedelta(hours=1))
    assert sandbox.verify_notification(body, {}).paid_at == NOW


def test_tampered_amount_is_rejected(sandbox):
    body = paid(sandbox).replace(b"total_amount=12.50", b"total_amount=1250.00")
    assert b"total_amount=1250.00" in body
    with pytest.raises(InvalidSignature, match="does not verify"):
        sandbox.verify_notification(body, {})


def test_a_removed_sign_is_rejected(sandbox):
    params = form(paid(sandbox))
    del params["sign"]
    with pytest.raises(InvalidSignature, match="unsigned"):
        sandbox.verify_notification(alipay_openapi.encode_form(params).encode(), {})


def test_a_notification_from_another_key_is_rejected(sandbox, clock, stranger_key):
    impostor = SandboxPayments(clock, private_key=stranger_key)
    with pytest.raises(InvalidSignature, match="does not verify"):
        sandbox.verify_notification(paid(impostor), {})


def test_only_rsa2_is_accepted(sandbox, provider_key):
    params = form(paid(sandbox))
    params["sign_type"] = "RSA"
    with pytest.raises(InvalidSignature, match="RSA2"):
        sandbox.verify_notification(alipay_openapi.encode_form(params).encode(), {})


def test_a_correctly_signed_notification_for_another_app_is_rejected(sandbox, provider_key):
    params = {k: v for k, v in form(paid(sandbox)).items() if k not in ("sign", "sign_type")}
    params["app_id"] = "2021999999999999"
    signed = {
        **params,
        "sign_type": "RSA2",
        "sign": rsa2(provider_key, alipay_openapi.notification_sign_content(params).encode()),
    }
    with pytest.raises(MalformedNotification, match="app_id 2021999999999999"):
        sandbox.verify_notification(alipay_openapi.encode_form(signed).encode(), {})


@pytest.mark.parametrize("body", [b"", b"garbage", b"\xff\xfe", b'{"json": true}'])
def test_malformed_bodies_are_invalid_signatures(sandbox, body):
    with pytest.raises(InvalidSignature):
        sandbox.verify_notification(body, {})


def test_complete_delivers_the_notification_through_the_hook(clock, provider_key):
    delivered = []
    sandbox = SandboxPayments(
        clock, private_key=provider_key, deliver=lambda body, headers: delivered.append((body, headers))
    )
    sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)

    body, headers = sandbox.complete("pay-1", "success")

    assert delivered == [(body, headers)]
    assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert sandbox.verify_notification(*delivered[0]).succeeded


def test_by_default_complete_posts_to_the_notify_url(clock, provider_key):
    received = []

    def notify_route(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, text="success")

    client = httpx.Client(transport=httpx.MockTransport(notify_route))
    sandbox = SandboxPayments(clock, private_key=provider_key, http_client=client)
    sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)
    body, _ = sandbox.complete("pay-1", "success")

    assert [(r.method, str(r.url), r.content) for r in received] == [("POST", NOTIFY_URL, body)]
    assert received[0].headers["content-type"] == alipay_openapi.FORM_CONTENT_TYPE


def test_a_notify_route_that_fails_is_a_failed_delivery(clock, provider_key):
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    sandbox = SandboxPayments(clock, private_key=provider_key, http_client=client)
    sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)
    with pytest.raises(DeliveryFailed, match="HTTP 500"):
        sandbox.complete("pay-1", "success")


def test_an_outcome_once_recorded_is_final(sandbox):
    paid(sandbox)
    with pytest.raises(PaymentStateConflict, match="paid already"):
        sandbox.notification("pay-1", "fail")
    sandbox.create_payment("pay-2", D("1.00"), "x", NOTIFY_URL)
    sandbox.notification("pay-2", "fail")
    with pytest.raises(PaymentStateConflict, match="closed already"):
        sandbox.notification("pay-2", "success")


def test_unknown_payments_and_outcomes_are_refused(sandbox):
    with pytest.raises(UnknownPayment):
        sandbox.notification("nope", "success")
    sandbox.create_payment("pay-1", D("1.00"), "x", NOTIFY_URL)
    with pytest.raises(ValueError, match="'success' or 'fail'"):
        sandbox.notification("pay-1", "maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        sandbox.notification("pay-1", "success", datetime(2026, 1, 31))


def test_creating_the_same_payment_again_is_idempotent_but_not_for_another_amount(sandbox):
    first = sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)
    assert sandbox.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL) == first
    with pytest.raises(PaymentStateConflict, match="12.50"):
        sandbox.create_payment("pay-1", D("13.00"), "Phone X", NOTIFY_URL)
    with pytest.raises(ValueError, match="positive"):
        sandbox.create_payment("pay-3", D("0.00"), "Phone X", NOTIFY_URL)


def test_a_refund_is_idempotent_by_refund_id(sandbox):
    paid(sandbox, amount="100.00")

    first = sandbox.refund("pay-1", "ref-1", D("40.00"))
    again = sandbox.refund("pay-1", "ref-1", D("40.00"))

    assert first == again
    assert (first.accepted, first.amount, first.provider) == (True, D("40.00"), "sandbox")
    assert sandbox.payment("pay-1").refunded == D("40.00")


def test_refunds_never_exceed_what_was_paid(sandbox):
    paid(sandbox, amount="100.00")
    assert sandbox.refund("pay-1", "ref-1", D("60.00")).accepted

    refused = sandbox.refund("pay-1", "ref-2", D("40.01"))

    assert refused.accepted is False
    assert "40.01 exceeds the 40.00 still refundable" in refused.reason
    assert sandbox.refund("pay-1", "ref-3", D("40.00")).accepted
    assert sandbox.payment("pay-1").refundable == D("0.00")
    assert not sandbox.refund("pay-1", "ref-4", D("0.01")).accepted


def test_refunds_need_a_paid_payment_and_a_fresh_refund_id(sandbox):
    assert "no payment" in sandbox.refund("nope", "ref-1", D("1.00")).reason
    sandbox.create_payment("pay-1", D("10.00"), "x", NOTIFY_URL)
    assert "pending, not paid" in sandbox.refund("pay-1", "ref-1", D("1.00")).reason
    sandbox.notification("pay-1", "success")
    assert "positive" in sandbox.refund("pay-1", "ref-0", D("0.00")).reason
    assert sandbox.refund("pay-1", "ref-1", D("1.00")).accepted
    reused = sandbox.refund("pay-1", "ref-1", D("2.00"))
    assert (reused.accepted, sandbox.payment("pay-1").refunded) == (False, D("1.00"))
    assert "already used for 1.00" in reused.reason


def test_concurrent_refunds_never_over_refund(sandbox):
    paid(sandbox, amount="10.00")
    receipts = []

    def refund(n: int) -> None:
        receipts.append(sandbox.refund("pay-1", f"ref-{n}", D("1.00")))

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(1 for receipt in receipts if receipt.accepted) == 10
    assert sandbox.payment("pay-1").refunded == D("10.00")


def test_the_key_kept_in_a_pem_file_survives_a_restart(clock, tmp_path):
    key_path = tmp_path / "sandbox-payments.pem"
    before = SandboxPayments(clock, key_path=key_path)
    before.create_payment("pay-1", D("12.50"), "Phone X", NOTIFY_URL)
    body, _ = before.notification("pay-1", "success")

    after = SandboxPayments(clock, key_path=key_path)

    assert after.verify_notification(body, {}).amount == D("12.50")
    assert after.public_key_pem() == before.public_key_pem()

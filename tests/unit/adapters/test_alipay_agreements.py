"""Alipay cycle-pay agreements against a loopback peer that speaks the open platform: it checks the RSA2 signature
of every call (page.sign's order string, trade.pay, unsign) with the merchant's public key and answers signed as
Alipay does; notifications of a signature and of its end are signed with Alipay's key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.alipay_openapi import AlipayConfig
from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay_agreements import AlipayAgreements
from leasecore.ports import AgreementTerms, InvalidSignature
from tests.peers.alipay import AlipayPeer

from .fakes import rsa2, rsa2_verifies

APP_ID = "2021004100000001"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/alipay"
AGREEMENT_NO = "20265228000000001234"
TERMS = AgreementTerms("ADLMGCVDR7LVFXXHA2FVHU7F22NPHQ01", D("329.00"), date(2026, 2, 28), 11, "order 5b0c2a8e: rent")


def verifies(key: rsa.RSAPublicKey, params: dict[str, str]) -> bool:
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
    return rsa2_verifies(key, unsigned.encode(), params["sign"])


@pytest.fixture
def peer(merchant_key: rsa.RSAPrivateKey, provider_key: rsa.RSAPrivateKey) -> Iterator[AlipayPeer]:
    alipay = AlipayPeer(merchant_key.public_key(), provider_key, APP_ID)
    with alipay:
        yield alipay
    assert alipay.failures == []


@pytest.fixture
def agreements(peer: AlipayPeer, merchant_key: rsa.RSAPrivateKey, provider_key: rsa.RSAPrivateKey, clock: Any):
    config = AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url=f"{peer.url}/gateway.do",
    )
    return AlipayAgreements(config, clock=clock)


def notification(key: rsa.RSAPrivateKey, **overrides: str) -> bytes:
    params = {
        "notify_time": "2026-02-01 10:00:03",
        "notify_type": "dut_user_sign",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "agreement_no": AGREEMENT_NO,
        "external_agreement_no": TERMS.external_agreement_no,
        "personal_product_code": "CYCLE_PAY_AUTH_P",
        "sign_scene": "INDUSTRY|DIGITAL_MEDIA",
        "status": "NORMAL",
        "alipay_user_id": "2088102122524333",
        "sign_time": "2026-02-01 10:00:01",
        **overrides,
    }
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v)
    return urlencode({**params, "sign_type": "RSA2", "sign": rsa2(key, unsigned.encode())}).encode()


def test_the_sign_string_asks_for_monthly_cycle_pay_signed_with_the_app_key(agreements, merchant_key) -> None:
    request = agreements.sign_agreement(TERMS, NOTIFY_URL)

    params = dict(parse_qsl(request.pay_params["sign_string"]))
    assert (params["method"], params["notify_url"], params["app_id"]) == (
        "alipay.user.agreement.page.sign",
        NOTIFY_URL,
        APP_ID,
    )
    assert json.loads(params["biz_content"]) == {
        "personal_product_code": "CYCLE_PAY_AUTH_P",
        "product_code": "CYCLE_PAY_AUTH",
        "sign_scene": "INDUSTRY|DIGITAL_MEDIA",
        "external_agreement_no": TERMS.external_agreement_no,
        "access_params": {"channel": "ALIPAYAPP"},
        "period_rule_params": {
            "period_type": "MONTH",
            "period": 1,
            "execute_time": "2026-02-28",
            "single_amount": "329.00",
            "total_payments": 11,
        },
    }
    assert verifies(merchant_key.public_key(), params)
    assert request.pay_params["app_url"].startswith("alipays://platformapi/startapp?appId=60000157")


def test_a_signed_agreement_notification_verifies_and_names_both_numbers(agreements, provider_key) -> None:
    notice = agreements.agreement_notification(notification(provider_key), {})

    assert notice is not None
    assert (notice.external_agreement_no, notice.agreement_no, notice.signed) == (
        TERMS.external_agreement_no,
        AGREEMENT_NO,
        True,
    )
    assert notice.at == datetime(2026, 2, 1, 2, 0, 1, tzinfo=UTC)
    ended = agreements.agreement_notification(
        notification(provider_key, notify_type="dut_user_unsign", status="UNSIGN", unsign_time="2026-03-01 08:00:00"),
        {},
    )
    assert ended is not None and not ended.signed


def test_an_agreement_notification_signed_by_another_key_or_a_payment_notification_is_not_one(
    agreements, provider_key, merchant_key
) -> None:
    with pytest.raises(InvalidSignature):
        agreements.agreement_notification(notification(merchant_key), {})
    payment = notification(provider_key, notify_type="trade_status_sync")
    assert agreements.agreement_notification(payment, {}) is None


def test_a_charge_under_the_agreement_is_paid_when_alipay_answers_trade_success(agreements, peer) -> None:
    peer.answers["alipay.trade.pay"] = {
        "code": "10000",
        "msg": "Success",
        "trade_no": "2026022822001404011000123456",
        "out_trade_no": "pay-2-1",
        "total_amount": "329.00",
        "trade_status": "TRADE_SUCCESS",
        "gmt_payment": "2026-02-28 02:30:01",
    }

    result = agreements.charge_agreement(AGREEMENT_NO, "pay-2-1", D("329.00"), "rent 2")

    assert (result.paid, result.transaction_id, result.amount) == (True, "2026022822001404011000123456", D("329.00"))
    assert result.paid_at == datetime(2026, 2, 27, 18, 30, 1, tzinfo=UTC)
    sent = json.loads(peer.received[-1].form["biz_content"])
    assert sent == {
        "out_trade_no": "pay-2-1",
        "total_amount": "329.00",
        "subject": "rent 2",
        "product_code": "GENERAL_WITHHOLDING",
        "agreement_params": {"agreement_no": AGREEMENT_NO},
    }


def test_a_charge_refused_for_want_of_balance_fails_with_alipays_reason(agreements, peer) -> None:
    peer.answers["alipay.trade.pay"] = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH",
        "sub_msg": "买家余额不足",
    }

    result = agreements.charge_agreement(AGREEMENT_NO, "pay-2-1", D("329.00"), "rent 2")

    assert (result.paid, result.reason) == (False, "ACQ.BUYER_BALANCE_NOT_ENOUGH: 买家余额不足")


def test_a_charge_alipay_has_not_settled_leaves_it_in_doubt(agreements, peer) -> None:
    peer.answers["alipay.trade.pay"] = {"code": "10003", "msg": "order success pay inprocess"}

    with pytest.raises(ProviderError, match="not settled"):
        agreements.charge_agreement(AGREEMENT_NO, "pay-2-1", D("329.00"), "rent 2")


def test_unsign_ends_the_agreement_and_a_refusal_is_a_provider_error(agreements, peer) -> None:
    peer.answers["alipay.user.agreement.unsign"] = {"code": "10000", "msg": "Success"}
    agreements.unsign_agreement(AGREEMENT_NO)
    assert json.loads(peer.received[-1].form["biz_content"])["agreement_no"] == AGREEMENT_NO

    peer.answers["alipay.user.agreement.unsign"] = {"code": "40004", "msg": "Business Failed", "sub_code": "x"}
    with pytest.raises(ProviderError, match="x"):
        agreements.unsign_agreement(AGREEMENT_NO)


def test_the_service_offers_auto_debit_through_alipay_apps_and_the_sandbox_by_their_names(
    agreements, clock, provider_key
) -> None:
    from adapters.payments.alipay import AlipayGateway
    from adapters.payments.sandbox import SandboxPayments
    from api.bootstrap import agreement_gateways

    gateways = {
        "alipay_hk": AlipayGateway(agreements.config, clock=clock, provider="alipay_hk"),
        "sandbox": SandboxPayments(clock, private_key=provider_key),
    }
    offered = agreement_gateways(gateways, clock)

    assert {name: type(gateway).__name__ for name, gateway in offered.items()} == {
        "alipay_hk": "AlipayAgreements",
        "sandbox": "SandboxAgreements",
    }
    assert offered["alipay_hk"].provider == "alipay_hk"

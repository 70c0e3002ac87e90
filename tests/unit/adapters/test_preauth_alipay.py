"""Alipay fund authorization against a local Alipay peer: the freeze order string signed with the app key, the
freeze notification verified (its credit part read), charges from the freeze, unfreezes and queries sent as
RSA2-signed calls the peer checks, answered with signed answers the adapter checks, each deduped by its ref."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any
from urllib.parse import parse_qsl

import pytest

from adapters import alipay_openapi
from adapters.errors import MalformedNotification
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay import AlipayConfig, AlipayGateway
from leasecore.ports import DepositFreezer, InvalidSignature
from tests.peers.alipay import AlipayPeer

from .fakes import rsa2_verifies

APP_ID = "2021004100000001"
NOTIFY_URL = "https://leasecore.test/v1/payments/notify/alipay"
REF = "fz" + "0" * 32
AUTH_NO = "2026013110002001440212345678"


class FundAuthPeer(AlipayPeer):
    """Alipay's gateway for fund authorization: it verifies the app's RSA2 signature on every call, answers
    signed, charges and unfreezes once per ref (a repeat gets the first answer) and never beyond what is frozen."""

    def __init__(self, merchant_key: Any, provider_key: Any, fund: D, credit: D) -> None:
        handlers = {
            "alipay.trade.pay": self.pay,
            "alipay.fund.auth.order.unfreeze": self.unfreeze,
            "alipay.fund.auth.operation.detail.query": self.query,
        }
        super().__init__(merchant_key.public_key(), provider_key, APP_ID, handlers)
        self.fund, self.credit = fund, credit
        self.taken = self.unfrozen = D("0.00")
        self.done: dict[str, dict[str, Any]] = {}

    def pay(self, biz: dict[str, Any]) -> dict[str, Any]:
        assert (biz["product_code"], biz["auth_no"]) == ("PRE_AUTH_ONLINE", AUTH_NO)
        ref = biz["out_trade_no"]
        if ref not in self.done:
            amount = D(biz["total_amount"])
            if amount > self.rest:
                return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.AMOUNT_EXCEED_LIMIT"}
            self.taken += amount
            if biz["auth_confirm_mode"] == "COMPLETE":
                self.unfrozen += self.rest
            trade_no = f"2026013122001404011{len(self.done):09d}"
            self.done[ref] = {"code": "10000", "msg": "Success", "out_trade_no": ref, "trade_no": trade_no}
        return self.done[ref]

    def unfreeze(self, biz: dict[str, Any]) -> dict[str, Any]:
        ref = biz["out_request_no"]
        if ref not in self.done:
            amount = D(biz["amount"])
            if amount > self.rest:
                return {"code": "40004", "msg": "Business Failed", "sub_code": "UNFREEZE_AMOUNT_EXCEED"}
            self.unfrozen += amount
            operation_id = f"20260131{len(self.done):012d}"
            answer = {"code": "10000", "msg": "Success", "auth_no": AUTH_NO, "operation_id": operation_id}
            self.done[ref] = {**answer, "out_request_no": ref, "amount": biz["amount"], "status": "SUCCESS"}
        return self.done[ref]

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        if biz["out_request_no"] != REF:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "AUTH_OPERATION_NOT_EXIST"}
        return {
            "code": "10000",
            "msg": "Success",
            "auth_no": AUTH_NO,
            "out_order_no": REF,
            "operation_id": "20260131000000009999",
            "out_request_no": REF,
            "amount": str(self.fund + self.credit),
            "operation_type": "FREEZE",
            "status": "SUCCESS",
            "credit_amount": str(self.credit),
            "fund_amount": str(self.fund),
            "gmt_trans": "2026-01-31 10:00:05",
        }

    @property
    def rest(self) -> D:
        return self.fund - self.taken - self.unfrozen

    def freeze_notification(self, **overrides: str) -> bytes:
        """The freeze notification Alipay posts once the customer confirmed, signed with Alipay's key."""
        params = {
            "notify_time": "2026-01-31 10:00:06",
            "notify_type": "fund_auth_freeze",
            "notify_id": "2026013100222100006000000000",
            "app_id": APP_ID,
            "charset": "utf-8",
            "version": "1.0",
            "auth_no": AUTH_NO,
            "operation_id": "20260131000000009999",
            "out_order_no": REF,
            "out_request_no": REF,
            "operation_type": "FREEZE",
            "amount": str(self.fund + self.credit),
            "total_freeze_amount": str(self.fund + self.credit),
            "credit_amount": str(self.credit),
            "fund_amount": str(self.fund),
            "status": "SUCCESS",
            "gmt_trans": "2026-01-31 10:00:05",
            **overrides,
        }
        return self.notification(params)


@pytest.fixture
def alipay(merchant_key, provider_key):
    peer = FundAuthPeer(merchant_key, provider_key, fund=D("1500.00"), credit=D("500.00"))
    with peer:
        yield peer
    assert peer.failures == []


@pytest.fixture
def gateway(alipay, merchant_key, provider_key, clock):
    config = AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url=f"{alipay.url}/gateway.do",
    )
    return AlipayGateway(config, clock=clock)


def test_the_freeze_order_string_is_a_signed_online_preauthorization(gateway, merchant_key):
    assert isinstance(gateway, DepositFreezer)
    request = gateway.create_freeze(REF, D("2000.00"), "deposit", NOTIFY_URL)
    params = dict(parse_qsl(request.pay_params["order_string"]))
    assert params["method"] == "alipay.fund.auth.order.app.freeze" and params["notify_url"] == NOTIFY_URL
    signed = alipay_openapi.request_sign_content(params).encode()
    assert rsa2_verifies(merchant_key.public_key(), signed, params["sign"])
    biz = json.loads(params["biz_content"])
    assert (biz["out_order_no"], biz["out_request_no"], biz["amount"], biz["product_code"]) == (
        REF,
        REF,
        "2000.00",
        "PRE_AUTH_ONLINE",
    )
    assert json.loads(biz["extra_param"]) == {"category": "RENT_PHONE"}


def test_a_freeze_notification_verifies_and_carries_what_alipay_waived_on_credit(gateway, alipay):
    notified = gateway.freeze_notification(alipay.freeze_notification(), {})
    assert notified is not None
    assert (notified.out_request_no, notified.auth_no, notified.operation_id) == (REF, AUTH_NO, "20260131000000009999")
    assert (notified.amount, notified.fund_amount, notified.credit_amount) == (D("2000.00"), D("1500.00"), D("500.00"))


def test_a_tampered_or_inconsistent_freeze_notification_is_refused(gateway, alipay, provider_key):
    body = alipay.freeze_notification()
    with pytest.raises(InvalidSignature):
        gateway.freeze_notification(body.replace(b"fund_amount=1500.00", b"fund_amount=2000.00"), {})
    with pytest.raises(MalformedNotification, match="do not make"):
        gateway.freeze_notification(alipay.freeze_notification(fund_amount="1600.00"), {})
    with pytest.raises(MalformedNotification, match="app_id"):
        gateway.freeze_notification(alipay.freeze_notification(app_id="2021000000000009"), {})


def test_a_trade_notification_is_not_a_freeze(gateway, provider_key):
    params = {"notify_type": "trade_status_sync", "app_id": APP_ID, "out_trade_no": "p-1", "trade_no": "t"}
    body = alipay_openapi.encode_form(alipay_openapi.sign_notification(params, provider_key)).encode()
    assert gateway.freeze_notification(body, {}) is None


def test_a_charge_from_the_freeze_and_the_unfreeze_of_the_rest_are_each_done_once(gateway, alipay):
    for _ in range(2):
        taken = gateway.take_from_freeze(AUTH_NO, "ft-1", D("400.00"), "damage", completes=False)
        released = gateway.unfreeze(AUTH_NO, "fu-2", D("1100.00"), "deposit released")
    assert (taken.accepted, taken.provider_ref, released.accepted) == (True, "2026013122001404011000000000", True)
    assert released.provider_ref == "20260131000000000001"
    assert (alipay.taken, alipay.unfrozen, alipay.rest) == (D("400.00"), D("1100.00"), D("0.00"))
    sent = [json.loads(request.form["biz_content"]) for request in alipay.received]
    assert [body.get("auth_confirm_mode") for body in sent] == ["NOT_COMPLETE", None, "NOT_COMPLETE", None]


def test_a_completing_charge_unfreezes_the_rest_and_a_charge_beyond_the_freeze_is_refused(gateway, alipay):
    refused = gateway.take_from_freeze(AUTH_NO, "ft-9", D("1500.01"), "damage", completes=False)
    assert (refused.accepted, refused.reason) == (False, "ACQ.AMOUNT_EXCEED_LIMIT: Business Failed")
    taken = gateway.take_from_freeze(AUTH_NO, "ft-1", D("300.00"), "arrears", completes=True)
    assert taken.accepted and (alipay.taken, alipay.unfrozen) == (D("300.00"), D("1200.00"))


def test_a_freeze_whose_notification_was_lost_is_found_by_asking(gateway):
    found = gateway.query_freeze(REF)
    assert found is not None and (found.auth_no, found.fund_amount, found.credit_amount) == (
        AUTH_NO,
        D("1500.00"),
        D("500.00"),
    )
    assert gateway.query_freeze("fz" + "1" * 32) is None

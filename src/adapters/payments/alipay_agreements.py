"""Alipay cycle-pay agreements (周期扣款): the customer signs `alipay.user.agreement.page.sign`, Alipay notifies the
signature (`dut_user_sign`) or its end (`dut_user_unsign`), the platform charges with `alipay.trade.pay` under the
agreement's `agreement_no` and ends it with `alipay.user.agreement.unsign`. The wire is the open platform's
(`adapters.alipay_openapi`), signed and verified with the app's keys as every other Alipay call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import AlipayAnswer, AlipayConfig
from adapters.amounts import parse_yuan, require_positive, yuan_string
from adapters.errors import MalformedNotification, ProviderError
from adapters.keys import load_public_key
from leasecore.clock import SystemClock
from leasecore.ports import AgreementNotification, AgreementRequest, AgreementTerms, ChargeResult, Clock

SIGN_METHOD = "alipay.user.agreement.page.sign"
UNSIGN_METHOD = "alipay.user.agreement.unsign"
PAY_METHOD = "alipay.trade.pay"
PERSONAL_PRODUCT_CODE = "CYCLE_PAY_AUTH_P"
PRODUCT_CODE = "CYCLE_PAY_AUTH"
CHARGE_PRODUCT_CODE = "GENERAL_WITHHOLDING"
DEFAULT_SIGN_SCENE = "INDUSTRY|DIGITAL_MEDIA"
"""The scene is the one agreed with Alipay for the merchant's industry; Alipay's published example by default."""
SIGN_NOTIFY_TYPE = "dut_user_sign"
UNSIGN_NOTIFY_TYPE = "dut_user_unsign"
SIGNED_STATUS = "NORMAL"
UNSIGNED_STATUS = "UNSIGN"
REFUSED_CODES = "4"
"""40004 (a business refusal) and the other 4xxxx: the trade was not made. 10003 (waiting for the buyer) and 20000
(Alipay's own failure) say nothing certain."""
APP_SCHEME = "alipays://platformapi/startapp?appId=60000157&appClearTop=false&startMultApp=YES&sign_params="


def sign_biz_content(terms: AgreementTerms, sign_scene: str) -> dict[str, Any]:
    """The page.sign request: monthly charges of at most `single_amount` from the first charge's date on."""
    rule: dict[str, Any] = {
        "period_type": "MONTH",
        "period": 1,
        "execute_time": terms.first_charge.isoformat(),
        "single_amount": yuan_string(require_positive(terms.single_amount)),
        "total_payments": terms.periods,
    }
    if terms.total_amount is not None:
        rule["total_amount"] = yuan_string(terms.total_amount)
    return {
        "personal_product_code": PERSONAL_PRODUCT_CODE,
        "product_code": PRODUCT_CODE,
        "sign_scene": sign_scene,
        "external_agreement_no": terms.external_agreement_no,
        "access_params": {"channel": "ALIPAYAPP"},
        "period_rule_params": rule,
    }


def charge_biz_content(agreement_no: str, payment_id: str, amount: Decimal, subject: str) -> dict[str, Any]:
    return {
        "out_trade_no": payment_id,
        "total_amount": yuan_string(require_positive(amount)),
        "subject": subject,
        "product_code": CHARGE_PRODUCT_CODE,
        "agreement_params": {"agreement_no": agreement_no},
    }


def agreement_notification(params: Mapping[str, str], app_id: str) -> AgreementNotification | None:
    """A verified notification read as an agreement signed or ended; None for any other notification."""
    kind = params.get("notify_type")
    if kind not in (SIGN_NOTIFY_TYPE, UNSIGN_NOTIFY_TYPE):
        return None
    missing = [name for name in ("agreement_no", "external_agreement_no", "status", "app_id") if not params.get(name)]
    if missing:
        raise MalformedNotification(f"the agreement notification lacks {', '.join(missing)}")
    if params["app_id"] != app_id:
        raise MalformedNotification(f"the notification is for app_id {params['app_id']}, not {app_id}")
    status = params["status"]
    if status not in (SIGNED_STATUS, UNSIGNED_STATUS):
        raise MalformedNotification(f"agreement status {status} is neither NORMAL nor UNSIGN")
    moment = params.get("sign_time" if status == SIGNED_STATUS else "unsign_time") or params.get("notify_time", "")
    try:
        at = alipay_openapi.parse_alipay_time(moment)
    except ValueError as error:
        raise MalformedNotification(f"the agreement notification's time {moment!r} is not an Alipay time") from error
    return AgreementNotification(
        params["external_agreement_no"], params["agreement_no"], status == SIGNED_STATUS, at, dict(params)
    )


def charge_result(answer: AlipayAnswer, payment_id: str, amount: Decimal, now: datetime) -> ChargeResult:
    """`alipay.trade.pay`'s synchronous answer: 10000 with TRADE_SUCCESS is paid; a signed refusal (40004 with a
    sub_code such as ACQ.BUYER_BALANCE_NOT_ENOUGH) failed for that reason; anything else leaves the charge in doubt
    (a `ProviderError`), to be settled by asking about the trade."""
    payload = answer.payload
    if not answer.signed:
        raise ProviderError(f"Alipay's {PAY_METHOD} answer for {payment_id} is unsigned: {answer.reason}", answer.code)
    if answer.succeeded and payload.get("trade_status", "TRADE_SUCCESS") in alipay_openapi.PAID_STATUSES:
        if payload.get("out_trade_no", payment_id) != payment_id:
            raise ProviderError(f"Alipay answered a charge of {payload['out_trade_no']}, not {payment_id}")
        trade_no = payload.get("trade_no")
        if not isinstance(trade_no, str) or not trade_no:
            raise ProviderError(f"Alipay says {payment_id} is paid but names no trade_no")
        return ChargeResult(payment_id, True, _paid(payload, amount), trade_no, _paid_at(payload, now))
    if not str(payload.get("code", "")).startswith(REFUSED_CODES):
        raise ProviderError(f"Alipay has not settled the charge {payment_id} yet: {answer.reason}", answer.code)
    return ChargeResult(payment_id, False, amount, reason=answer.reason)


def _paid(payload: Mapping[str, Any], asked: Decimal) -> Decimal:
    total = payload.get("total_amount")
    try:
        return parse_yuan(total) if isinstance(total, str) else asked
    except ValueError as error:
        raise ProviderError(f"Alipay's total_amount {total!r} is not an amount in yuan") from error


def _paid_at(payload: Mapping[str, Any], now: datetime) -> datetime:
    text = payload.get("gmt_payment")
    if not text:
        return now
    try:
        return alipay_openapi.parse_alipay_time(str(text))
    except ValueError as error:
        raise ProviderError(f"Alipay's gmt_payment {text!r} is not an Alipay time") from error


class AlipayAgreements:
    """An `AgreementGateway` for Alipay cycle-pay: sign, notifications, charges and unsign."""

    def __init__(
        self,
        config: AlipayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        provider: str = "alipay",
        sign_scene: str = DEFAULT_SIGN_SCENE,
    ) -> None:
        self.provider, self.config, self.sign_scene = provider, config, sign_scene
        self._public_key = load_public_key(config.alipay_public_key_pem)
        self._clock = clock or SystemClock()
        self._client = alipay_openapi.AlipayClient.from_config(config, http_client, self._clock)

    def sign_agreement(self, terms: AgreementTerms, notify_url: str) -> AgreementRequest:
        """The signed page.sign string the app opens in Alipay; nothing is sent from the server."""
        params = self._client.signed_params(SIGN_METHOD, sign_biz_content(terms, self.sign_scene), notify_url)
        encoded = alipay_openapi.encode_form(params)
        pay_params = {
            "sign_string": encoded,
            "sign_url": f"{self.config.gateway_url}?{encoded}",
            "app_url": APP_SCHEME + quote(encoded, safe=""),
        }
        return AgreementRequest(terms.external_agreement_no, self.provider, pay_params)

    def agreement_notification(self, body: bytes, headers: Mapping[str, str]) -> AgreementNotification | None:
        params = alipay_openapi.verify_notification(body, self._public_key)
        return agreement_notification(params, self.config.app_id)

    def charge_agreement(self, agreement_no: str, payment_id: str, amount: Decimal, subject: str) -> ChargeResult:
        answer = self._client.call(PAY_METHOD, charge_biz_content(agreement_no, payment_id, amount, subject))
        return charge_result(answer, payment_id, amount, self._clock.now())

    def unsign_agreement(self, agreement_no: str) -> None:
        biz_content = {
            "agreement_no": agreement_no,
            "personal_product_code": PERSONAL_PRODUCT_CODE,
            "sign_scene": self.sign_scene,
        }
        answer = self._client.call(UNSIGN_METHOD, biz_content)
        if not answer.succeeded:
            raise ProviderError(f"Alipay refused {UNSIGN_METHOD} of {agreement_no}: {answer.reason}", answer.code)

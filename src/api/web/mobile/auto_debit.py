"""Rent by auto-debit (自动扣款) on the phone: the order's agreement and every charge made under it, with the
provider's reason for each failure; turned on (then signed at the provider: in sandbox mode on the sandbox's own
step) and turned off, over the same commands as `POST /v1/orders/{id}/auto-debit` and its cancel."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

import projections.auto_debits
from adapters.errors import AdapterError
from adapters.payments.sandbox_agreements import SandboxAgreements
from api.http import answers
from api.processes import auto_debit as charging
from api.web import i18n
from api.web.mobile.frame import MobilePage, Pages, error_page
from leasecore.errors import LeaseError
from leasecore.money.auto_debit import RETRY_DAYS

pages = Pages()

WORDS = {
    "m.autodebit.title": ("自动扣款", "Auto-debit"),
    "m.autodebit.link": ("自动扣款", "Pay rent by auto-debit"),
    "m.autodebit.explain": (
        "开通后，每期租金在还款日自动从 {provider} 扣款；扣款失败时，在首次失败后第 {days} 天再试。"
        "已手动还清的账单不会再扣。",
        "Once on, each installment is charged through {provider} on its due date; after a failed charge it is "
        "tried again on days {days} after the first failure. An installment you paid yourself is never charged.",
    ),
    "m.autodebit.state.none": ("未开通", "Off"),
    "m.autodebit.state.signing": ("待签约", "Waiting for your signature"),
    "m.autodebit.state.active": ("已开通", "On"),
    "m.autodebit.state.cancelled": ("已关闭", "Off"),
    "m.autodebit.agreement_no": ("协议号", "Agreement"),
    "m.autodebit.cancelled_reason": ("关闭原因", "Turned off because"),
    "m.autodebit.turn_on": ("开通自动扣款", "Turn on auto-debit"),
    "m.autodebit.sign": ("去签约", "Sign the agreement"),
    "m.autodebit.sandbox_sign": ("在沙箱支付签约", "Sign at the sandbox provider"),
    "m.autodebit.turn_off": ("关闭自动扣款", "Turn off auto-debit"),
    "m.autodebit.attempts": ("扣款记录", "Charges"),
    "m.autodebit.attempt": ("第 {seq} 期 · 第 {number} 次", "Installment {seq} · try {number}"),
    "m.autodebit.attempt.charging": ("扣款中", "Charging"),
    "m.autodebit.attempt.succeeded": ("扣款成功", "Paid"),
    "m.autodebit.attempt.failed": ("扣款失败", "Failed"),
    "m.autodebit.no_attempts": ("还没有扣款。", "Nothing charged yet."),
    "m.autodebit.failed": ("操作没有成功", "That did not work"),
}
i18n.add(WORDS)


@pages.get("/orders/{id}/auto-debit")
def agreement(page: MobilePage) -> Response:
    """The agreement, its charges, and the buttons to turn it on or off."""
    order = answers.owned(page.views, page.path_id(), page.me)
    return _page(page, order.id)


@pages.post("/orders/{id}/auto-debit")
def turn_on(page: MobilePage) -> Response:
    """As `POST /v1/orders/{id}/auto-debit`: then the customer signs at the provider."""
    order = answers.owned(page.views, page.path_id(), page.me)
    try:
        _, request = page.app.request_auto_debit(order.id)
    except (LeaseError, AdapterError) as error:
        return error_page(page, 409, page.t("m.autodebit.failed"), str(error))
    page.service.written()
    return _page(page, order.id, pay_params=request.pay_params)


@pages.post("/orders/{id}/auto-debit/sandbox-sign")
def sandbox_sign(page: MobilePage) -> Response:
    """Sandbox mode: the customer signs at the sandbox provider, which notifies the service as Alipay would."""
    order = answers.owned(page.views, page.path_id(), page.me)
    gateway = page.app.ports.agreements.get("sandbox")
    debit = page.app.find_auto_debit(order.id)
    if isinstance(gateway, SandboxAgreements) and debit is not None and gateway.agreement(debit.external_agreement_no):
        gateway.complete_signing(debit.external_agreement_no)
        page.service.written()
    return page.redirect(f"/orders/{order.id}/auto-debit")


@pages.post("/orders/{id}/auto-debit/cancel")
def turn_off(page: MobilePage) -> Response:
    """As `POST /v1/orders/{id}/auto-debit/cancel`: nothing more is charged."""
    order = answers.owned(page.views, page.path_id(), page.me)
    if page.app.find_auto_debit(order.id) is not None:
        charging.cancel(page.app, order.id, "turned off by the customer")
        page.service.written()
    return page.redirect(f"/orders/{order.id}/auto-debit")


def _page(page: MobilePage, order_id: Any, pay_params: dict[str, Any] | None = None) -> Response:
    view = projections.auto_debits.agreement(page.views, order_id)
    provider = view.provider if view and view.provider else next(iter(page.app.ports.agreements), "")
    return page.render(
        "mobile/auto_debit.html",
        order_id=order_id,
        debit=view,
        state=view.state if view else "none",
        attempts=view.attempts if view else (),
        explain=page.t("m.autodebit.explain", provider=provider, days=", ".join(map(str, RETRY_DAYS))),
        pay_params=pay_params,
        sandbox=isinstance(page.app.ports.agreements.get(provider), SandboxAgreements),
    )

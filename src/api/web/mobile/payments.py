"""Paying: what is being paid and how much, then the payment asked as `POST /v1/orders/{id}/payments` asks it. In
sandbox mode the customer then lands on the sandbox provider's own page, which settles or fails the payment and sends
its signed notification to the notify route, as a real provider's cashier would, and hands them back. Outside
sandbox mode the provider's `pay_params` are for the operator's app or a provider's JS SDK, not for this page."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode
from uuid import UUID, uuid4

from starlette.responses import RedirectResponse, Response

import projections.catalog
from adapters.errors import AdapterError
from adapters.payments.sandbox import SandboxFreeze
from adapters.sandboxes import Sandboxes
from api.http import answers
from api.http.schemas.payments import PaymentIn
from api.http.schemas.sandbox import Completion, FreezeCompletion
from api.web import i18n
from api.web.mobile.frame import FormInvalid, MobilePage, Pages, error_page
from api.web.pages import safe_next
from leasecore.errors import InvalidInput, NotFound
from leasecore.lease import Lease, LeaseStatus
from leasecore.money.deposit import order_of_ref
from leasecore.money.payments import Payment, PaymentPurpose, PaymentStatus
from leasecore.ports import FreezeRequest, PaymentRequest
from leasecore.values import ZERO
from projections.orders import OrderView

pages = Pages()

WORDS = {
    "m.pay.title": ("支付", "Pay"),
    "m.pay.order": ("订单", "Order"),
    "m.pay.what": ("支付内容", "For"),
    "m.pay.amount": ("支付金额", "Amount"),
    "m.pay.purpose.checkout": ("首付款（首期租金与押金）", "First payment (first rent and deposit)"),
    "m.pay.purpose.installments": ("租金账单", "Rent"),
    "m.pay.purpose.buyout": ("买断尾款", "Buyout"),
    "m.pay.purpose.damage": ("结算欠款", "Balance at settlement"),
    "m.pay.all_due": ("当前全部应付（含滞纳金）", "Everything due now, late fees included"),
    "m.pay.method": ("支付方式", "Pay with"),
    "m.pay.sandbox_method": ("沙箱支付（测试环境）", "Sandbox payment (test mode)"),
    "m.pay.submit": ("立即支付 {amount}", "Pay {amount}"),
    "m.pay.nothing": ("当前没有需要支付的款项", "Nothing is due now"),
    "m.pay.already": ("这笔款项已支付", "This has been paid"),
    "m.pay.to_order": ("查看订单", "See the order"),
    "m.pay.app_only": (
        "支付请求已创建。正式环境中，H5 页面会把下面的支付参数交给支付机构的 JS SDK（如支付宝、微信支付）拉起收银台，"
        "支付结果以支付机构的异步通知为准。",
        "The payment is asked. In production this page hands the parameters below to the provider's JS SDK "
        "(Alipay, WeChat Pay) to open its cashier; the provider's signed notification decides the outcome.",
    ),
    "m.pay.params": ("支付参数", "Payment parameters"),
    "m.provider.title": ("沙箱支付", "Sandbox Pay"),
    "m.provider.merchant": ("收款方", "Merchant"),
    "m.provider.subject": ("商品", "For"),
    "m.provider.trade_no": ("交易号", "Transaction"),
    "m.provider.note": (
        "这是测试环境的模拟收银台，不会产生真实扣款。",
        "This is the test mode's pretend cashier: no real money moves.",
    ),
    "m.provider.confirm": ("确认支付", "Confirm payment"),
    "m.provider.fail": ("支付失败", "Payment fails"),
    "m.provider.back": ("返回商家", "Back to the shop"),
    "m.provider.status.succeeded": ("支付成功", "Paid"),
    "m.provider.status.failed": ("支付未完成", "Not paid"),
    "m.provider.refused": ("支付未完成", "The payment did not go through"),
    "m.flash.payment_succeeded": ("支付成功", "Payment received"),
    "m.flash.payment_failed": ("支付未完成，可以重新支付", "The payment did not go through; you can pay again"),
    "m.pay.purpose.preauth": ("押金预授权（冻结，不扣款）", "Deposit pre-authorization (frozen, not charged)"),
    "m.freeze.title": ("沙箱资金授权", "Sandbox fund authorization"),
    "m.freeze.amount": ("冻结金额", "Amount to freeze"),
    "m.freeze.auth_no": ("授权号", "Authorization"),
    "m.freeze.credit": ("信用免冻结", "Waived on credit"),
    "m.freeze.fund": ("实际冻结", "Frozen"),
    "m.freeze.confirm": ("确认授权", "Authorize"),
    "m.flash.deposit_frozen": ("押金已冻结，请支付首期租金", "Deposit frozen; now pay the first rent"),
}
i18n.add(WORDS)


@pages.get("/orders/{id}/pay")
def pay_form(page: MobilePage) -> Response:
    """What the payment is for and what it will ask: the checkout's first payment, everything due now or a chosen
    amount of rent, the buyout's remainder or the balance at settlement (the amounts `POST .../payments` prices)."""
    order = answers.owned(page.views, page.path_id(), page.me)
    asked = _asked(page, page.query)
    if asked.purpose == "preauth":
        return _pay_page(page, order, asked, page.app.deposit(order.id).to_freeze)
    purpose = PaymentPurpose(asked.purpose)
    if purpose is PaymentPurpose.CHECKOUT and LeaseStatus(order.status) is not LeaseStatus.PENDING_PAYMENT:
        return page.redirect(f"/orders/{order.id}")
    return _pay_page(page, order, asked, _amount(page, order, purpose, asked.amount))


@pages.post("/orders/{id}/pay")
def pay(page: MobilePage) -> Response:
    """The payment asked of the first configured provider, as `POST /v1/orders/{id}/payments`; in sandbox mode
    the customer goes on to the sandbox provider's page."""
    order = answers.owned(page.views, page.path_id(), page.me)
    asked = _asked(page, page.form)
    if asked.purpose == "preauth":
        return _freeze(page, order, asked)
    request = page.app.collect(
        order.id, PaymentPurpose(asked.purpose), provider=None, amount=asked.amount, payment_id=_key(page)
    )
    page.service.written()
    target = _target(page, page.form.get("next"), order.id)
    if page.service.sandboxes is not None:
        return page.redirect(f"/pay/{request.payment_id}", next=target)
    return _pay_page(page, order, asked, request.amount, provider_request=request, status=201)


@pages.get("/pay/{payment_id}")
def provider(page: MobilePage) -> Response:
    """The sandbox provider's cashier: the amount, the merchant, and a button to pay or to fail."""
    payment, sandboxes = _sandbox_payment(page)
    try:
        record = sandboxes.payments.payment(str(payment.id))
    except AdapterError:
        raise NotFound("payment", payment.id) from None
    return page.render(
        "mobile/provider.html",
        payment=payment,
        record=record,
        app_id=sandboxes.payments.app_id,
        next=_target(page, page.query.get("next"), payment.order_id),
    )


@pages.post("/pay/{payment_id}")
def complete(page: MobilePage) -> Response:
    """As `POST /v1/sandbox/payments/{payment_id}/complete`: the provider settles the payment and sends its signed
    notification to the notify route; then back to the shop (the order, or where the payment was asked from)."""
    payment, sandboxes = _sandbox_payment(page)
    target = _target(page, page.form.get("next"), payment.order_id)
    try:
        completion = page.parse(Completion, {"outcome": page.form.get("outcome", "")})
    except FormInvalid as invalid:
        raise InvalidInput("outcome", invalid.errors.get("outcome", "")) from None
    try:
        sandboxes.payments.complete(str(payment.id), completion.outcome)
    except AdapterError as error:
        return error_page(page, 409, page.t("m.provider.refused"), str(error))
    page.service.written()
    succeeded = page.app.payment(payment.id).status is PaymentStatus.SUCCEEDED
    done = "payment_succeeded" if succeeded else "payment_failed"
    return RedirectResponse(f"{target}{'&' if '?' in target else '?'}{urlencode({'done': done})}", status_code=303)


def _freeze(page: MobilePage, order: OrderView, asked: PaymentIn) -> Response:
    """The deposit's freeze asked as `POST .../payments {"purpose": "preauth"}`; in sandbox mode the customer goes
    on to the sandbox provider's authorization page."""
    freeze = page.app.collect_preauth(order.id)
    page.service.written()
    target = _target(page, page.form.get("next"), order.id)
    if page.service.sandboxes is not None:
        return page.redirect(f"/freeze/{freeze.out_request_no}", next=target)
    return _pay_page(page, order, asked, freeze.amount, provider_request=freeze, status=201)


@pages.get("/freeze/{out_request_no}")
def freeze_page(page: MobilePage) -> Response:
    """The sandbox provider's fund authorization: the amount, the merchant, and a button to authorize it (a part
    may be waived on the provider's own credit)."""
    record, sandboxes = _sandbox_freeze(page)
    return page.render(
        "mobile/freeze.html",
        freeze=record,
        app_id=sandboxes.payments.app_id,
        next=_target(page, page.query.get("next"), order_of_ref(record.out_request_no)),
    )


@pages.post("/freeze/{out_request_no}")
def confirm_freeze(page: MobilePage) -> Response:
    """As `POST /v1/sandbox/freezes/{out_request_no}/complete`: the provider freezes the deposit and sends its signed
    notification to the notify route; then back to the order, to pay the first rent."""
    record, sandboxes = _sandbox_freeze(page)
    target = _target(page, page.form.get("next"), order_of_ref(record.out_request_no))
    try:
        completion = page.parse(FreezeCompletion, {"credit_amount": page.form.get("credit_amount") or "0.00"})
    except FormInvalid as invalid:
        raise InvalidInput("credit_amount", invalid.errors.get("credit_amount", "")) from None
    if completion.credit_amount > record.amount:
        raise InvalidInput("credit_amount", f"must not exceed the {record.amount} asked")
    try:
        sandboxes.payments.freeze(record.out_request_no, completion.credit_amount)
    except AdapterError as error:
        return error_page(page, 409, page.t("m.provider.refused"), str(error))
    page.service.written()
    return RedirectResponse(f"{target}{'&' if '?' in target else '?'}{urlencode({'done': 'deposit_frozen'})}", 303)


def _sandbox_freeze(page: MobilePage) -> tuple[SandboxFreeze, Sandboxes]:
    """The customer's own freeze at the sandbox provider; none outside sandbox mode, nor anyone else's (404)."""
    sandboxes = page.service.sandboxes
    ref = str(page.request.path_params["out_request_no"])
    record = sandboxes.payments.freeze_book.freezes.get(ref) if sandboxes is not None else None
    if sandboxes is None or record is None:
        raise NotFound("freeze", ref)
    try:
        answers.owned(page.views, order_of_ref(ref), page.me)
    except ValueError:
        raise NotFound("freeze", ref) from None
    return record, sandboxes


def _asked(page: MobilePage, fields: Mapping[str, str]) -> PaymentIn:
    """The purpose and amount as the API's body reads them (a mistake is a page in words, 422)."""
    try:
        return page.parse(PaymentIn, {name: fields[name] for name in ("purpose", "amount") if fields.get(name)})
    except FormInvalid as invalid:
        name, message = next(iter(invalid.errors.items()))
        raise InvalidInput(name, message) from None


def _amount(page: MobilePage, order: OrderView, purpose: PaymentPurpose, amount: Decimal | None) -> Decimal:
    """What the payment will ask, priced as `request_payment` prices it: the checkout's due now, the amount chosen
    or everything due today, the buyout's remainder after the deposit, or all still owed at settlement."""
    if purpose is PaymentPurpose.CHECKOUT:
        return order.due_now
    if purpose is PaymentPurpose.INSTALLMENTS and amount is not None:
        return amount
    if purpose is PaymentPurpose.BUYOUT:
        return page.app.buyout_quote(order.id)[1]
    lease = page.app.get(Lease, order.id, "order", to_change=False)
    now = page.app.clock.now()
    return lease.owed_by(now) if purpose is PaymentPurpose.INSTALLMENTS else lease.owed(now)


def _pay_page(
    page: MobilePage,
    order: OrderView,
    asked: PaymentIn,
    amount: Decimal,
    *,
    status: int = 200,
    provider_request: PaymentRequest | FreezeRequest | None = None,
) -> Response:
    product = projections.catalog.product(page.views, order.product_id)
    return page.render(
        "mobile/pay.html",
        status,
        order=order,
        product=product.details.name if product else "",
        purpose=asked.purpose,
        chosen=asked.amount,
        amount=amount,
        payable=amount > ZERO,
        sandbox=page.service.sandboxes is not None,
        next=_target(page, page.query.get("next") or page.form.get("next"), order.id),
        provider_request=provider_request,
        payment_key=page.form.get("payment_key") or uuid4(),
    )


def _key(page: MobilePage) -> UUID | None:
    """The form's one-time key, the payment's id: a form sent twice asks one payment."""
    try:
        return UUID(page.form.get("payment_key", ""))
    except ValueError:
        return None


def _sandbox_payment(page: MobilePage) -> tuple[Payment, Sandboxes]:
    """The customer's own payment at the sandbox provider; none outside sandbox mode, nor anyone else's (404)."""
    sandboxes = page.service.sandboxes
    payment_id = page.path_id("payment_id")
    if sandboxes is None:
        raise NotFound("payment", payment_id)
    payment = page.app.payment(payment_id)
    if payment.customer_id != page.me or payment.provider != sandboxes.payments.provider:
        raise NotFound("payment", payment_id)
    return payment, sandboxes


def _target(page: MobilePage, asked: str | None, order_id: UUID) -> str:
    """Where the customer goes back to: a page of this app they came from, else the order."""
    if asked and safe_next(asked, page.base) == asked:
        return asked
    return page.url(f"/orders/{order_id}")

"""My orders: the list (newest first, each with what is due), and an order's page: where it stands on a timeline of
what happened and what comes next, its figures, why review decided as it did, where the parcel is, and the one thing
the status lets the customer do next (pay, cancel, read and sign the contract, confirm receipt). The answers are the
API's own (`GET /v1/orders`, `GET /v1/orders/{id}`, its tracking), the commands the API's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from starlette.responses import Response

import projections.catalog
import projections.installments
import projections.orders
from adapters.errors import AdapterError
from api.http import answers
from api.http.schemas import orders as schemas
from api.http.schemas.orders import OrderOut
from api.web import i18n
from api.web.formatting import day, money, percent
from api.web.mobile.frame import FormInvalid, MobilePage, Pages, error_page
from leasecore.errors import LeaseError
from leasecore.lease import RENT_PAYABLE, Lease, LeaseStatus
from leasecore.lease.contract import contract_text
from leasecore.lease.lease import CANCELLABLE, STATUS_AFTER
from leasecore.lease.reasons import BY_CUSTOMER
from leasecore.ports import SigningSession, TrackingStatus
from leasecore.values import ZERO, total
from projections.catalog import ProductView
from projections.installments import InstallmentView
from projections.orders import OrderView, PlanView

pages = Pages()

PER_PAGE = 10
"""Orders on one page of the list: a phone's screenful or two."""

WORDS = {
    "m.orders.title": ("我的订单", "My orders"),
    "m.orders.empty": ("还没有订单，去首页挑一件吧", "No orders yet: pick something on the home page"),
    "m.orders.shop": ("去逛逛", "Go shopping"),
    "m.orders.placed": ("下单 {time}", "Placed {time}"),
    "m.orders.due_now": ("待支付 {amount}", "{amount} to pay"),
    "m.orders.next_due": ("下期 {day} 应付 {amount}", "Next: {amount} on {day}"),
    "m.orders.overdue": ("已逾期 {days} 天", "{days} days overdue"),
    "m.orders.newer": ("上一页", "Newer"),
    "m.orders.older": ("下一页", "Older"),
    "m.orders.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "m.orders.pages": ("订单分页", "Pages of orders"),
    "m.order.title": ("订单详情", "Order"),
    "m.order.number": ("订单号", "Order number"),
    "m.order.plan": ("租期", "Term"),
    "m.order.short_plan": ("{start} 至 {end}（{days} 天）", "{start} to {end} ({days} days)"),
    "m.order.protection": ("意外保障", "Accident protection"),
    "m.order.protected": ("已选", "Included"),
    "m.order.unprotected": ("未选", "Not included"),
    "m.order.progress": ("订单进度", "Progress"),
    "m.order.figures": ("费用", "Figures"),
    "m.order.rent_total": ("总租金", "Total rent"),
    "m.order.protection_total": ("保障服务费", "Protection"),
    "m.order.installments": ("{count} 期，首期 {amount}", "{count} installments, the first {amount}"),
    "m.order.deposit_paid": ("已付押金", "Deposit paid"),
    "m.order.review": ("审核说明", "Review"),
    "m.order.review_pending": (
        "您的订单正在人工审核，通常 1 个工作日内完成。原因：",
        "Your order is being reviewed by a person, usually within a working day. Why:",
    ),
    "m.order.review_rejected": (
        "很抱歉，订单未通过审核，已付款项将原路退回。",
        "Sorry, the order was not approved; what you paid is refunded to where it came from.",
    ),
    "m.order.reason": ("原因：{reason}", "Reason: {reason}"),
    "m.order.delivery": ("收货信息", "Delivery"),
    "m.order.logistics": ("物流信息", "Shipping"),
    "m.order.carrier": ("承运商", "Carrier"),
    "m.order.tracking_no": ("运单号", "Tracking number"),
    "m.order.serial": ("设备序列号", "Serial number"),
    "m.order.no_events": ("快递公司暂无轨迹，请稍后再看", "The carrier has no scans yet; look again later"),
    "m.order.tracking_unavailable": ("暂时无法查询物流", "Tracking is unavailable just now"),
    "m.order.delivered": ("已签收", "Delivered"),
    "m.order.actions": ("可以办理", "What you can do"),
    "m.order.pay": ("去支付", "Pay"),
    "m.order.cancel": ("取消订单", "Cancel the order"),
    "m.order.sign": ("阅读并签署合同", "Read and sign the contract"),
    "m.order.receive": ("确认收货", "Confirm receipt"),
    "m.order.receive_hint": (
        "收到商品并检查无误后再确认；确认当天起算租期。",
        "Confirm once the device has arrived and works: the lease starts the day you confirm.",
    ),
    "m.order.bills": ("账单与还款", "Bills"),
    "m.order.end": ("到期处理（归还 / 续租 / 买断 / 换机）", "End of term (return, renew, buy out, swap)"),
    "m.order.settlement": ("结算单", "Settlement statement"),
    "m.order.pay_balance": ("支付结算欠款", "Pay the balance"),
    "m.order.help": ("联系客服", "Contact us"),
    "m.order.next.pending_payment": ("请在下单后尽快支付首付款", "Pay the first payment to go on"),
    "m.order.next.pending_review": ("已付款，订单审核中", "Paid; the order is being reviewed"),
    "m.order.next.pending_contract": ("审核通过，请阅读并签署租赁合同", "Approved: read and sign the lease contract"),
    "m.order.next.pending_shipment": ("合同已签署，仓库正在备货发货", "Signed; the warehouse is getting it ready"),
    "m.order.next.shipped": ("商品已发出，收到后请确认收货", "On its way: confirm receipt once it arrives"),
    "m.order.next.leasing": ("租用中，请按时还款", "Leasing: pay each installment on time"),
    "m.order.next.returning": ("设备寄回中，仓库收到后检测", "Coming back; inspected when it arrives"),
    "m.order.next.inspecting": ("仓库正在检测归还的设备", "The returned device is being inspected"),
    "m.order.next.pending_settlement": (
        "押金不足以结清，请支付剩余欠款",
        "The deposit does not cover what is owed: pay the balance",
    ),
    "m.order.next.bought_out": ("已买断，设备归您所有", "Bought out: the device is yours"),
    "m.order.next.settled": ("订单已完成", "The order is settled"),
    "m.order.next.rejected": ("订单未通过审核", "The order was not approved"),
    "m.order.next.cancelled": ("订单已取消", "The order was cancelled"),
    "m.order.status.pending_payment": ("待支付", "To pay"),
    "m.order.status.pending_review": ("待审核", "In review"),
    "m.order.status.rejected": ("已拒绝", "Rejected"),
    "m.order.status.cancelled": ("已取消", "Cancelled"),
    "m.order.status.pending_contract": ("待签约", "To sign"),
    "m.order.status.pending_shipment": ("待发货", "To ship"),
    "m.order.status.shipped": ("已发货", "Shipped"),
    "m.order.status.leasing": ("租用中", "Leasing"),
    "m.order.status.returning": ("归还中", "Returning"),
    "m.order.status.inspecting": ("检测中", "Inspecting"),
    "m.order.status.pending_settlement": ("待结清", "Balance due"),
    "m.order.status.bought_out": ("已买断", "Bought out"),
    "m.order.status.settled": ("已完成", "Settled"),
    "m.order.step.OrderPlaced": ("提交订单", "Order placed"),
    "m.order.step.CheckoutPaid": ("支付首付款", "First payment made"),
    "m.order.step.ReviewQueued": ("转人工审核", "Sent for review"),
    "m.order.step.ReviewApproved": ("审核通过", "Approved"),
    "m.order.step.ReviewRejected": ("审核未通过", "Not approved"),
    "m.order.step.Cancelled": ("订单取消", "Cancelled"),
    "m.order.step.ContractSigned": ("签署合同", "Contract signed"),
    "m.order.step.Shipped": ("商品发货", "Shipped"),
    "m.order.step.Delivered": ("确认收货，开始租用", "Received; the lease starts"),
    "m.order.step.RenewalAgreed": ("续租", "Renewed"),
    "m.order.step.ReturnRequested": ("寄回设备", "Sent back"),
    "m.order.step.SwappedOut": ("换机：寄回旧机", "Swap: the old device sent back"),
    "m.order.step.DeviceReturned": ("仓库收到设备", "Received back"),
    "m.order.step.InspectionCompleted": ("检测完成", "Inspected"),
    "m.order.step.SettlementPending": ("待补缴欠款", "Balance to pay"),
    "m.order.step.BoughtOut": ("买断", "Bought out"),
    "m.order.step.Settled": ("结算完成，押金退回", "Settled; deposit refunded"),
    "m.order.cancel.title": ("取消订单", "Cancel the order"),
    "m.order.cancel.question": ("确定要取消这个订单吗？", "Cancel this order?"),
    "m.order.cancel.refund": (
        "已支付的 {amount} 将原路退回，占用的免押额度同时恢复。",
        "The {amount} you paid goes back to where it came from, and the waiver it held is free again.",
    ),
    "m.order.cancel.nothing_paid": (
        "订单尚未付款，取消后占用的库存和免押额度立即释放。",
        "Nothing was paid; the unit and the waiver it held are released at once.",
    ),
    "m.order.cancel.reason": ("取消原因（选填）", "Why (optional)"),
    "m.order.cancel.confirm": ("确认取消", "Yes, cancel it"),
    "m.order.cancel.keep": ("再想想", "Keep the order"),
    "m.contract.title": ("租赁合同", "Lease contract"),
    "m.contract.lead": (
        "请完整阅读合同，滑动到底部后才能签署。",
        "Read the whole contract: you can sign once you have scrolled to its end.",
    ),
    "m.contract.text": ("合同正文", "The contract"),
    "m.contract.schedule": ("附件一：分期计划", "Annex 1: the installments"),
    "m.contract.schedule_note": (
        "长租的到期日自确认收货之日起算，以签收后账单为准。",
        "For a long-term lease the due dates count from the day you confirm receipt; your bills then show them.",
    ),
    "m.contract.seq": ("期数", "No."),
    "m.contract.due": ("到期日", "Due"),
    "m.contract.amount": ("应付", "Amount"),
    "m.contract.fees": ("附件二：逾期费用规则", "Annex 2: late fees"),
    "m.contract.fee_rule": (
        "到期后宽限 {grace} 天；之后每逾期一天，按该期未付金额的 {rate}% 计收滞纳金，"
        "每期滞纳金最多为该期金额的 {cap}%。",
        "{grace} days' grace after a due date; then each day overdue costs {rate}% of what is unpaid of the "
        "installment, at most {cap}% of the installment in all.",
    ),
    "m.contract.fee_rule_fixed": (
        "到期后宽限 {grace} 天；之后每逾期一天，按该期未付金额的 {rate}% 加 {fixed} 计收滞纳金，"
        "每期滞纳金最多为该期金额的 {cap}%。",
        "{grace} days' grace after a due date; then each day overdue costs {rate}% of what is unpaid of the "
        "installment plus {fixed}, at most {cap}% of the installment in all.",
    ),
    "m.contract.rules": ("费用规则与算例", "The fee rules, with a worked example"),
    "m.contract.agree": ("我已阅读并同意《租赁合同》", "I have read and accept the lease contract"),
    "m.contract.must_agree": ("请先阅读合同并勾选同意", "Read the contract and tick that you accept it"),
    "m.contract.sign": ("签署合同", "Sign the contract"),
    "m.contract.signing_failed": ("签署未完成", "The contract was not signed"),
    "m.signing.title": ("前往 e签宝 签署", "Sign at e签宝"),
    "m.signing.lead": (
        "合同在 e签宝 签署：点下方按钮前往，签署完成后回到本订单。",
        "The contract is signed at e签宝: tap below to go there; once signed you come back to this order.",
    ),
    "m.signing.go": ("去签署", "Sign now"),
    "m.signing.back": ("返回订单", "Back to the order"),
    "m.flash.order_cancelled": ("订单已取消", "The order is cancelled"),
    "m.order.freeze": ("授权冻结押金", "Freeze the deposit"),
    "m.flash.contract_signed": ("合同签署成功，我们将尽快发货", "Signed: we will ship it soon"),
    "m.flash.receipt_confirmed": ("已确认收货，租期从今天开始", "Receipt confirmed: the lease starts today"),
}
i18n.add(WORDS)

MILESTONES = frozenset(STATUS_AFTER) | {"OrderPlaced", "ReviewQueued", "InspectionCompleted", "RenewalAgreed"}
"""The lease's events a customer's timeline shows: those that move the order, and a few they will want to see."""
AHEAD = ("OrderPlaced", "CheckoutPaid", "ReviewApproved", "ContractSigned", "Shipped", "Delivered")
"""The way from placing an order to holding the device: what an open order still has before it."""


@dataclass(frozen=True)
class Step:
    """A point of the order's timeline: done (when, in the billing timezone) or still to come."""

    key: str
    title: str
    time: str | None

    @property
    def done(self) -> bool:
        return self.time is not None


@dataclass(frozen=True)
class Due:
    """What the order asks of the customer next: now (the first payment) or on an installment's due date."""

    amount: Decimal
    day: date | None
    days_overdue: int


@dataclass(frozen=True)
class OrderCard:
    order: OrderView
    product: str
    plan: str
    due: Due | None


@dataclass(frozen=True)
class Action:
    """Something the status lets the customer do: a link, or a form posting to `href` (with the CSRF token)."""

    key: str
    label: str
    href: str
    post: bool = False
    primary: bool = False


@pages.get("/orders")
def my_orders(page: MobilePage) -> Response:
    """The customer's orders newest first, as `GET /v1/orders` answers them, a page at a time; only orders paying
    rent read their installments (in one query), and only an overdue one is assessed as of today."""
    number = _page_number(page.query.get("page"))
    found = projections.orders.orders(page.views, customer_id=page.me, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    names = projections.catalog.product_names(page.views)
    paying = [view.id for view in found.items if LeaseStatus(view.status) in RENT_PAYABLE]
    schedules = projections.installments.installments_of(page.views, paying)
    cards = []
    for view in found.items:
        view, installments = answers.as_of_today(page.app, view, schedules.get(view.id, []))
        plan = plan_text(page, view.plan)
        cards.append(OrderCard(view, names.get(view.product_id, ""), plan, due(view, installments)))
    pages_in_all = max(1, -(-found.total // PER_PAGE))
    return page.render("mobile/orders.html", cards=cards, number=number, pages_in_all=pages_in_all)


@pages.get("/orders/{id}")
def order_page(page: MobilePage) -> Response:
    """The order as `GET /v1/orders/{id}` answers it (another customer's: 404), with its timeline and parcel."""
    view = answers.owned(page.views, page.path_id(), page.me)
    order = answers.order_out(page.app, view, projections.installments.installments(page.views, view.id))
    product = projections.catalog.product(page.views, order.product_id)
    allowed = actions(page, order)
    return page.render(
        "mobile/order.html",
        order=order,
        address=view.address,
        product=product,
        specs=specs_text(product, order.sku_id),
        plan=plan_text(page, order.plan),
        steps=timeline(page, order),
        tracking=tracking(page, order),
        primary=next((action for action in allowed if action.primary), None),
        others=[action for action in allowed if not action.primary],
        rent_total=total(item.rent for item in order.installments),
        protection_total=total(item.protection for item in order.installments),
    )


@pages.get("/orders/{id}/cancel")
def cancel_form(page: MobilePage) -> Response:
    """Cancelling asks once more, saying what happens to the money paid."""
    view = answers.owned(page.views, page.path_id(), page.me)
    if LeaseStatus(view.status) not in CANCELLABLE:
        return page.redirect(f"/orders/{view.id}")
    return page.render("mobile/cancel.html", order=view, paid=_paid(view), reason="")


@pages.post("/orders/{id}/cancel")
def cancel(page: MobilePage) -> Response:
    """As `POST /v1/orders/{id}/cancel`: refunds what was paid, releases the waiver and the units."""
    view = answers.owned(page.views, page.path_id(), page.me)
    reason = page.form.get("reason", "").strip()
    try:
        body = page.parse(schemas.Cancel, {"reason": reason} if reason else {})
    except FormInvalid as invalid:
        return page.render(
            "mobile/cancel.html", 422, order=view, paid=_paid(view), reason=reason, errors=invalid.errors
        )
    if LeaseStatus(view.status) is not LeaseStatus.CANCELLED:
        page.app.cancel(view.id, body.reason or str(BY_CUSTOMER))
        page.service.written()
    return page.redirect(f"/orders/{view.id}", done="order_cancelled")


@pages.get("/orders/{id}/contract")
def contract(page: MobilePage) -> Response:
    """The lease contract the order's figures fix, to read to its end, then sign."""
    view = answers.owned(page.views, page.path_id(), page.me)
    if LeaseStatus(view.status) is not LeaseStatus.PENDING_CONTRACT:
        return page.redirect(f"/orders/{view.id}")
    return _contract_page(page, view)


@pages.post("/orders/{id}/contract")
def sign(page: MobilePage) -> Response:
    """As `POST /v1/orders/{id}/contract/sign`, once the customer has said they read and accept it; a second tap
    after signing only shows the order. A provider whose signer signs on its own page gets a page that links there
    (the pages' CSP, `form-action 'self'`, refuses a form's redirect to another site); the provider sends the
    customer back to the order once signed, and the order moves on when it calls back."""
    view = answers.owned(page.views, page.path_id(), page.me)
    if view.contract_id is not None:
        return page.redirect(f"/orders/{view.id}", done="contract_signed")
    if page.form.get("agree") != "1":
        return _contract_page(page, view, 422, errors={"agree": page.t("m.contract.must_agree")})
    back = str(page.request.base_url).rstrip("/") + page.url(f"/orders/{view.id}")
    try:
        signed = page.app.sign_contract(view.id, return_url=back)
    except AdapterError as error:
        return error_page(page, 502, page.t("m.contract.signing_failed"), str(error))
    page.service.written()
    if isinstance(signed, SigningSession) and signed.sign_url:
        return page.render("mobile/signing.html", order=view, sign_url=signed.sign_url)
    return page.redirect(f"/orders/{view.id}", done="contract_signed")


@pages.post("/orders/{id}/receipt")
def confirm_receipt(page: MobilePage) -> Response:
    """As `POST /v1/orders/{id}/receipt`: the lease starts today, its installments fixed from this day."""
    view = answers.owned(page.views, page.path_id(), page.me)
    if LeaseStatus(view.status) is LeaseStatus.SHIPPED:
        page.app.confirm_receipt(view.id)
        page.service.written()
    return page.redirect(f"/orders/{view.id}", done="receipt_confirmed")


def _contract_page(page: MobilePage, view: OrderView, status: int = 200, **context: object) -> Response:
    lease = page.app.get(Lease, view.id, "order", to_change=False)
    order = answers.order_out(page.app, view, projections.installments.installments(page.views, view.id))
    rule = lease.terms.late_fee
    fee_rule = page.t(
        "m.contract.fee_rule_fixed" if rule.fixed_per_day else "m.contract.fee_rule",
        grace=rule.grace_days,
        rate=percent(rule.daily_rate),
        fixed=money(rule.fixed_per_day),
        cap=percent(rule.cap_share),
    )
    return page.render(
        "mobile/contract.html", status, order=order, text=contract_text(lease), fee_rule=fee_rule, **context
    )


def plan_text(page: MobilePage, plan: schemas.PlanOut | PlanView) -> str:
    """`12 个月`, or the first and last day of a short-term rental and how many days that is."""
    if plan.kind == "long" or plan.start is None or plan.end is None:
        return page.t("m.months", months=plan.months)
    days = (plan.end - plan.start).days + 1
    return page.t("m.order.short_plan", start=day(plan.start), end=day(plan.end), days=days)


def specs_text(product: ProductView | None, sku_id: UUID) -> str:
    """The SKU's specs as the product page shows them (`black · 256G`)."""
    sku = next((item for item in product.skus if item.id == sku_id), None) if product else None
    return " · ".join(sku.specs.values()) if sku else ""


def due(order: OrderView, installments: Sequence[InstallmentView]) -> Due | None:
    """The first payment while it is owed, else the oldest installment not paid (as of today), else nothing."""
    if order.status == LeaseStatus.PENDING_PAYMENT.value:
        return Due(order.due_now, None, 0)
    if LeaseStatus(order.status) not in RENT_PAYABLE:
        return None
    unpaid = next((item for item in installments if item.status != "paid" and item.owed > ZERO), None)
    return Due(unpaid.owed, unpaid.due_date, unpaid.days_overdue) if unpaid else None


def timeline(page: MobilePage, order: OrderOut) -> list[Step]:
    """What happened to the order, from its lease's events, then what an open order still has on its way to the
    customer's hands."""
    events: list[Any] = list(page.app.events.get(order.id))
    happened = [(type(event).__name__, event.timestamp) for event in events if type(event).__name__ in MILESTONES]
    steps = [Step(name, page.t(f"m.order.step.{name}"), page.time(when)) for name, when in happened]
    if LeaseStatus(order.status).is_final:
        return steps
    done = {name for name, _ in happened}
    reached = max((AHEAD.index(name) for name in done if name in AHEAD), default=-1)
    return steps + [Step(name, page.t(f"m.order.step.{name}"), None) for name in AHEAD[reached + 1 :]]


def tracking(page: MobilePage, order: OrderOut) -> TrackingStatus | None:
    """The carrier's scans of the order's parcel (as `GET /v1/orders/{id}/tracking`); None before it ships, and
    the carrier and number alone when the carrier cannot be asked just now."""
    if order.carrier is None or order.tracking_no is None:
        return None
    try:
        return page.app.track(order.id)
    except (LeaseError, AdapterError):
        return TrackingStatus(order.carrier, order.tracking_no, delivered=False, events=())


def actions(page: MobilePage, order: OrderOut) -> list[Action]:
    """What the status allows, the main thing first (it goes in the bottom bar)."""
    status = LeaseStatus(order.status)
    base = f"/orders/{order.id}"
    found: list[Action] = []
    if status is LeaseStatus.PENDING_PAYMENT and not page.app.deposit(order.id).is_secured:
        freeze = page.url(f"{base}/pay", purpose="preauth")
        found.append(Action("freeze", page.t("m.order.freeze"), freeze, primary=True))
    elif status is LeaseStatus.PENDING_PAYMENT:
        found.append(Action("pay", page.t("m.order.pay"), page.url(f"{base}/pay", purpose="checkout"), primary=True))
    if status is LeaseStatus.PENDING_CONTRACT:
        found.append(Action("sign", page.t("m.order.sign"), page.url(f"{base}/contract"), primary=True))
    if status is LeaseStatus.SHIPPED:
        found.append(Action("receive", page.t("m.order.receive"), page.url(f"{base}/receipt"), post=True, primary=True))
    if status is LeaseStatus.PENDING_SETTLEMENT:
        found.append(
            Action("balance", page.t("m.order.pay_balance"), page.url(f"{base}/pay", purpose="damage"), primary=True)
        )
    if status in RENT_PAYABLE:
        found.append(Action("bills", page.t("m.order.bills"), page.url(f"{base}/bills")))
    if status is LeaseStatus.LEASING and order.plan.kind == "long":
        found.append(Action("auto_debit", page.t("m.autodebit.link"), page.url(f"{base}/auto-debit")))
    if status is LeaseStatus.LEASING:
        found.append(Action("end", page.t("m.order.end"), page.url(f"{base}/end")))
    if order.settlement is not None:
        found.append(Action("settlement", page.t("m.order.settlement"), page.url(f"{base}/settlement")))
    found.append(Action("help", page.t("m.order.help"), page.url("/help/new", order=str(order.id))))
    if status in CANCELLABLE:
        found.append(Action("cancel", page.t("m.order.cancel"), page.url(f"{base}/cancel")))
    return found


def _paid(view: OrderView) -> Decimal:
    """What cancelling refunds: the first payment, once it was made."""
    return ZERO if LeaseStatus(view.status) is LeaseStatus.PENDING_PAYMENT else view.due_now


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) < 100_000 else 1

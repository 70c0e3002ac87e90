"""An order's bills (账单): each installment with its due date, amount, what was paid, its status, the days left or
the days overdue and the late fee, as of today even before the daily job has run (the figures
`GET /v1/orders/{id}/installments` answers), with the late-fee rule the lease was quoted under in words. The customer
pays everything due (the amount `POST /v1/orders/{id}/payments {purpose: installments}` asks by default) or an
amount of their choosing, checked as that route checks it, on the pay page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from starlette.responses import Response

import projections.catalog
import projections.installments
from api.http import answers
from api.http.schemas.payments import PaymentIn
from api.web import i18n
from api.web.formatting import day, money, percent
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from leasecore.lease import RENT_PAYABLE, Lease
from leasecore.lease.ledger import LateFeeRule
from leasecore.values import ZERO
from projections.installments import InstallmentView
from projections.orders import OrderView

pages = Pages()

WORDS = {
    "m.bills.title": ("账单", "Bills"),
    "m.bills.installment": ("第 {seq} 期", "Installment {seq}"),
    "m.bills.due_date": ("还款日 {day}", "Due {day}"),
    "m.bills.amount": ("应还", "Amount"),
    "m.bills.paid": ("已付", "Paid"),
    "m.bills.late_fee": ("滞纳金", "Late fee"),
    "m.bills.owed": ("待还", "Owed"),
    "m.bills.status.due": ("待付", "To pay"),
    "m.bills.status.paid": ("已付", "Paid"),
    "m.bills.status.overdue": ("逾期", "Overdue"),
    "m.bills.when.left": ("还剩 {days} 天", "{days} days left"),
    "m.bills.when.today": ("今天到期", "Due today"),
    "m.bills.when.grace": (
        "已过还款日 {days} 天，在宽限期内：{until}（含）前还清不收滞纳金",
        "{days} days past due, within the grace days: no late fee if paid by {until}",
    ),
    "m.bills.when.overdue": ("逾期 {days} 天", "{days} days overdue"),
    "m.bills.total_owed": ("剩余应还（全部）", "Still owed in all"),
    "m.bills.due_now": ("目前到期应还", "Due now"),
    "m.bills.overdue_total": ("其中逾期", "Of which overdue"),
    "m.bills.rule_title": ("滞纳金规则", "How late fees work"),
    "m.bills.rule": (
        "逾期宽限 {grace} 天：还款日后 {grace} 天内还清不收滞纳金；之后每天按当期未付金额的 {rate}%{fixed} "
        "计滞纳金，每期封顶本期应还金额的 {cap}%。还款先还最早一期，先还滞纳金再还租金。",
        "{grace} days' grace: paid within {grace} days of the due date, no late fee. After that, each day adds "
        "{rate}% of what is unpaid on the installment{fixed}, at most {cap}% of the installment's amount. A payment "
        "goes to the oldest installment first, its late fee before its rent.",
    ),
    "m.bills.rule_fixed": (" 加 {amount}", " plus {amount}"),
    "m.bills.pay_title": ("还款", "Pay"),
    "m.bills.pay_due": ("还清到期账单", "Pay what is due"),
    "m.bills.pay_other": ("还其他金额", "Pay another amount"),
    "m.bills.all_rules": ("全部费用规则", "All fees and rules"),
    "m.bills.nothing_due": ("目前没有到期的账单，可以提前还款。", "Nothing is due now; you may pay ahead."),
    "m.bills.chosen": ("自定义还款金额（元）", "Another amount (yuan)"),
    "m.bills.chosen_hint": (
        "最多 {owed}；先还最早一期，多还的部分抵扣后面的账单",
        "At most {owed}; it pays the oldest installment first and the rest goes to the next ones",
    ),
    "m.bills.pay_chosen": ("还这个金额", "Pay this amount"),
    "m.bills.not_payable": ("这个订单现在不收租金。", "This order takes no rent now."),
    "m.bills.none": ("这个订单还没有账单。", "This order has no bills yet."),
    "m.bills.invalid.amount": (
        "请输入大于 0 的金额，最多两位小数，如 329.00",
        "Give an amount above 0 with at most two decimals, like 329.00",
    ),
    "m.bills.invalid.too_much": ("不能超过剩余应还的 {owed}", "At most what is still owed, {owed}"),
    "m.bills.back_to_order": ("订单详情", "The order"),
    "m.flash.renewed": ("已续租，新账单已加入", "Renewed: the new installments are below"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Bill:
    """An installment as the page shows it: the row as of today, and where it stands in words."""

    row: InstallmentView
    when: str


@pages.get("/orders/{id}/bills")
def bills(page: MobilePage) -> Response:
    """The order's installments as of today, the late-fee rule, and the ways to pay."""
    order = answers.owned(page.views, page.path_id(), page.me)
    return _bills_page(page, order)


@pages.get("/orders/{id}/bills/pay")
def pay_chosen(page: MobilePage) -> Response:
    """An amount of the customer's choosing, checked as `POST /v1/orders/{id}/payments` checks an installments
    payment (the body's schema; above 0, in fen, at most everything still owed), then on to the pay page."""
    order = answers.owned(page.views, page.path_id(), page.me)
    text = page.query.get("amount", "").strip()
    lease = _lease(page, order.id)
    try:
        body = page.parse(PaymentIn, {"purpose": "installments", "amount": text or None})
    except FormInvalid:
        body = None
    amount = body.amount if body else None
    if amount is None or amount <= ZERO:
        return _bills_page(page, order, 422, amount=text, errors={"amount": page.t("m.bills.invalid.amount")})
    owed = lease.owed(page.app.clock.now())
    if amount > owed:
        too_much = page.t("m.bills.invalid.too_much", owed=money(owed))
        return _bills_page(page, order, 422, amount=text, errors={"amount": too_much})
    return page.redirect(f"/orders/{order.id}/pay", purpose="installments", amount=str(amount))


def fee_rule(page: MobilePage, rule: LateFeeRule) -> str:
    """The late-fee rule in words, with the lease's own figures."""
    fixed = page.t("m.bills.rule_fixed", amount=money(rule.fixed_per_day)) if rule.fixed_per_day else ""
    return page.t(
        "m.bills.rule", grace=rule.grace_days, rate=percent(rule.daily_rate), fixed=fixed, cap=percent(rule.cap_share)
    )


def when(page: MobilePage, row: InstallmentView, today: date, rule: LateFeeRule) -> str:
    """Where an installment stands today: days left, due today, within the grace days, or days overdue (nothing
    more to say of one paid)."""
    if row.status == "paid":
        return ""
    if row.status == "overdue":
        return page.t("m.bills.when.overdue", days=row.days_overdue)
    left = (row.due_date - today).days
    if left > 0:
        return page.t("m.bills.when.left", days=left)
    if left == 0:
        return page.t("m.bills.when.today")
    return page.t("m.bills.when.grace", days=-left, until=day(row.due_date + timedelta(days=rule.grace_days)))


def _bills_page(page: MobilePage, order: OrderView, status: int = 200, **context: Any) -> Response:
    order, rows = answers.as_of_today(page.app, order, projections.installments.installments(page.views, order.id))
    lease = _lease(page, order.id)
    rule = lease.terms.late_fee
    today = page.today()
    payable = lease.status in RENT_PAYABLE
    now = page.app.clock.now()
    product = projections.catalog.product(page.views, order.product_id)
    return page.render(
        "mobile/bills.html",
        status,
        order=order,
        product=product,
        bills=[Bill(row, when(page, row, today, rule)) for row in rows],
        rule=fee_rule(page, rule),
        payable=payable,
        due_all=lease.owed_by(now) if payable else ZERO,
        owed=lease.owed(now),
        overdue=sum((row.owed for row in rows if row.status == "overdue"), ZERO),
        **{"amount": "", "errors": {}, **context},
    )


def _lease(page: MobilePage, order_id: UUID) -> Lease:
    return page.app.get(Lease, order_id, "order", to_change=False)

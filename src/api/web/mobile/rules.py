"""The fee rules in words, as the billing document in force says them: grace days and late fees (with a worked
example), what an early buyout saves, what accident protection caps, when reminders and collections come. Every
page that shows a fee links here (`/m/rules#late-fees`), so a customer never meets a charge without its rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from starlette.responses import Response

from api.web import i18n
from api.web.formatting import percent
from api.web.mobile.frame import MobilePage, Pages
from leasecore.errors import LeaseError
from leasecore.lease.billing import BillingPolicy
from leasecore.lease.ledger import assess
from leasecore.lease.schedule import Installment
from leasecore.values import ZERO

pages = Pages()

EXAMPLE = Decimal("1000.00")
EXAMPLE_DUE = date(2026, 1, 1)
"""The installment the worked example is late with (any day will do)."""

WORDS = {
    "m.rules.title": ("费用规则", "Fees and rules"),
    "m.rules.unset": ("运营方尚未配置账单规则。", "The operator has not configured billing yet."),
    "m.rules.late": ("逾期与滞纳金", "Late payment and late fees"),
    "m.rules.grace": (
        "每期租金到期后有 {days} 天宽限期，宽限期内付清不收任何费用。",
        "Each installment has {days} days' grace after its due date: paid within them, it costs nothing more.",
    ),
    "m.rules.fee": (
        "宽限期过后仍未付清的，每天按该期未付金额的 {rate}%{fixed} 计收滞纳金，每期滞纳金最多为该期金额的 {cap}%。",
        "After the grace days, each day it is still unpaid costs {rate}% of what is unpaid{fixed}, at most {cap}% of "
        "the installment in all.",
    ),
    "m.rules.fixed": ("另加 {amount}", " plus {amount}"),
    "m.rules.example": (
        "例如：一期 {amount} 的租金逾期 10 天（宽限期后），滞纳金为 {fee}；无论逾期多久，最多 {cap}。",
        "For example, an installment of {amount} 10 days late (after the grace days) costs {fee} in late fees; "
        "however late, at most {cap}.",
    ),
    "m.rules.order": (
        "付款时先抵扣滞纳金，再抵扣最早一期的租金。",
        "A payment pays late fees first, then the oldest installment's rent.",
    ),
    "m.rules.reminders": ("提醒与催收", "Reminders and collections"),
    "m.rules.remind_before": (
        "每期到期前 {days} 天，我们会发短信提醒您。",
        "We text you {days} days before each due date.",
    ),
    "m.rules.stage": ("逾期 {days} 天起：{action}", "From {days} days overdue: {action}"),
    "m.rules.action.sms": ("短信提醒", "a text message"),
    "m.rules.action.call": ("客服电话联系", "a phone call from us"),
    "m.rules.action.agency": ("委托第三方催收", "a collection agency"),
    "m.rules.overdue_blocks": (
        "有逾期未付的账单时，不能享受信用免押、续租或买断，请先还清。",
        "While a bill is overdue, no credit waiver, renewal or buyout: pay it first.",
    ),
    "m.rules.buyout": ("买断", "Buying out"),
    "m.rules.buyout_text": (
        "租期内可随时买断：支付买断价和剩余未付的租金；提前买断的，剩余租金优惠 {share}%。押金可抵扣买断款。",
        "You may buy the device out at any time: the buyout price and the rent still unpaid, {share}% off that rent "
        "when you buy early. The deposit counts toward it.",
    ),
    "m.rules.protection": ("意外保障", "Accident protection"),
    "m.rules.protection_text": (
        "选择意外保障后，意外损坏时您最多承担商品页写明的金额，其余由平台承担；未选保障的，按检测确定的损坏费用从押金中扣除。",
        "With accident protection, you pay at most the amount the product page names for accidental damage; "
        "without it, the damage fee the inspection finds is taken from the deposit.",
    ),
    "m.rules.deposit": ("押金与信用免押", "Deposits and credit waivers"),
    "m.rules.deposit_text": (
        "押金在归还、检测、结清后退回；信用免押部分不需支付，订单结束后额度自动恢复。",
        "The deposit comes back once the device is returned, inspected and settled; what credit waived is never "
        "paid, and the quota is yours again when the order ends.",
    ),
    "m.rules.timezone": ("所有日期均按 {zone} 时间计算。", "Every date is in {zone} time."),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class LateFees:
    grace_days: int
    rate: str
    fixed: str
    cap: str
    example: Decimal
    example_fee: Decimal
    example_cap: Decimal


@pages.get("/rules", login=False)
def rules(page: MobilePage) -> Response:
    """The rules as configured now (an order keeps the late-fee rule it was placed under: its contract says it)."""
    try:
        billing: BillingPolicy | None = page.app.billing_policy()
    except LeaseError:
        billing = None
    return page.render("mobile/rules.html", billing=billing, late=late_fees(billing) if billing else None)


def late_fees(billing: BillingPolicy) -> LateFees:
    """The late-fee rule and its worked example: an installment of `EXAMPLE` ten days overdue, assessed by the
    ledger itself, so the example is what a customer would be charged."""
    rule = billing.late_fee_rule
    installment = Installment(1, EXAMPLE_DUE, EXAMPLE, ZERO)
    ten_days_late = rule.first_overdue_day(installment) + timedelta(days=9)
    (balance,) = assess([installment], [], rule, ten_days_late).balances
    return LateFees(
        billing.grace_days,
        percent(billing.daily_rate),
        "" if billing.fixed_per_day == ZERO else str(billing.fixed_per_day),
        percent(billing.cap_share),
        EXAMPLE,
        balance.late_fee,
        rule.cap(installment),
    )

"""The end of a lease (到期处置) and its settlement statement. The four choices `POST /v1/orders/{id}/end-of-term`
offers, each with what it costs and when it opens: return (the parcel's tracking number), renew (months at the
renewal rent), buy out (the price as the lease makes it up: the term-end price, the rent not yet paid less the
early-buyout discount, the deposit held counting toward it; what remains is paid on the pay page) and swap (another
SKU on the same plan). Each is confirmed on a page saying what will happen before the command runs. Settled, the
order shows where its deposit went, every deduction in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from starlette.responses import Response

import projections.catalog
from api.http import answers
from api.http.schemas.orders import EndOfTerm
from api.web import i18n
from api.web.formatting import day, money, percent
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from leasecore.errors import InvalidInput, LeaseError, Overdue
from leasecore.lease import END_OF_TERM_WINDOW, BuyoutQuote, Lease, LeaseStatus
from leasecore.lease.quote import OrderRequest, Quote
from leasecore.money.deposit import Deposit
from leasecore.values import ZERO, LongTerm, add_months
from leasecore.values import money as to_money
from projections.catalog import ProductView
from projections.orders import OrderView, SettlementView

pages = Pages()

CHOICES = ("return", "renew", "buyout", "swap")
RENEW_MONTHS = (1, 3, 6, 12)
"""The renewals offered with their totals at a glance; the form takes any the API takes (1 to 36)."""

WORDS = {
    "m.end.title": ("到期处置", "End of term"),
    "m.end.term": ("租期 {start} 至 {end}", "Leased {start} to {end}"),
    "m.end.status": ("订单状态：{status}", "Order status: {status}"),
    "m.end.not_leasing": (
        "只有租用中的订单可以归还、续租、买断或换机。",
        "Only an order being leased can be returned, renewed, bought out or swapped.",
    ),
    "m.end.returning": (
        "设备已寄回（运单号 {tracking}）。仓库收到并验机后结算押金。",
        "The device is on its way back (tracking {tracking}); the deposit is settled once it is received and "
        "inspected.",
    ),
    "m.end.to_settlement": ("查看结算单", "See the settlement"),
    "m.end.opens": (
        "到期前 7 天（{opens} 起）可以归还、续租或换机；买断随时可以。",
        "Return, renewal and swap open 7 days before the term ends ({opens}); a buyout is possible any time.",
    ),
    "m.end.opens_short": (
        "到期前 7 天（{opens} 起）可以归还。",
        "A return opens 7 days before the rental ends ({opens}).",
    ),
    "m.end.closed.overdue": (
        "您有逾期未付的账单，请先还清再办理。",
        "An installment is overdue: pay it first.",
    ),
    "m.end.closed.early": ("{opens} 起（到期前 7 天）可以办理。", "Opens on {opens}, 7 days before the term ends."),
    "m.end.closed.short": ("短租订单不能办理这一项。", "A short-term rental cannot do this."),
    "m.end.pay_bills": ("去还款", "Pay the bills"),
    "m.end.return": ("归还设备", "Return it"),
    "m.end.return_lead": (
        "把设备寄回给我们，填写快递运单号。仓库收到并验机后，押金扣除应付款项（如有）后原路退还，免押额度同时恢复。",
        "Ship the device back and give the parcel's tracking number. Once it is received and inspected, the deposit "
        "is refunded less anything owed, and your waiver quota comes back.",
    ),
    "m.end.tracking_no": ("寄回快递运单号", "Tracking number of the parcel"),
    "m.end.renew": ("续租", "Renew"),
    "m.end.renew_lead": (
        "续租月租 {monthly}/月（原月租 {current}/月），接着现在的账单按月支付。",
        "Renewal rent {monthly} a month (now {current}), paid monthly after the current installments.",
    ),
    "m.end.renew_protection": ("含意外保障 {amount}/月", "including protection {amount} a month"),
    "m.end.renew_total": ("续租 {months} 个月共 {total}", "{months} months: {total} in all"),
    "m.end.months": ("续租月数（1–36）", "Months to renew (1 to 36)"),
    "m.end.buyout": ("买断", "Buy it out"),
    "m.end.buyout_lead": (
        "买断后设备归您所有，订单随即结清。",
        "Buying it out makes the device yours; the order settles at once.",
    ),
    "m.end.buyout.price": ("到期买断价", "Buyout price at term end"),
    "m.end.buyout.rent_total": ("租期总租金", "Rent over the whole term"),
    "m.end.buyout.rent_paid": ("已付租金（抵扣）", "Rent paid so far (counted)"),
    "m.end.buyout.unpaid_rent": ("剩余未付租金", "Rent not yet paid"),
    "m.end.buyout.discount": ("提前买断优惠（剩余租金的 {share}%）", "Early buyout discount ({share}% of that rent)"),
    "m.end.buyout.total": ("买断总价", "Buyout total"),
    "m.end.buyout.deposit": ("押金抵扣", "Deposit counted toward it"),
    "m.end.buyout.to_pay": ("还需支付", "Left to pay"),
    "m.end.buyout.explain": (
        "买断总价 = 到期买断价 + 剩余未付租金 − 提前买断优惠；您已付押金 {held}，先抵扣买断款。",
        "Total = the term-end buyout price + the rent not yet paid − the early buyout discount; the deposit you "
        "paid, {held}, counts toward it first.",
    ),
    "m.end.buyout.pay": ("支付 {amount} 买断", "Pay {amount} and buy it out"),
    "m.end.buyout.covered": ("押金足够抵扣，无需另付", "The deposit covers it; nothing to pay"),
    "m.end.swap": ("换机", "Swap"),
    "m.end.swap_lead": (
        "寄回当前设备（按归还验机结算押金），同时按相同租期和押金方式为新设备下单，新订单支付后发货。",
        "Ship this device back (settled like a return) and order another on the same plan and deposit mode; the "
        "new order ships once it is paid.",
    ),
    "m.end.swap_sku": ("换成", "Swap to"),
    "m.end.swap_option": ("{name} {specs} · 月租 {rent}", "{name} {specs} · {rent} a month"),
    "m.end.no_swap": ("没有可换的机型。", "There is nothing to swap to."),
    "m.end.choose": ("下一步", "Next"),
    "m.end.confirm_title": ("请确认", "Please confirm"),
    "m.end.confirm": ("确认办理", "Confirm"),
    "m.end.change": ("返回修改", "Go back"),
    "m.end.will.return": (
        "您将寄回设备，运单号 {tracking}。仓库收到后验机：没有损坏，押金 {held} 全额退还；"
        "有损坏，按损坏费从押金扣除{excess}，其余退还。",
        "You ship the device back, tracking {tracking}. It is inspected on arrival: undamaged, the deposit of {held} "
        "is refunded in full; damaged, the damage fee comes out of the deposit{excess} and the rest is refunded.",
    ),
    "m.end.will.excess": ("（意外保障封顶 {amount}）", " (protection caps it at {amount})"),
    "m.end.will.renew": (
        "续租 {months} 个月，每月 {monthly}，共 {total}；租期延长到 {end}。新账单接在现有账单之后按月支付。",
        "Renew for {months} months at {monthly} a month, {total} in all; the lease then ends on {end}. The new "
        "installments follow the current ones.",
    ),
    "m.end.will.buyout": (
        "买断总价 {price}，由押金抵扣 {deposit}，无需另付；押金余下的 {refund} 原路退还。设备归您所有，订单结清。",
        "The buyout costs {price}; the deposit covers {deposit}, nothing more to pay, and the {refund} left of it is "
        "refunded. The device is yours and the order settles.",
    ),
    "m.end.will.swap": (
        "寄回当前设备，运单号 {tracking}，按归还验机结算押金。同时为 {name} {specs} 下新订单："
        "月租 {rent}，押金 {deposit}，信用免押 {waiver}，需支付 {due_now} 后发货。",
        "You ship this device back, tracking {tracking}; it settles like a return. A new order for {name} {specs} is "
        "placed: {rent} a month, deposit {deposit}, {waiver} waived on credit; it ships once {due_now} is paid.",
    ),
    "m.end.invalid.tracking_no": (
        "请填写寄回快递的运单号（1–64 个字符）",
        "Give the return parcel's tracking number (1 to 64 characters)",
    ),
    "m.end.invalid.months": ("请选择 1–36 个月", "Choose 1 to 36 months"),
    "m.end.invalid.sku_id": ("请选择要换的机型", "Choose what to swap to"),
    "m.end.invalid.choice": ("请选择一种处置方式", "Choose what to do"),
    "m.settlement.title": ("结算单", "Settlement"),
    "m.settlement.not_yet": (
        "订单还没有结算：设备寄回验机后，或买断后结算。",
        "The order has not settled yet: it settles after the device is back and inspected, or once bought out.",
    ),
    "m.settlement.settled_at": ("结算时间", "Settled at"),
    "m.settlement.term": ("租期", "Term"),
    "m.settlement.deposit": ("实付押金", "Deposit paid"),
    "m.settlement.deposit_words": (
        "押金 {deposit}，信用免押 {waiver}，实付押金 {paid}",
        "Deposit {deposit}, {waiver} waived on credit, {paid} paid",
    ),
    "m.settlement.damage": ("损坏费扣除", "Damage taken"),
    "m.settlement.no_damage": ("验机无损坏，不收损坏费", "The inspection found no damage: no damage fee"),
    "m.settlement.damage_capped": (
        "损坏费 {fee}，意外保障封顶 {excess}，您承担 {liability}",
        "Damage fee {fee}; protection caps it at {excess}: you owe {liability}",
    ),
    "m.settlement.damage_full": ("损坏费 {fee}，由您承担 {liability}", "Damage fee {fee}: you owe {liability}"),
    "m.settlement.damage_unprotected": ("（未选意外保障）", " (no accident protection)"),
    "m.settlement.damage_deducted": ("从押金扣除 {amount}", "{amount} taken from the deposit"),
    "m.settlement.damage_paid": (
        "押金不足的 {amount} 已由您另行支付",
        "The {amount} the deposit did not cover you paid",
    ),
    "m.settlement.rent": ("租金扣除", "Rent taken"),
    "m.settlement.rent_deducted": (
        "未付的租金（含逾期归还的租金）从押金扣除 {amount}",
        "Rent still unpaid (and any days returned late) taken from the deposit: {amount}",
    ),
    "m.settlement.fees": ("滞纳金扣除", "Late fees taken"),
    "m.settlement.fees_deducted": (
        "未付的滞纳金从押金扣除 {amount}",
        "Late fees still unpaid taken from the deposit: {amount}",
    ),
    "m.settlement.buyout": ("抵扣买断款", "Toward the buyout"),
    "m.settlement.buyout_deducted": ("押金抵扣买断款 {amount}", "The deposit paid {amount} of the buyout"),
    "m.settlement.refunded": ("退还押金", "Deposit refunded"),
    "m.settlement.refunded_words": (
        "实付押金 {paid} − 扣除合计 {deducted} = 退还 {refunded}，原路退回您的付款账户",
        "{paid} paid − {deducted} taken = {refunded} refunded, to the account you paid from",
    ),
    "m.settlement.waiver": ("免押额度恢复", "Waiver quota freed"),
    "m.settlement.waiver_released": (
        "信用免押额度 {amount} 已恢复，可用于新订单",
        "{amount} of waiver quota is free again",
    ),
    "m.settlement.credit": ("多付租金退还", "Rent paid ahead, refunded"),
    "m.settlement.credit_refunded": (
        "多付的租金 {amount} 另行退还",
        "{amount} of rent paid beyond what was owed, refunded",
    ),
    "m.flash.return_requested": ("已提交归还，请尽快寄出设备", "Return registered: please ship the device"),
    "m.flash.swapped": ("已提交换机：请支付新订单", "Swap registered: please pay the new order"),
    "m.flash.bought_out": ("买断成功，设备归您所有", "Bought out: the device is yours"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Buyout:
    """The buyout as the lease prices it now, and the deposit counting toward it (`buyout_quote`)."""

    quote: BuyoutQuote
    to_pay: Decimal
    held: Decimal
    rent_total: Decimal
    rent_paid: Decimal
    discount_share: Decimal

    @property
    def deposit_applied(self) -> Decimal:
        return self.quote.price - self.to_pay


@dataclass(frozen=True)
class Renewal:
    """A month of renewal: the renewal rent and protection, against the current monthly installment."""

    rent: Decimal
    protection: Decimal
    current: Decimal

    @property
    def monthly(self) -> Decimal:
        return self.rent + self.protection

    def total(self, months: int) -> Decimal:
        return self.monthly * months


@dataclass(frozen=True)
class SwapOption:
    sku_id: UUID
    label: str


@dataclass(frozen=True)
class Line:
    """A line of the settlement statement: what it is, its amount, and the words explaining it."""

    key: str
    label: str
    amount: Decimal
    words: tuple[str, ...]
    sign: str = ""
    """"−" for what was taken from the deposit."""


@pages.get("/orders/{id}/end")
def end_of_term(page: MobilePage) -> Response:
    """The four choices with their figures, and when each is open."""
    order = answers.owned(page.views, page.path_id(), page.me)
    return _end_page(page, order)


@pages.post("/orders/{id}/end")
def end_choice(page: MobilePage) -> Response:
    """A choice checked as the API checks it (its body's schema, then the lease's rules), confirmed on a page saying
    what will happen, then done by the command `POST /v1/orders/{id}/end-of-term` calls."""
    order = answers.owned(page.views, page.path_id(), page.me)
    choice = page.form.get("choice", "")
    try:
        body = page.parse(EndOfTerm, _fields(choice, page.form))
    except FormInvalid as invalid:
        return _end_page(page, order, 422, chosen=choice, errors=_form_errors(page, choice, invalid.errors))
    missing = _missing(body)
    if missing:
        errors = {f"{choice}.{name}": page.t(f"m.end.invalid.{name}") for name in missing}
        return _end_page(page, order, 422, chosen=choice, errors=errors)
    lease = _lease(page, order.id)
    closed = _closed(page, lease, body.choice)
    if closed:
        return _end_page(page, order, 409, chosen=choice, errors={choice: closed})
    try:
        if page.form.get("confirmed") != "1":
            return _confirm_page(page, order, lease, body)
        target = _carry_out(page, order, body)
    except LeaseError as error:
        return _end_page(page, order, 409, chosen=choice, errors={choice: _refusal(page, error)})
    page.service.written()
    return target


@pages.get("/orders/{id}/settlement")
def settlement(page: MobilePage) -> Response:
    """Where the deposit went when the order settled, every deduction in words (from the order read model's
    `settlement`, what `GET /v1/orders/{id}` answers)."""
    order = answers.owned(page.views, page.path_id(), page.me)
    lease = _lease(page, order.id)
    lines = statement(page, order, order.settlement, lease.terms.damage_excess) if order.settlement else []
    product = projections.catalog.product(page.views, order.product_id)
    return page.render("mobile/settlement.html", order=order, product=product, lines=lines)


def statement(page: MobilePage, order: OrderView, settled: SettlementView, excess: Decimal | None) -> list[Line]:
    """The settlement line by line: the deposit paid, each deduction (damage after protection, rent, late fees, the
    buyout), the refund as their difference, the waiver quota released and any rent paid ahead."""
    t = page.t
    lines = [
        Line(
            "deposit_paid",
            t("m.settlement.deposit"),
            settled.deposit_paid,
            (
                t(
                    "m.settlement.deposit_words",
                    deposit=money(order.deposit),
                    waiver=money(order.waiver),
                    paid=money(settled.deposit_paid),
                ),
            ),
        )
    ]
    if settled.damage_fee is not None:
        lines.append(
            Line(
                "damage_deducted",
                t("m.settlement.damage"),
                settled.damage_deducted,
                _damage(page, settled, excess),
                "−",
            )
        )
    if settled.rent_deducted:
        words = (t("m.settlement.rent_deducted", amount=money(settled.rent_deducted)),)
        lines.append(Line("rent_deducted", t("m.settlement.rent"), settled.rent_deducted, words, "−"))
    if settled.fees_deducted:
        words = (t("m.settlement.fees_deducted", amount=money(settled.fees_deducted)),)
        lines.append(Line("fees_deducted", t("m.settlement.fees"), settled.fees_deducted, words, "−"))
    if settled.buyout_deducted:
        words = (t("m.settlement.buyout_deducted", amount=money(settled.buyout_deducted)),)
        lines.append(Line("buyout_deducted", t("m.settlement.buyout"), settled.buyout_deducted, words, "−"))
    deducted = settled.deposit_paid - settled.deposit_refunded
    refunded = t(
        "m.settlement.refunded_words",
        paid=money(settled.deposit_paid),
        deducted=money(deducted),
        refunded=money(settled.deposit_refunded),
    )
    lines.append(Line("deposit_refunded", t("m.settlement.refunded"), settled.deposit_refunded, (refunded,)))
    if settled.waiver_released:
        words = (t("m.settlement.waiver_released", amount=money(settled.waiver_released)),)
        lines.append(Line("waiver_released", t("m.settlement.waiver"), settled.waiver_released, words))
    if settled.credit_refunded:
        words = (t("m.settlement.credit_refunded", amount=money(settled.credit_refunded)),)
        lines.append(Line("credit_refunded", t("m.settlement.credit"), settled.credit_refunded, words))
    return lines


def _damage(page: MobilePage, settled: SettlementView, excess: Decimal | None) -> tuple[str, ...]:
    """The damage fee the inspector set, what protection capped it at, and how much of it the deposit paid."""
    fee, liability = settled.damage_fee or ZERO, settled.liability or ZERO
    if fee == ZERO:
        return (page.t("m.settlement.no_damage"),)
    if excess is not None and liability < fee:
        charged = page.t("m.settlement.damage_capped", fee=money(fee), excess=money(excess), liability=money(liability))
    else:
        charged = page.t("m.settlement.damage_full", fee=money(fee), liability=money(liability))
        if excess is None:
            charged += page.t("m.settlement.damage_unprotected")
    words = [charged, page.t("m.settlement.damage_deducted", amount=money(settled.damage_deducted))]
    if settled.damage_deducted < liability:
        words.append(page.t("m.settlement.damage_paid", amount=money(liability - settled.damage_deducted)))
    return tuple(words)


# The choices.


def _fields(choice: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The form's fields for a choice as the API's body has them: `months` a number, `sku_id` a UUID (what is not
    stays text, for the schema to name)."""
    fields: dict[str, Any] = {"choice": choice}
    tracking = form.get(f"{choice}.tracking_no", "").strip()
    months = form.get(f"{choice}.months", "").strip()
    sku = form.get(f"{choice}.sku_id", "").strip()
    if tracking:
        fields["tracking_no"] = tracking
    if months:
        fields["months"] = int(months) if months.isdigit() else months
    if sku:
        fields["sku_id"] = _uuid(sku) or sku
    return fields


def _missing(body: EndOfTerm) -> list[str]:
    """What the endpoint requires of each choice that the body lacks."""
    needs = {"return": ("tracking_no",), "renew": ("months",), "swap": ("sku_id", "tracking_no"), "buyout": ()}
    return [name for name in needs[body.choice] if getattr(body, name) is None]


def _form_errors(page: MobilePage, choice: str, errors: Mapping[str, str]) -> dict[str, str]:
    if "choice" in errors or choice not in CHOICES:
        return {"choice": page.t("m.end.invalid.choice")}
    return {f"{choice}.{name}": page.t(f"m.end.invalid.{name}") for name in errors}


def _closed(page: MobilePage, lease: Lease, choice: str) -> str | None:
    """Why a choice is not open now, in words, by the lease's rules: only while leasing, never while an installment
    is overdue; return, renewal and swap from 7 days before the term ends; renewal, swap and buyout long-term only."""
    if lease.status is not LeaseStatus.LEASING:
        return page.t("m.end.not_leasing")
    now = page.app.clock.now()
    if lease.is_overdue(now):
        return page.t("m.end.closed.overdue")
    if choice != "return" and not lease.terms.is_long:
        return page.t("m.end.closed.short")
    opens = _opens(lease)
    if choice != "buyout" and opens is not None and lease.local_date(now) < opens:
        return page.t("m.end.closed.early", opens=day(opens))
    return None


def _opens(lease: Lease) -> date | None:
    ends_on = lease.ends_on
    return ends_on - END_OF_TERM_WINDOW if ends_on else None


def _carry_out(page: MobilePage, order: OrderView, body: EndOfTerm) -> Response:
    """The command the API's end-of-term route calls for the choice, and where the customer goes next."""
    app = page.app
    if body.choice == "return":
        app.request_return(order.id, body.tracking_no or "")
        return page.redirect(f"/orders/{order.id}/end", done="return_requested")
    if body.choice == "renew":
        app.renew(order.id, body.months or 0)
        return page.redirect(f"/orders/{order.id}/bills", done="renewed")
    if body.choice == "swap":
        assert body.sku_id is not None and body.tracking_no is not None
        new_order_id = app.swap(order.id, body.sku_id, body.tracking_no)
        return page.redirect(f"/orders/{new_order_id}", done="swapped")
    app.buy_out_with_deposit(order.id)
    return page.redirect(f"/orders/{order.id}/settlement", done="bought_out")


def _refusal(page: MobilePage, error: LeaseError) -> str:
    if isinstance(error, Overdue):
        return page.t("m.end.closed.overdue")
    return str(error)


def buyout(page: MobilePage, lease: Lease) -> Buyout | None:
    """The buyout now, as `buyout_quote` prices it (None when the lease cannot be bought out: `_closed` says why)."""
    try:
        quote, to_pay = page.app.buyout_quote(lease.id)
    except LeaseError:
        return None
    ledger = lease.assessed(page.app.clock.now())
    rent_total = sum((balance.rent for balance in ledger.balances), ZERO)
    held = page.app.get(Deposit, Deposit.create_id(lease.id), "deposit", to_change=False).held
    return Buyout(
        quote, to_pay, held, rent_total, rent_total - quote.unpaid_rent, lease.terms.early_buyout_discount_share
    )


def renewal(lease: Lease) -> Renewal | None:
    """A month of renewal as `Lease.renew` schedules it: the renewal rent and the protection, per unit leased."""
    if not lease.terms.is_long:
        return None
    terms, quantity = lease.terms, lease.quantity
    current = to_money(terms.rates.rent * quantity) + to_money(terms.rates.protection * quantity)
    return Renewal(to_money(terms.renewal_rent * quantity), to_money(terms.rates.protection * quantity), current)


def swap_options(page: MobilePage, lease: Lease) -> list[SwapOption]:
    """SKUs a swap may order on the lease's plan: those with a rent for its months, the same product's first."""
    if not isinstance(lease.plan, LongTerm):
        return []
    months = lease.plan.months
    products = projections.catalog.products(page.views)
    products.sort(key=lambda product: product.id != lease.product_id)
    options = []
    for product in products:
        if product.long_term is None or months not in product.long_term.terms:
            continue
        for sku in product.skus:
            price = sku.term_price(months)
            if price is None or sku.id == lease.sku_id:
                continue
            label = page.t(
                "m.end.swap_option", name=product.details.name, specs=_specs(sku.specs), rent=money(price.monthly_rent)
            )
            options.append(SwapOption(sku.id, label))
    return options


def _end_page(
    page: MobilePage,
    order: OrderView,
    status: int = 200,
    *,
    chosen: str = "",
    errors: Mapping[str, str] | None = None,
) -> Response:
    lease = _lease(page, order.id)
    leasing = lease.status is LeaseStatus.LEASING
    opens = _opens(lease)
    closed = {choice: _closed(page, lease, choice) for choice in CHOICES} if leasing else {}
    return page.render(
        "mobile/end.html",
        status,
        order=order,
        lease=lease,
        product=projections.catalog.product(page.views, order.product_id),
        leasing=leasing,
        overdue=leasing and lease.is_overdue(page.app.clock.now()),
        opens=opens,
        closed=closed,
        shown=sorted(CHOICES, key=lambda choice: closed.get(choice) is not None),
        buyout=buyout(page, lease) if leasing else None,
        renewal=renewal(lease) if leasing else None,
        renew_months=RENEW_MONTHS,
        swaps=swap_options(page, lease) if leasing else [],
        percent=percent,
        chosen=chosen,
        form=page.form,
        errors=errors or {},
    )


def _confirm_page(page: MobilePage, order: OrderView, lease: Lease, body: EndOfTerm) -> Response:
    """What the choice will do, in words and figures, with the fields to send again confirmed."""
    held = page.app.get(Deposit, Deposit.create_id(lease.id), "deposit", to_change=False).held
    if body.choice == "return":
        excess = lease.terms.damage_excess
        words = page.t(
            "m.end.will.return",
            tracking=body.tracking_no,
            held=money(held),
            excess=page.t("m.end.will.excess", amount=money(excess)) if excess is not None else "",
        )
    elif body.choice == "renew":
        found = renewal(lease)
        assert found is not None and body.months is not None and lease.start is not None
        end = add_months(lease.start, lease.months + body.months) - timedelta(days=1)
        words = page.t(
            "m.end.will.renew",
            months=body.months,
            monthly=money(found.monthly),
            total=money(found.total(body.months)),
            end=day(end),
        )
    elif body.choice == "buyout":
        found_buyout = buyout(page, lease)
        assert found_buyout is not None
        if found_buyout.to_pay > ZERO:
            return page.redirect(f"/orders/{order.id}/pay", purpose="buyout")
        words = page.t(
            "m.end.will.buyout",
            price=money(found_buyout.quote.price),
            deposit=money(found_buyout.deposit_applied),
            refund=money(held - found_buyout.deposit_applied),
        )
    else:
        assert body.sku_id is not None
        words = _swap_words(page, lease, body.sku_id, body.tracking_no or "")
    return page.render("mobile/end_confirm.html", order=order, body=body, words=words)


def _swap_words(page: MobilePage, lease: Lease, sku_id: UUID, tracking_no: str) -> str:
    """The new order a swap places, quoted as `swap` will place it: the same plan, protection and deposit mode."""
    request = OrderRequest(sku_id, lease.quantity, lease.plan, lease.terms.protected, lease.deposit_mode, lease.channel)
    quote: Quote = page.app.quote(page.me, request)
    product = _product_of(page, sku_id)
    sku = next(sku for sku in product.skus if sku.id == sku_id)
    return page.t(
        "m.end.will.swap",
        tracking=tracking_no,
        name=product.details.name,
        specs=_specs(sku.specs),
        rent=money(quote.terms.rates.rent),
        deposit=money(quote.deposit),
        waiver=money(quote.waiver),
        due_now=money(quote.due_now),
    )


def _product_of(page: MobilePage, sku_id: UUID) -> ProductView:
    found = next(
        (product for product in projections.catalog.products(page.views) if any(s.id == sku_id for s in product.skus)),
        None,
    )
    if found is None:
        raise InvalidInput("sku_id", f"no SKU {sku_id} is listed")
    return found


def _specs(specs: Mapping[str, str]) -> str:
    return " · ".join(specs.values())


def _lease(page: MobilePage, order_id: UUID) -> Lease:
    return page.app.get(Lease, order_id, "order", to_change=False)


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None

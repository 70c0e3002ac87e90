"""The shop window: products by category, and a product's page where the customer picks a SKU, a plan (months, or
days on a calendar of the dates a unit is free) and protection, and sees the live quote: monthly rent, total rent,
deposit, what credit waives and why not more, and what is due now. The figures are the domain's own quote, the one
`POST /v1/quotes` answers; a visitor is quoted the whole deposit until they log in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from starlette.responses import Response

import projections.catalog
import projections.stock
from api.web import i18n
from api.web.mobile.frame import MobilePage, Pages
from leasecore.catalog import Sku
from leasecore.errors import InvalidInput, LeaseError, NotFound, Overdue
from leasecore.lease.quote import OrderRequest, Quote
from leasecore.values import DepositMode, LongTerm, Plan, ShortTerm
from projections.catalog import ProductView

pages = Pages()

CALENDAR_DAYS = 42
"""Six weeks of dates to start a short-term rental on."""

WORDS = {
    "m.home.title": ("信用免押 · 先租后买", "Rent on credit, no deposit"),
    "m.home.all": ("全部", "All"),
    "m.home.categories": ("商品分类", "Categories"),
    "m.home.empty": ("这个分类下暂时没有商品", "Nothing in this category yet"),
    "m.home.from_monthly": ("月租低至 {amount}", "From {amount} a month"),
    "m.home.from_daily": ("日租 {amount} 起", "From {amount} a day"),
    "m.home.deposit": ("押金 {amount} · 信用可免", "Deposit {amount}, waivable on credit"),
    "m.product.sku": ("规格", "Model"),
    "m.product.plan": ("租期", "Term"),
    "m.product.long": ("长租（按月）", "Long term (monthly)"),
    "m.product.short": ("短租（按天）", "Short term (daily)"),
    "m.product.start": ("起租日", "First day"),
    "m.product.end": ("归还日", "Last day"),
    "m.product.days_rule": (
        "短租 {low}–{high} 天，灰色日期无可租库存",
        "{low} to {high} days; greyed dates have no unit free",
    ),
    "m.product.calendar": ("可选起租日", "Days you can start on"),
    "m.product.protection": ("意外保障", "Accident protection"),
    "m.product.protection_offer": (
        "{price}，意外损坏最多赔 {excess}",
        "{price}; you pay at most {excess} for accidental damage",
    ),
    "m.product.protection_mandatory": ("本商品必选", "required for this product"),
    "m.product.deposit": ("押金方式", "Deposit"),
    "m.product.waiver": ("信用免押", "Waive on credit"),
    "m.product.full": ("全额押金", "Pay the full deposit"),
    "m.product.update": ("更新报价", "Update the quote"),
    "m.product.rent_now": ("立即租用", "Rent it"),
    "m.product.no_units": ("暂时无货", "Out of stock"),
    "m.quote.title": ("费用明细", "What you pay"),
    "m.quote.monthly": ("月租", "Monthly rent"),
    "m.quote.daily": ("日租", "Daily rent"),
    "m.quote.rent_total": ("总租金", "Total rent"),
    "m.quote.protection_total": ("保障服务费", "Protection"),
    "m.quote.deposit": ("押金", "Deposit"),
    "m.quote.waiver": ("免押 {amount}", "{amount} waived by credit"),
    "m.quote.deposit_due": ("需付押金", "Deposit to pay"),
    "m.quote.to_freeze": ("预授权冻结", "Frozen, not paid"),
    "m.product.preauth": ("押金预授权（冻结不扣款）", "Pre-authorize the deposit (frozen, not paid)"),
    "m.quote.due_now": ("首付（今日应付）", "Due now"),
    "m.quote.installments": ("{count} 期，每期 {amount}", "{count} installments of {amount}"),
    "m.quote.visitor": ("登录并完成认证后可享信用免押", "Log in and verify to have the deposit waived on credit"),
    "m.quote.why": ("为什么没有全免：", "Why not all of it: "),
    "m.quote.limit.no_score": (
        "还没有信用分，请先完成实名认证，再评估信用",
        "no credit score yet: verify your identity, then evaluate your credit",
    ),
    "m.quote.limit.under_minimum": (
        "信用分 {score} 低于免押最低分 {minimum}",
        "a score of {score} is under the {minimum} a waiver needs",
    ),
    "m.quote.limit.no_band": ("信用分 {score} 不在任何免押档位内", "no waiver band covers a score of {score}"),
    "m.quote.limit.band": (
        "信用分 {score} 所在档位最多免押 {amount}",
        "a score of {score} has at most {amount} waived",
    ),
    "m.quote.limit.per_order_cap": ("每单最多免押 {amount}", "at most {amount} is waived an order"),
    "m.quote.limit.per_unit_cap": ("每件最多免押 {amount}", "at most {amount} is waived a unit"),
    "m.quote.limit.credit_line": ("您的免押额度还可用 {amount}", "your credit line has {amount} available"),
    "m.quote.unavailable": ("无法报价", "No quote"),
    "m.quote.blocked": (
        "您有逾期未付的账单，还清后才能免押",
        "An overdue bill must be paid before credit waives a deposit",
    ),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Card:
    product: ProductView
    monthly_from: Decimal | None
    daily_from: Decimal | None
    deposit: Decimal


@pages.get("/", login=False)
def home(page: MobilePage) -> Response:
    """The categories and their products, each with its lowest monthly (or daily) rent and its deposit."""
    categories = [category for category in projections.catalog.categories(page.views) if category.parent_id is None]
    chosen = _uuid(page.query.get("category"))
    ids = _subtree(page, chosen) if chosen else None
    products = projections.catalog.products(page.views, category_ids=ids)
    cards = [_card(product) for product in products if product.skus]
    return page.render("mobile/home.html", categories=categories, chosen=chosen, cards=cards)


@dataclass(frozen=True)
class Choice:
    """What the customer picked on the product page (from its query, so a reload or a shared link keeps it)."""

    sku: Sku
    kind: str
    months: int | None
    start: date | None
    end: date | None
    protection: bool
    deposit_mode: DepositMode

    def plan(self) -> Plan | None:
        if self.kind == "long" and self.months:
            return LongTerm(self.months)
        if self.kind == "short" and self.start and self.end:
            return ShortTerm(self.start, self.end)
        return None

    def query(self) -> dict[str, str]:
        """The choice as the checkout's query."""
        found = {"sku": str(self.sku.id), "kind": self.kind, "deposit": self.deposit_mode.value}
        found["protection"] = "1" if self.protection else "0"
        if self.kind == "long" and self.months:
            found["months"] = str(self.months)
        if self.kind == "short" and self.start and self.end:
            found["start"], found["end"] = self.start.isoformat(), self.end.isoformat()
        return found


@dataclass(frozen=True)
class Day:
    day: date
    bookable: bool
    chosen: bool


@pages.get("/products/{id}", login=False)
def product(page: MobilePage) -> Response:
    """The product, the pickers and the quote for what is picked."""
    found = _product(page)
    choice = choose(page, found)
    quote, problem = quote_for(page, found, choice)
    return page.render(
        "mobile/product.html",
        product=found,
        choice=choice,
        quote=quote,
        problem=problem,
        calendar=_calendar(page, found, choice),
        checkout=page.url("/checkout", **choice.query()),
        here=page.url(f"/products/{found.id}", **choice.query()),
    )


@pages.get("/products/{id}/quote", login=False)
def quote_part(page: MobilePage) -> Response:
    """The quote alone, for the product page to swap in as the customer picks (mobile.js); the page works without it."""
    found = _product(page)
    choice = choose(page, found)
    quote, problem = quote_for(page, found, choice)
    checkout = page.url("/checkout", **choice.query())
    here = page.url(f"/products/{found.id}", **choice.query())
    return page.render(
        "mobile/_quote_part.html",
        product=found,
        choice=choice,
        quote=quote,
        problem=problem,
        checkout=checkout,
        here=here,
    )


def choose(page: MobilePage, product: ProductView) -> Choice:
    """The choice the query names, each part defaulting to what the product offers first."""
    query = page.query
    sku = next((sku for sku in product.skus if str(sku.id) == query.get("sku")), product.skus[0])
    kinds = [kind for kind, offer in (("long", product.long_term), ("short", product.short_term)) if offer]
    asked_kind = query.get("kind", "")
    kind = asked_kind if asked_kind in kinds else kinds[0]
    months = None
    if kind == "long" and product.long_term:
        terms = product.long_term.terms
        asked = query.get("months", "")
        months = int(asked) if asked.isdigit() and int(asked) in terms else terms[-1]
    start = end = None
    if kind == "short" and product.short_term:
        start = _day(query.get("start")) or page.today() + timedelta(days=1)
        end = _day(query.get("end")) or start + timedelta(days=product.short_term.min_days - 1)
    protection = product.protection.mandatory or (product.protection.offered and query.get("protection") == "1")
    deposit_mode = DepositMode.FULL if query.get("deposit") == "full" else DepositMode.WAIVER
    if query.get("deposit") == DepositMode.PREAUTH.value:
        deposit_mode = DepositMode.PREAUTH
    return Choice(sku, kind, months, start, end, protection, deposit_mode)


def quote_for(page: MobilePage, product: ProductView, choice: Choice) -> tuple[Quote | None, str | None]:
    """The domain's quote for the choice (the customer's own, or a visitor's), or why there is none, in words."""
    plan = choice.plan()
    if plan is None:
        return None, None
    request = OrderRequest(choice.sku.id, 1, plan, choice.protection, choice.deposit_mode, channel=channel(page))
    try:
        if page.customer_id is None:
            return page.app.quote_for_visitor(request), None
        return page.app.quote(page.customer_id, request), None
    except Overdue:
        return None, page.t("m.quote.blocked")
    except InvalidInput as error:
        return None, error.message
    except LeaseError as error:
        return None, str(error)


def channel(page: MobilePage) -> str:
    """Where the customer shops: inside Alipay's or WeChat's web view (their mini-programs), else the H5 page."""
    agent = page.request.headers.get("user-agent", "")
    if "AlipayClient" in agent:
        return "alipay_mini"
    if "MicroMessenger" in agent:
        return "wechat_mini"
    return "h5"


def _calendar(page: MobilePage, product: ProductView, choice: Choice) -> list[Day]:
    """The days a short-term rental may start on: a unit of the SKU is free for the shortest rental from each."""
    if choice.kind != "short" or product.short_term is None:
        return []
    shortest = timedelta(days=product.short_term.min_days - 1)
    units = [
        unit for unit in projections.stock.units(page.views, choice.sku.id) if unit.status in ("in_stock", "leased")
    ]
    today = page.today()
    days = []
    for offset in range(CALENDAR_DAYS):
        start = today + timedelta(days=offset)
        end = start + shortest
        free = any(
            not any(b.start <= end and (b.end is None or start <= b.end) for b in unit.bookings) for unit in units
        )
        days.append(Day(start, free, start == choice.start))
    return days


def _product(page: MobilePage) -> ProductView:
    found = projections.catalog.product(page.views, page.path_id())
    if found is None or found.retired or not found.skus:
        raise NotFound("product", page.request.path_params.get("id"))
    return found


def _card(product: ProductView) -> Card:
    monthly = [price.monthly_rent for sku in product.skus for price in sku.term_prices] if product.long_term else []
    daily = [sku.daily_rent for sku in product.skus if sku.daily_rent is not None] if product.short_term else []
    return Card(product, min(monthly, default=None), min(daily, default=None), min(sku.deposit for sku in product.skus))


def _subtree(page: MobilePage, root: UUID) -> list[UUID]:
    rows = projections.catalog.categories(page.views)
    found, frontier = [root], [root]
    while frontier:
        frontier = [row.id for row in rows if row.parent_id in frontier]
        found += frontier
    return found


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None

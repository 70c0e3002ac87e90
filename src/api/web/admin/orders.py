"""Orders: the list by status tab (overdue from the collection tasks), found by order id, customer phone or name, a
unit's serial or a tracking number, narrowed by channel, product and the days placed, a page at a time newest first
(or oldest, or most overdue), the customer on every row; and the order page with its timeline, installments,
payments, refunds, adjustments, settlement statement and the actions its state allows (approve and reject here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.responses import Response

import projections.auto_debits
import projections.catalog
import projections.collection_tasks
import projections.customers
import projections.orders
import projections.refunds
from api.http import answers
from api.http.endpoint import Access
from api.http.endpoints import admin_orders, admin_reports
from api.http.schemas import admin_orders as schemas
from api.processes import refunds
from api.web import i18n
from api.web.admin import shipping
from api.web.admin.console import Page, Pages, Screen
from api.web.formatting import billing_zone, money
from api.web.i18n import known
from api.web.pages import reason_in_words
from leasecore.audit import RecordedEvent, history
from leasecore.errors import InvalidInput
from leasecore.lease import AUTOMATIC, RENT_PAYABLE, LeaseStatus
from leasecore.lease.billing import CollectionAction
from projections.customers import CustomerView
from projections.orders import SORTS, Cursor, OrderFilter, OrderRow, OrderView, SettlementView

pages = Pages()
PER_PAGE = 20
OVERDUE = "overdue"
TABS = (
    LeaseStatus.PENDING_PAYMENT,
    LeaseStatus.PENDING_REVIEW,
    LeaseStatus.PENDING_CONTRACT,
    LeaseStatus.PENDING_SHIPMENT,
    LeaseStatus.SHIPPED,
    LeaseStatus.LEASING,
    LeaseStatus.RETURNING,
    LeaseStatus.INSPECTING,
    LeaseStatus.PENDING_SETTLEMENT,
    LeaseStatus.BOUGHT_OUT,
    LeaseStatus.SETTLED,
    LeaseStatus.REJECTED,
    LeaseStatus.CANCELLED,
)
"""The tabs in the order of an order's life (待审核, 待发货, 待收货, 租用中, 待归还, 检测中, 已完成, 已买断 …); the open
ones show how many orders they hold."""


CHANNELS = ("app", "h5", "alipay_mini", "wechat_mini")
WORDS = {
    "orders.filters": ("筛选", "Filters"),
    "orders.channel": ("渠道", "Channel"),
    "orders.product": ("商品", "Product"),
    "orders.placed_from": ("下单日期从", "Placed from"),
    "orders.placed_to": ("至", "to"),
    "orders.sort": ("排序", "Sort"),
    "orders.any": ("全部", "Any"),
    "orders.apply": ("应用", "Apply"),
    "orders.sort.newest": ("下单时间从新到旧", "Newest first"),
    "orders.sort.oldest": ("下单时间从旧到新", "Oldest first"),
    "orders.sort.overdue": ("逾期天数从多到少", "Most overdue first"),
    "orders.found_by_unit": ("持有或曾持有序列号 {q} 的订单", "Orders holding or that held serial {q}"),
    "orders.found_by_tracking": ("运单号为 {q} 的订单", "Orders shipped under tracking number {q}"),
    "orders.bad_date": ("日期格式应为 YYYY-MM-DD", "dates are YYYY-MM-DD"),
}
i18n.add(WORDS)

AUTO_DEBIT_WORDS = {
    "order.autodebit": ("自动扣款", "Auto-debit"),
    "order.autodebit.state": ("协议状态", "Agreement"),
    "order.autodebit.state.signing": ("待签约", "Waiting for the signature"),
    "order.autodebit.state.active": ("生效中", "Active"),
    "order.autodebit.state.cancelled": ("已关闭", "Cancelled"),
    "order.autodebit.external_no": ("平台协议号", "Our agreement no."),
    "order.autodebit.agreement_no": ("支付机构协议号", "Provider's agreement no."),
    "order.autodebit.signed_at": ("签约时间", "Signed at"),
    "order.autodebit.cancelled_reason": ("关闭原因", "Cancelled because"),
    "order.autodebit.seq": ("期数", "Installment"),
    "order.autodebit.number": ("第几次", "Try"),
    "order.autodebit.day": ("扣款日", "Day"),
    "order.autodebit.detail": ("交易号 / 失败原因", "Transaction / reason"),
    "order.autodebit.attempt.charging": ("扣款中", "Charging"),
    "order.autodebit.attempt.succeeded": ("成功", "Paid"),
    "order.autodebit.attempt.failed": ("失败", "Failed"),
    "order.autodebit.no_attempts": ("还没有扣款。", "Nothing charged yet."),
    "order.autodebit.none": ("客户未开通自动扣款。", "The customer has not turned on auto-debit."),
}
i18n.add(AUTO_DEBIT_WORDS)


@dataclass(frozen=True)
class Narrowed:
    """The filters of the list as asked (the form's values) and as the read model takes them."""

    where: OrderFilter
    sort: str
    values: dict[str, str]
    error: str | None = None
    found_by: str | None = None

    def keep(self) -> dict[str, str | None]:
        return {name: value or None for name, value in self.values.items()}


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    href: str
    current: bool
    count: int | None


@dataclass(frozen=True)
class Row:
    """An order as its list row shows it, with who placed it."""

    id: UUID
    status: str
    customer_name: str | None
    customer_phone: str | None
    product: str
    plan: str
    deposit: Decimal
    waiver: Decimal
    channel: str
    placed: str
    days_overdue: int
    overdue_amount: Decimal | None = None
    late_fees: Decimal | None = None
    stage: str | None = None


@dataclass(frozen=True)
class Paging:
    page: int | None
    pages: int | None
    total: int | None
    first: str | None
    prev: str | None
    next: str | None
    last: str | None

    @property
    def total_text(self) -> str:
        """The count as shown: grouped, and "10,000+" past what a narrowed list counts."""
        if self.total is None:
            return ""
        if self.total > projections.orders.COUNT_CAP:
            return f"{projections.orders.COUNT_CAP:,}+"
        return f"{self.total:,}"


@pages.get("/orders", access=admin_orders.EVERYONE)
def order_list(page: Page) -> Response:
    """The orders of a tab (all by default), of one customer when a search finds one, newest first."""
    query = page.query
    status = query.get("status", "")
    if status == OVERDUE and not page.may(admin_reports.COLLECTORS):
        status = ""
    if status not in {tab.value for tab in TABS} | {OVERDUE}:
        status = ""
    number = _page_number(query.get("page"))
    q = query.get("q", "").strip()[:64]
    customer = _customer(page, query.get("customer"))
    matches: list[CustomerView] = []
    narrowed = _narrowed(page)
    if q and customer is None:
        found = _search(page, q, narrowed)
        if isinstance(found, Response):
            return found
        if isinstance(found, Narrowed):
            narrowed = found
        elif len(found) == 1:
            customer = found[0]
        else:
            matches = found
    searching = bool(q) and customer is None and narrowed.found_by is None
    rows: list[Row] = []
    paging = Paging(1, None, None, None, None, None, None)
    if not searching:
        rows, paging = _rows(page, status, customer, number, narrowed)
    return page.render(
        "admin/orders.html",
        narrowed=narrowed,
        channels=CHANNELS,
        products=[(str(product_id), name) for product_id, name in _product_names(page).items()],
        sorts=list(SORTS),
        tabs=_tabs(page, status, customer),
        status=status,
        q=q,
        customer=customer,
        matches=matches,
        nothing_found=searching and not matches,
        rows=rows,
        paging=paging,
        overdue_tab=status == OVERDUE,
    )


def _narrowed(page: Page) -> Narrowed:
    """Channel, product, the days placed (in the billing timezone) and the sort the form asked for; a day that is
    not a date is named, not guessed."""
    query = page.query
    values = {name: query.get(name, "").strip()[:40] for name in ("channel", "product", "from", "to", "sort")}
    channel = values["channel"] if values["channel"] in CHANNELS else None
    try:
        product_id = UUID(values["product"]) if values["product"] else None
    except ValueError:
        product_id, values["product"] = None, ""
    zone = billing_zone(page.app)
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    error = None
    for name in bounds:
        if values[name]:
            try:
                day = date.fromisoformat(values[name])
            except ValueError:
                error = page.t("orders.bad_date")
                continue
            bounds[name] = datetime.combine(day + timedelta(days=1 if name == "to" else 0), time(), zone)
    sort = values["sort"] if values["sort"] in SORTS else "newest"
    where = OrderFilter(
        channel=channel, product_id=product_id, placed_from=bounds["from"], placed_before=bounds["to"]
    )
    return Narrowed(where, sort, values, error)


def _by_unit_or_tracking(page: Page, q: str, narrowed: Narrowed) -> Narrowed:
    """A search that names no customer may name a unit's serial or a tracking number."""
    by_unit, by_tracking = replace(narrowed.where, serial=q), replace(narrowed.where, tracking_no=q)
    hits = projections.orders.any_of(page.views, by_unit, by_tracking)
    for hit, where, found_by in zip(
        hits, (by_unit, by_tracking), ("orders.found_by_unit", "orders.found_by_tracking"), strict=True
    ):
        if hit:
            return replace(narrowed, where=where, found_by=page.t(found_by, q=q))
    return narrowed


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


def _customer(page: Page, text: str | None) -> CustomerView | None:
    try:
        return projections.customers.customer(page.views, UUID(text)) if text else None
    except ValueError:
        return None


def _search(page: Page, q: str, narrowed: Narrowed) -> list[CustomerView] | Narrowed | Response:
    """An order id opens the order, a customer id finds its customer; then, each only if the one before found
    nothing, a unit's serial or a tracking number (indexed), a phone or id by its beginning (indexed), a name by
    any part of it (the one search that reads every customer)."""
    try:
        wanted = UUID(q)
    except ValueError:
        by_unit = _by_unit_or_tracking(page, q, narrowed)
        if by_unit.found_by is not None:
            return by_unit
        found = projections.customers.customers(page.views, q, limit=20, names=False).items
        return found or projections.customers.customers(page.views, q, limit=20).items
    if projections.orders.order(page.views, wanted) is not None:
        return page.redirect(f"/orders/{wanted}", whole_page=True)
    customer = projections.customers.customer(page.views, wanted)
    return [customer] if customer else []


def _tabs(page: Page, status: str, customer: CustomerView | None) -> list[Tab]:
    customer_id = customer.customer_id if customer else None
    keep = {"customer": str(customer_id) if customer_id else None}
    tabs = [Tab("", page.t("orders.all"), page.url("/orders", **keep), status == "", None)]
    counts = projections.orders.status_counts(page.views, OrderFilter(customer_id=customer_id))
    for item in TABS:
        count = None if item.is_final or item is LeaseStatus.BOUGHT_OUT else counts.get(item.value, 0)
        href = page.url("/orders", status=item.value, **keep)
        tabs.append(Tab(item.value, page.t(f"status.{item.value}"), href, status == item.value, count))
    if page.may(admin_reports.COLLECTORS):
        href = page.url("/orders", status=OVERDUE)
        tabs.append(Tab(OVERDUE, page.t("orders.overdue"), href, status == OVERDUE, None))
    return tabs


def _rows(
    page: Page, status: str, customer: CustomerView | None, number: int, narrowed: Narrowed
) -> tuple[list[Row], Paging]:
    customer_id = customer.customer_id if customer else None
    offset = (number - 1) * PER_PAGE
    names = _Names(page)
    keep = {"status": status or None, "customer": str(customer_id) if customer_id else None, **narrowed.keep()}
    if narrowed.found_by is not None:
        keep["q"] = page.query.get("q", "").strip()[:64]
    filtered = narrowed.found_by is not None or narrowed.where != OrderFilter()
    if status == OVERDUE and customer_id is None and not filtered:
        stages = [action.value for action in CollectionAction]
        tasks = answers.collection_tasks_today(page.app, page.views, stages, limit=PER_PAGE + 1, offset=offset)
        rows = []
        for task in tasks[:PER_PAGE]:
            view = projections.orders.order(page.views, task.order_id)
            if view is not None:
                rows.append(
                    names.row(view, overdue_amount=task.overdue_amount, late_fees=task.late_fees, stage=task.stage)
                )
        more = len(tasks) > PER_PAGE
        return rows, Paging(
            number,
            None,
            None,
            page.url("/orders", **keep) if number > 1 else None,
            page.url("/orders", page=number - 1, **keep) if number > 1 else None,
            page.url("/orders", page=number + 1, **keep) if more else None,
            None,
        )
    if status == OVERDUE:
        found = projections.orders.orders(
            page.views, customer_id=customer_id, where=narrowed.where, sort="overdue", limit=200
        )
        today = page.app.local_today()
        overdue = [view for view in found.items if view.days_overdue_on(today) > 0]
        names.know(overdue)
        return [names.row(view) for view in overdue], Paging(1, 1, len(overdue), None, None, None, None)
    if narrowed.sort == "overdue":
        return _numbered(page, names, customer_id, status, narrowed, number, keep)
    return _by_cursor(page, names, customer_id, status, narrowed, keep)


def _numbered(
    page: Page,
    names: _Names,
    customer_id: UUID | None,
    status: str,
    narrowed: Narrowed,
    number: int,
    keep: dict[str, str | None],
) -> tuple[list[Row], Paging]:
    """Pages by number (most overdue first has no cursor)."""
    result = projections.orders.order_rows(
        page.views,
        where=_with(narrowed.where, customer_id, status),
        sort=narrowed.sort,
        limit=PER_PAGE,
        offset=(number - 1) * PER_PAGE,
    )
    pages = max(1, -(-result.total // PER_PAGE))
    return [names.listed(item) for item in result.items], Paging(
        number,
        pages,
        result.total,
        page.url("/orders", **keep) if number > 1 else None,
        page.url("/orders", page=number - 1, **keep) if number > 1 else None,
        page.url("/orders", page=number + 1, **keep) if number < pages else None,
        page.url("/orders", page=pages, **keep) if number < pages else None,
    )


def _by_cursor(
    page: Page,
    names: _Names,
    customer_id: UUID | None,
    status: str,
    narrowed: Narrowed,
    keep: dict[str, str | None],
) -> tuple[list[Row], Paging]:
    """Newest or oldest first, a page after or before a row's cursor, or the last page: each costs its own rows
    however deep in the list it is. One row more than a page tells whether there is more that way."""
    query = page.query
    after, before = Cursor.parse(query.get("after", "")), Cursor.parse(query.get("before", ""))
    last = query.get("last") == "1" and after is None and before is None
    sort = narrowed.sort
    if last:
        sort = "oldest" if narrowed.sort == "newest" else "newest"
    result = projections.orders.order_rows(
        page.views,
        where=_with(narrowed.where, customer_id, status),
        sort=sort,
        limit=PER_PAGE + 1,
        after=after,
        before=before,
    )
    items = result.items
    if last:
        more_before, more_after = len(items) > PER_PAGE, False
        items = list(reversed(items[:PER_PAGE]))
    elif before is not None:
        more_before, more_after = len(items) > PER_PAGE, True
        items = items[-PER_PAGE:]
    else:
        more_before, more_after = after is not None, len(items) > PER_PAGE
        items = items[:PER_PAGE]
    at_start = not more_before
    return [names.listed(item) for item in items], Paging(
        1 if at_start else None,
        None,
        result.total,
        None if at_start else page.url("/orders", **keep),
        page.url("/orders", before=str(Cursor.of(items[0])), **keep) if items and more_before else None,
        page.url("/orders", after=str(Cursor.of(items[-1])), **keep) if items and more_after else None,
        page.url("/orders", last=1, **keep) if more_after else None,
    )


def _with(where: OrderFilter, customer_id: UUID | None, status: str) -> OrderFilter:
    """The list's filter with the customer found and the tab's status."""
    return replace(where, customer_id=customer_id or where.customer_id, status=status or where.status)


def _product_names(page: Page) -> dict[UUID, str]:
    """The products' names, read once per request (the filter's picker and every row's product)."""
    names: dict[UUID, str] | None = getattr(page.request.state, "product_names", None)
    if names is None:
        names = page.request.state.product_names = projections.catalog.product_names(page.views)
    return names


class _Names:
    """Who placed each order and what it rents, looked up once per page."""

    def __init__(self, page: Page) -> None:
        self.page, self.today = page, page.app.local_today()
        self.customers: dict[UUID, CustomerView | None] = {}

    def know(self, views: Sequence[OrderView]) -> None:
        """Look up, in one query, the customers of these orders not yet known."""
        missing = {view.customer_id for view in views} - set(self.customers)
        found = projections.customers.customers_by_id(self.page.views, missing)
        self.customers.update({customer_id: found.get(customer_id) for customer_id in missing})

    def row(self, view: OrderView, **extra: Any) -> Row:
        if view.customer_id not in self.customers:
            self.know([view])
        person = self.customers[view.customer_id]
        return self._row(view, person.name if person else None, person.phone if person else None, **extra)

    def listed(self, item: OrderRow) -> Row:
        """A row of a list query, which brings its customer along."""
        return self._row(item, item.customer_name, item.customer_phone)

    def _row(self, order: OrderView | OrderRow, name: str | None, phone: str | None, **extra: Any) -> Row:
        plan, channel = order.plan, order.channel
        return Row(
            id=order.id,
            status=order.status,
            customer_name=name,
            customer_phone=phone,
            product=self.product(order.product_id),
            plan=plan_text(self.page, plan.kind, plan.months, plan.start, plan.end),
            deposit=order.deposit,
            waiver=order.waiver,
            channel=self.page.t(f"channel.{channel}") if known(f"channel.{channel}") else channel,
            placed=self.page.time(order.created_at),
            days_overdue=order.days_overdue_on(self.today),
            **extra,
        )

    def product(self, product_id: UUID) -> str:
        return _product_names(self.page).get(product_id) or str(product_id)[:8]


def plan_text(page: Page, kind: str, months: int | None, start: Any, end: Any) -> str:
    if kind == "long":
        return page.t("plan.long", months=months)
    return page.t("plan.short", start=start, end=end)


# The order page.


@dataclass(frozen=True)
class Moment:
    """An event of the order's life as staff read it: when, what, and the facts that matter."""

    version: int
    at: str
    title: str
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class Action:
    """Something the order's state allows: done here (a form), in another screen (a link), or not built yet."""

    key: str
    label: str
    access: Access
    href: str | None = None
    form: bool = False


SHOWN_FIELDS = (
    "amount",
    "refund",
    "reviewer",
    "reason",
    "reasons",
    "carrier",
    "tracking_no",
    "unit_serials",
    "start",
    "months",
    "stage",
    "days_overdue",
    "damage_fee",
    "liability",
    "notes",
    "balance",
    "contract_id",
    "document_id",
    "sha256",
    "flow_id",
    "deposit",
    "waiver",
    "channel",
    "paid_at",
    "as_of",
    "shipped_back_on",
    "new_order_id",
    "from_deposit",
    "seq",
    "staff",
)
"""The facts of an event the timeline shows; the rest (addresses, terms, schedules, ledgers) are on the page."""


@pages.get("/orders/{id}", access=admin_orders.EVERYONE)
def order_page(page: Page) -> Response:
    """The order as `GET /v1/admin/orders/{id}` answers it, with its events, payments and refunds."""
    return _order_page(page, page.path_id)


def _order_page(page: Page, order_id: UUID, status: int = 200, **errors: str) -> Response:
    order = answers.admin_order(page.app, page.views, order_id)
    product = projections.catalog.product(page.views, order.product_id)
    sku = next((item for item in product.skus if item.id == order.sku_id), None) if product else None
    return page.render(
        "admin/order.html",
        status,
        order=order,
        product=product.details.name if product else str(order.product_id),
        specs=" / ".join(sku.specs.values()) if sku else str(order.sku_id),
        plan=plan_text(page, order.plan.kind, order.plan.months, order.plan.start, order.plan.end),
        timeline=timeline(page, order_id),
        payments=projections.refunds.payments(page.views, order_id),
        refunds=refunds.refunds(page.views, order_id=order_id),
        actions=actions(page, order_id, LeaseStatus(order.status)),
        errors=errors,
        reason=page.form.get("reason", ""),
        settlement_rows=_settlement_rows(order.settlement),
        photos=shipping.photo_hashes(page, order_id),
        auto_debit=projections.auto_debits.agreement(page.views, order_id),
    )


def timeline(page: Page, order_id: UUID) -> list[Moment]:
    """Every event of the order's lease, oldest first, in words (the events the audit replays)."""
    return [_moment(page, event) for event in history(page.app, order_id)]


def _moment(page: Page, event: RecordedEvent) -> Moment:
    name = event.type.rpartition(".")[2]
    title = page.t(f"event.{name}") if known(f"event.{name}") else name
    details = [
        (page.t(f"field.{key}"), _shown(page, key, event.fields[key]))
        for key in SHOWN_FIELDS
        if key in event.fields and event.fields[key] not in (None, "", (), [])
    ]
    return Moment(event.version, page.time(event.timestamp), title, details)


def _shown(page: Page, key: str, value: Any) -> str:
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return page.time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "；".join(reason_in_words(page.t, str(item)) if key == "reasons" else str(item) for item in value)
    if key == "reason":
        return reason_in_words(page.t, str(value))
    if key == "reviewer" and value == AUTOMATIC:
        return page.t("reviewer.automatic")
    if key == "stage" and known(f"stage.{value}"):
        return page.t(f"stage.{value}")
    if key == "channel" and known(f"channel.{value}"):
        return page.t(f"channel.{value}")
    return str(value)


def actions(page: Page, order_id: UUID, status: LeaseStatus) -> list[Action]:
    """What the state allows, and who does it (the API's role for each command)."""
    found: list[Action] = []
    if status is LeaseStatus.PENDING_REVIEW:
        found += [
            Action("approve", page.t("action.approve"), admin_orders.REVIEWERS, form=True),
            Action("reject", page.t("action.reject"), admin_orders.REVIEWERS, form=True),
        ]
    if status is LeaseStatus.PENDING_SHIPMENT:
        found.append(_elsewhere(page, "ship", "shipping", f"/shipping/{order_id}", admin_orders.WAREHOUSE))
    if status is LeaseStatus.RETURNING:
        found.append(_elsewhere(page, "record_return", "shipping", f"/shipping/{order_id}", admin_orders.WAREHOUSE))
    if status is LeaseStatus.INSPECTING:
        found.append(_elsewhere(page, "inspect", "shipping", f"/shipping/{order_id}", admin_orders.WAREHOUSE))
    if status in RENT_PAYABLE:
        found.append(_elsewhere(page, "adjust", "collections", f"/collections/{order_id}", admin_orders.FINANCE))
    return found


def _elsewhere(page: Page, key: str, screen: str, path: str, access: Access) -> Action:
    return Action(key, page.t(f"action.{key}"), access, href=page.link(screen, path))


def _settlement_rows(settlement: Any) -> list[tuple[str, str]]:
    """The statement's figures in the order the read model declares them (when it settled is shown apart)."""
    if settlement is None:
        return []
    names = [field.name for field in fields(SettlementView) if field.name != "settled_at"]
    return [(f"settle.{name}", money(getattr(settlement, name))) for name in names]


@pages.post("/orders/{id}/approve", access=admin_orders.REVIEWERS)
def approve(page: Page) -> Response:
    """The reviewer passes the order (`POST /v1/admin/orders/{id}/approve`); it goes on to the contract."""
    order_id = page.path_id
    try:
        decision = schemas.Decision.model_validate({"reason": page.form.get("reason", "").strip()})
    except ValidationError as error:
        return _order_page(page, order_id, 422, approve=_first(error))
    assert page.user is not None
    page.app.approve(order_id, page.user.username, decision.reason)
    page.service.written()
    return page.redirect(f"/orders/{order_id}", done="approved")


@pages.post("/orders/{id}/reject", access=admin_orders.REVIEWERS)
def reject(page: Page) -> Response:
    """A rejection needs a reason (`POST /v1/admin/orders/{id}/reject`): the checkout is refunded, the waiver and
    the units released."""
    order_id = page.path_id
    reason = page.form.get("reason", "").strip()
    if not reason:
        return _order_page(page, order_id, 422, reject=page.t("action.reason_required"))
    try:
        decision = schemas.Rejection.model_validate({"reason": reason})
    except ValidationError as error:
        return _order_page(page, order_id, 422, reject=_first(error))
    assert page.user is not None
    try:
        page.app.reject(order_id, page.user.username, decision.reason)
    except InvalidInput as error:
        return _order_page(page, order_id, 422, reject=error.message)
    page.service.written()
    return page.redirect(f"/orders/{order_id}", done="rejected")


def _first(error: ValidationError) -> str:
    return str(error.errors()[0]["msg"])


screen = Screen("orders", "nav.orders", "/orders", admin_orders.EVERYONE, pages)

"""Customers: found by phone, name or id (its beginning), a page at a time, newest first, as `GET /v1/admin/customers`
finds them; a customer's page with their identity (the ID number masked), credit line, orders and conversations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from pydantic import ValidationError
from starlette.responses import Response

import projections.catalog
import projections.conversations
import projections.credit_lines
import projections.customers
import projections.orders
from api import privacy
from api.http.endpoint import staff
from api.http.endpoints import admin_customers
from api.http.errors import from_validation
from api.http.schemas import admin_customers as schemas
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from api.web.admin.orders import plan_text
from leasecore.application.privacy import REASON_LENGTH, OrdersStillOpen
from leasecore.errors import InvalidInput, NotFound
from leasecore.staff import Role
from leasecore.values import ERASED

pages = Pages()
ERASERS = staff(Role.ADMIN)
PER_PAGE = 20
ORDERS_PER_PAGE = 20
CONVERSATIONS_SHOWN = 10
"""The customer's latest conversations on their page; the support queue has them all."""

WORDS: dict[str, tuple[str, str]] = {
    "customers.search": ("搜索客户", "Search customers"),
    "customers.search_hint": ("手机号、姓名或客户编号开头", "Phone, name or the start of a customer id"),
    "customers.total": ("共 {total} 位客户", "Customers: {total}"),
    "customers.sorted": ("按注册时间从新到旧排列", "Newest first"),
    "customers.empty": ("没有匹配「{q}」的客户", "No customer matches “{q}”"),
    "customers.none": ("还没有客户", "No customers yet"),
    "customers.pages": ("客户分页", "Customer pages"),
    "customers.col.score": ("信用分", "Score"),
    "customers.col.level": ("等级", "Level"),
    "customers.col.quota": ("授信额度", "Quota"),
    "customers.col.available": ("可用额度", "Available"),
    "customers.col.registered": ("注册时间", "Registered"),
    "customer.title": ("客户 {name}", "Customer {name}"),
    "customer.identity": ("身份信息", "Identity"),
    "customer.name": ("姓名", "Name"),
    "customer.phone": ("手机号", "Phone"),
    "customer.id_number": ("身份证号", "ID number"),
    "customer.id_status": ("实名状态", "Identity"),
    "customer.registered": ("注册时间", "Registered"),
    "customer.id": ("客户编号", "Customer id"),
    "customer.credit": ("信用额度", "Credit line"),
    "customer.score": ("信用分", "Score"),
    "customer.score_source": ("评分来源", "Score from"),
    "customer.level": ("信用等级", "Level"),
    "customer.quota": ("授信额度", "Quota"),
    "customer.reserved": ("已占用（免押中）", "Reserved (waivers held)"),
    "customer.available": ("可用额度", "Available"),
    "customer.reservations": ("占用中的订单", "Orders holding a waiver"),
    "customer.blocked": ("逾期冻结", "Blocked by overdue"),
    "customer.blocked_yes": ("是：有逾期订单，暂停免押", "Yes: an order is overdue, no new waivers"),
    "customer.no_credit": ("还没有授信（尚未评估信用）", "No credit line yet (credit not evaluated)"),
    "customer.orders": ("订单（{count}）", "Orders ({count})"),
    "customer.no_orders": ("还没有订单", "No orders yet"),
    "customer.all_orders": ("在订单列表中查看", "See them in the order list"),
    "customer.conversations": ("客服会话", "Conversations"),
    "customer.no_conversations": ("还没有客服会话", "No conversations yet"),
    "customer.col.subject": ("主题", "Subject"),
    "customer.col.state": ("状态", "State"),
    "customer.col.messages": ("消息数", "Messages"),
    "customer.col.last_message": ("最近消息", "Last message"),
    "customer.more_conversations": ("另有 {count} 个较早的会话", "{count} earlier conversations not shown"),
    "customer.audit": ("审计记录", "Audit"),
    "customer.idstatus.unverified": ("未实名", "Not verified"),
    "customer.idstatus.verified": ("已实名", "Verified"),
    "customer.idstatus.rejected": ("实名未通过", "Rejected"),
    "customer.erase_title": ("删除个人信息", "Erase personal data"),
    "customer.erase_hint": (
        "依《个人信息保护法》删除：手机号、姓名、身份证号、收货地址和客服会话将显示为“已删除”，不可恢复；"
        "订单、付款和所有金额保留。仍有未结束订单时不能删除。",
        "Under PIPL: phone, name, ID number, delivery addresses and conversations will read “erased”, for good; "
        "orders, payments and every figure stay. Not while an order is still open.",
    ),
    "customer.erase_reason": (
        "删除原因（如客户申请、工单号；不要填写个人信息）",
        "Why (the customer's request, a ticket; no personal data)",
    ),
    "customer.erase": ("删除个人信息", "Erase personal data"),
    "customer.erase_confirm": (
        "确定删除该客户的个人信息？此操作不可撤销。",
        "Erase this customer's personal data? This cannot be undone.",
    ),
    "customer.erase_need_reason": ("请填写删除原因", "Say why the personal data is erased"),
    "customer.erase_open": ("仍有未结束的订单：{orders}", "Orders still open: {orders}"),
    "customer.erased": ("个人信息已删除", "Personal data erased"),
    "flash.customer_erased": ("个人信息已删除，客户已退出登录", "Personal data erased; the customer is logged out"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class OrderRow:
    id: UUID
    status: str
    product: str
    plan: str
    deposit: Decimal
    waiver: Decimal
    placed: str
    days_overdue: int


@dataclass(frozen=True)
class ConversationRow:
    subject: str
    state: str
    messages: int
    last_message: str
    link: str | None
    """The conversation in the support screen, or None when this user may not open it."""


@pages.get("/customers", access=admin_customers.EVERYONE)
def customer_list(page: Page) -> Response:
    """Customers whose phone or id begins with `q`, or whose name holds it, newest first, 20 a page."""
    q = page.query.get("q", "")
    number = _number(page.query.get("page"))
    try:
        query = schemas.CustomersQuery.model_validate({"q": q or None, "limit": PER_PAGE, "offset": 0})
    except ValidationError as error:
        problem = from_validation(error)
        message = "；".join(message for _, message in problem.errors)
        return page.render("admin/customers.html", 422, q=q, error=message, found=None, number=1, pages=1)
    found = projections.customers.customers(page.views, query.q, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    pages_count = max(1, -(-found.total // PER_PAGE))
    return page.render(
        "admin/customers.html", q=query.q or "", error=None, found=found, number=number, pages=pages_count
    )


@pages.get("/customers/{id}", access=admin_customers.EVERYONE)
def customer_page(page: Page) -> Response:
    """The customer as `GET /v1/admin/customers/{id}` answers it: identity, credit line, orders a page at a time."""
    return _customer_page(page)


@pages.post("/customers/{id}/erase", access=ERASERS)
def erase(page: Page) -> Response:
    """An admin erases the customer's personal data (asked to confirm first), as `POST
    /v1/admin/customers/{id}/erase` does; refused, with the orders named, while one is still open."""
    assert page.user is not None
    reason, service, by = page.form.get("reason", ""), page.service, page.user.username
    try:
        privacy.erase_customer(page.app, page.views, service.store, page.path_id, by, reason, service.tokens)
    except InvalidInput as error:
        message = error.message if reason.strip() else page.t("customer.erase_need_reason")
        return _customer_page(page, 422, error=message)
    except OrdersStillOpen as error:
        orders = ", ".join(str(order)[:8] for order in error.orders)
        return _customer_page(page, 409, error=page.t("customer.erase_open", orders=orders))
    service.written()
    return page.redirect(f"/customers/{page.path_id}", done="customer_erased")


def _customer_page(page: Page, status: int = 200, *, error: str | None = None) -> Response:
    customer_id = page.path_id
    found = projections.customers.customer(page.views, customer_id)
    if found is None:
        raise NotFound("customer", customer_id)
    line = projections.credit_lines.credit_line(page.views, customer_id)
    number = _number(page.query.get("page"))
    orders = projections.orders.orders(
        page.views, customer_id=customer_id, limit=ORDERS_PER_PAGE, offset=(number - 1) * ORDERS_PER_PAGE
    )
    names: dict[UUID, str] = {}
    rows, today = [], page.app.local_today()
    for view in orders.items:
        if view.product_id not in names:
            product = projections.catalog.product(page.views, view.product_id)
            names[view.product_id] = product.details.name if product else str(view.product_id)[:8]
        rows.append(
            OrderRow(
                view.id,
                view.status,
                names[view.product_id],
                plan_text(page, view.plan.kind, view.plan.months, view.plan.start, view.plan.end),
                view.deposit,
                view.waiver,
                page.time(view.created_at),
                view.days_overdue_on(today),
            )
        )
    conversations = projections.conversations.customer_conversations(
        page.views, customer_id, limit=CONVERSATIONS_SHOWN
    )
    customer = page.app.customer(customer_id)
    return page.render(
        "admin/customer.html",
        status,
        customer=found,
        erased=customer.erased,
        may_erase=page.may(ERASERS),
        erase_error=error,
        reason_length=REASON_LENGTH,
        id_number=masked(customer.id_number),
        line=line,
        orders=rows,
        orders_total=orders.total,
        number=number,
        pages=max(1, -(-orders.total // ORDERS_PER_PAGE)),
        orders_link=page.link("orders", "/orders", customer=str(customer_id)),
        conversations=[
            ConversationRow(
                view.subject,
                view.state,
                view.message_count,
                page.time(view.last_message_at),
                page.link("support", f"/support/{view.conversation_id}"),
            )
            for view in conversations.items
        ],
        conversations_more=conversations.total - len(conversations.items),
        audit_link=page.link("audit", "/audit", id=str(customer_id)),
    )


def masked(id_number: str | None) -> str | None:
    """Only the first six digits (where it was issued) and the last four show; the rest is starred."""
    if not id_number:
        return None
    if id_number == ERASED:
        return ERASED
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


screen = Screen("customers", "nav.customers", "/customers", admin_customers.EVERYONE, pages)

"""Audit: any aggregate by its id (an order's id is its lease's), replayed as `GET /v1/admin/audit/{id}` replays it:
its events in words with their version and time, a page at a time, its state at a version or an instant, and the
aggregates it relates to (an order's deposit, credit line, customer, payments and units)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.responses import Response

from api.http.endpoints import admin_reports
from api.http.errors import from_validation
from api.http.schemas import admin_reports as schemas
from api.replays import jsonable, related_to
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from api.web.formatting import money
from leasecore.audit import RecordedEvent, Replay, replay
from leasecore.errors import InvalidInput, NotFound

pages = Pages()
EVENTS_PER_PAGE = 50
LONG_VALUE = 240
"""A value longer than this (a schedule, a document) is folded into a <details> so the list stays readable."""

WORDS: dict[str, tuple[str, str]] = {
    "audit.title": ("审计", "Audit"),
    "audit.intro": (
        "输入任意编号（订单号即其租赁记录），查看其全部事件，以及某个版本或某一时刻的状态。",
        "Enter any id (an order's id is its lease's) to read its events and its state at a version or an instant.",
    ),
    "audit.id": ("编号", "Id"),
    "audit.id_hint": (
        "订单、客户、额度、押金、支付、设备等的编号",
        "Of an order, customer, credit line, deposit, payment, unit…",
    ),
    "audit.version": ("版本（可选）", "Version (optional)"),
    "audit.at": ("时刻（可选，账单时区）", "Instant (optional, billing timezone)"),
    "audit.submit": ("查看", "Show"),
    "audit.not_id": ("不是有效的编号（UUID）", "Not an id (a UUID)"),
    "audit.not_found": ("没有找到：{detail}", "Not found: {detail}"),
    "audit.aggregate": ("{kind} 的审计", "Audit of a {kind}"),
    "audit.as_of": ("版本 {version} · 截至 {at}", "Version {version} · as of {at}"),
    "audit.latest": ("查看最新状态", "See the latest state"),
    "audit.events": ("事件（{count}）", "Events ({count})"),
    "audit.events_pages": ("事件分页", "Event pages"),
    "audit.col.version": ("版本", "Version"),
    "audit.col.time": ("时间", "Time"),
    "audit.col.event": ("事件", "Event"),
    "audit.col.facts": ("内容", "Facts"),
    "audit.state_at": ("查看此版本的状态", "State at this version"),
    "audit.state": ("状态（版本 {version}）", "State (version {version})"),
    "audit.col.name": ("字段", "Field"),
    "audit.col.value": ("值", "Value"),
    "audit.related": ("相关记录", "Related"),
    "audit.no_related": ("没有相关记录", "Nothing related"),
    "audit.open_order": ("订单页面", "Order page"),
    "audit.open_customer": ("客户页面", "Customer page"),
    "audit.show": ("展开", "Show"),
    "audit.kind.order": ("订单", "order"),
    "audit.kind.deposit": ("押金", "deposit"),
    "audit.kind.credit_line": ("信用额度", "credit line"),
    "audit.kind.customer": ("客户", "customer"),
    "audit.kind.payment": ("支付", "payment"),
    "audit.kind.stock_unit": ("设备", "unit"),
    "audit.kind.inventory": ("SKU 库存登记", "SKU register"),
    "audit.kind.product": ("商品", "product"),
    "audit.type.Lease": ("订单（租赁）", "order (lease)"),
    "audit.type.Customer": ("客户", "customer"),
    "audit.type.CreditLine": ("信用额度", "credit line"),
    "audit.type.Deposit": ("押金", "deposit"),
    "audit.type.Payment": ("支付", "payment"),
    "audit.type.StockUnit": ("设备", "unit"),
    "audit.type.Inventory": ("SKU 库存登记", "SKU register"),
    "audit.type.Product": ("商品", "product"),
    "audit.type.Configuration": ("配置文件", "configuration document"),
    "audit.type.StaffAccount": ("员工账号", "staff account"),
    "audit.event.Customer.Registered": ("客户注册", "Customer registered"),
    "audit.event.Customer.IdentityVerified": ("实名认证通过", "Identity verified"),
    "audit.event.Customer.IdentityRejected": ("实名认证未通过", "Identity rejected"),
    "audit.event.Customer.CreditEvaluated": ("信用评估", "Credit evaluated"),
    "audit.event.Customer.OrderOpened": ("新订单", "Order opened"),
    "audit.event.CreditLine.Granted": ("授信", "Credit line granted"),
    "audit.event.CreditLine.QuotaAdjusted": ("额度调整", "Quota adjusted"),
    "audit.event.CreditLine.WaiverReserved": ("占用免押额度", "Waiver reserved"),
    "audit.event.CreditLine.WaiverReleased": ("释放免押额度", "Waiver released"),
    "audit.event.CreditLine.OverdueMarked": ("逾期冻结", "Blocked by an overdue order"),
    "audit.event.CreditLine.OverdueCleared": ("解除逾期冻结", "Overdue block cleared"),
    "audit.event.Deposit.Required": ("应付押金", "Deposit required"),
    "audit.event.Deposit.Paid": ("押金已付", "Deposit paid"),
    "audit.event.Deposit.Deducted": ("押金抵扣", "Deducted from the deposit"),
    "audit.event.Deposit.Refunded": ("押金退还", "Deposit refunded"),
    "audit.event.Payment.Requested": ("发起支付", "Payment requested"),
    "audit.event.Payment.Succeeded": ("支付成功", "Payment succeeded"),
    "audit.event.Payment.Failed": ("支付失败", "Payment failed"),
    "audit.event.Configuration.Published": ("首次发布", "Published"),
    "audit.event.Configuration.Revised": ("修订", "Revised"),
    "audit.event.StaffAccount.Created": ("账号创建", "Account created"),
    "audit.event.StaffAccount.Changed": ("角色或密码变更", "Roles or password changed"),
    "audit.event.StockUnit.Received": ("入库", "Received"),
    "audit.event.StockUnit.Booked": ("预占", "Booked"),
    "audit.event.StockUnit.Shipped": ("出库发货", "Shipped"),
    "audit.event.StockUnit.Released": ("释放", "Released"),
    "audit.event.StockUnit.Sold": ("售出（买断）", "Sold"),
    "audit.event.StockUnit.Retired": ("报废", "Retired"),
}
i18n.add(WORDS)

HIDDEN_FIELDS = {"password_hash"}
"""Never shown, even to an auditor."""


@dataclass(frozen=True)
class Fact:
    name: str
    value: str
    long: bool = False


@dataclass(frozen=True)
class EventRow:
    version: int
    at: str
    title: str
    type: str
    facts: list[Fact]


@dataclass(frozen=True)
class Link:
    kind: str
    aggregate_id: UUID
    href: str
    page: str | None
    page_label: str | None


@pages.get("/audit", access=admin_reports.AUDITORS)
def audit(page: Page) -> Response:
    """The form; with an `id`, that aggregate replayed (at `version` or instant `at` when given), its events a page
    at a time."""
    query = page.query
    text = query.get("id", "").strip()
    form = {"id": text, "version": query.get("version", ""), "at": query.get("at", "")}
    if not text:
        return page.render("admin/audit.html", form=form, errors={}, found=None)
    errors: dict[str, str] = {}
    try:
        aggregate_id = UUID(text)
    except ValueError:
        errors["id"] = page.t("audit.not_id")
    try:
        wanted = schemas.AuditQuery.model_validate(
            {"version": form["version"] or None, "at": _instant(page, form["at"]) if form["at"] else None}
        )
    except ValidationError as error:
        for field, message in from_validation(error).errors:
            errors[field if field in form else "version"] = message
    if errors:
        return page.render("admin/audit.html", 422, form=form, errors=errors, found=None)
    try:
        found = replay(page.app, aggregate_id, version=wanted.version, at=wanted.at)
    except InvalidInput as error:
        return page.render("admin/audit.html", 422, form=form, errors={error.field: error.message}, found=None)
    except NotFound as error:
        where = "at" if form["at"] else "version" if form["version"] else "id"
        detail = page.t("audit.not_found", detail=str(error))
        return page.render("admin/audit.html", 404, form=form, errors={where: detail}, found=None)
    return _replayed(page, form, found)


def _instant(page: Page, text: str) -> str:
    """The `at` field as RFC 3339: a browser's local date and time (`2026-01-05T10:00`) is in the billing timezone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=page.zone())).isoformat()


def _replayed(page: Page, form: dict[str, str], found: Replay) -> Response:
    count = len(found.events)
    pages_count = max(1, -(-count // EVENTS_PER_PAGE))
    number = min(_number(page.query.get("page")), pages_count)
    shown = found.events[(number - 1) * EVENTS_PER_PAGE : number * EVENTS_PER_PAGE]
    kind = found.aggregate_type
    return page.render(
        "admin/audit.html",
        form=form,
        errors={},
        found=found,
        kind=page.t(f"audit.type.{kind}") if i18n.known(f"audit.type.{kind}") else kind,
        as_of=page.time(found.as_of),
        events=[_event(page, event) for event in shown],
        count=count,
        number=number,
        pages=pages_count,
        state=[
            _fact(page, str(name), value, label=False)
            for name, value in found.state.items()
            if name not in HIDDEN_FIELDS
        ],
        related=[_link(page, item.kind, item.aggregate_id) for item in related_to(page.app, page.views, found)],
        order_page=page.link("orders", f"/orders/{found.aggregate_id}") if kind == "Lease" else None,
        keep={"id": form["id"], "version": form["version"] or None, "at": form["at"] or None},
    )


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 1_000_000 else 1


def _event(page: Page, event: RecordedEvent) -> EventRow:
    return EventRow(
        event.version,
        page.time(event.timestamp),
        event_title(page, event.type),
        event.type,
        [_fact(page, key, value) for key, value in event.fields.items() if key not in HIDDEN_FIELDS],
    )


def event_title(page: Page, qualname: str) -> str:
    """The event in words: this screen's words for it, the order timeline's, or its name split into words."""
    name = qualname.rpartition(".")[2]
    for key in (f"audit.event.{qualname}", f"event.{name}"):
        if i18n.known(key):
            return page.t(key)
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


def _fact(page: Page, key: str, value: Any, *, label: bool = True) -> Fact:
    name = page.t(f"field.{key}") if label and i18n.known(f"field.{key}") else key
    shown = _shown(page, value)
    return Fact(name, shown, len(shown) > LONG_VALUE or "\n" in shown)


def _shown(page: Page, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return page.time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | UUID):
        return str(value)
    converted = jsonable(value)
    if isinstance(converted, str | int):
        return str(converted)
    if isinstance(converted, list) and all(isinstance(item, str | int) for item in converted):
        return "；".join(str(item) for item in converted) or "—"
    return json.dumps(converted, indent=2, ensure_ascii=False)


def _link(page: Page, kind: str, aggregate_id: UUID) -> Link:
    href = page.url("/audit", id=str(aggregate_id))
    if kind == "order":
        return Link(
            kind, aggregate_id, href, page.link("orders", f"/orders/{aggregate_id}"), page.t("audit.open_order")
        )
    if kind == "customer":
        target = page.link("customers", f"/customers/{aggregate_id}")
        return Link(kind, aggregate_id, href, target, page.t("audit.open_customer"))
    return Link(kind, aggregate_id, href, None, None)


screen = Screen("audit", "nav.audit", "/audit", admin_reports.AUDITORS, pages)

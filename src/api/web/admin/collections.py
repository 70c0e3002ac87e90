"""Overdue and collections (逾期与催收): overdue orders by days overdue and by the billing document's collection
stages, the overdue ledger `GET /v1/admin/overdue` answers (a page at a time, as CSV or XLSX too), the collection
tasks of `GET /v1/admin/collections`, a call's outcome recorded (`POST /v1/admin/orders/{id}/calls`), a reminder
sent (`POST /v1/admin/orders/{id}/reminders`) and finance's waiver of a late fee with a reason
(`POST /v1/admin/orders/{id}/adjustments`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from pydantic import ValidationError
from starlette.responses import Response

import projections.collection_tasks
import projections.customers
import projections.installments
from api.http import answers, exports
from api.http.endpoints import admin_orders, admin_reports
from api.http.schemas import admin_orders as order_schemas
from api.http.schemas import admin_reports as schemas
from api.processes import outbox
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from api.web.formatting import number
from leasecore.audit import replay
from leasecore.errors import InvalidInput, Refused
from leasecore.lease import RENT_PAYABLE, CallOutcome, LeaseStatus
from leasecore.lease.billing import CollectionAction
from leasecore.values import ZERO
from projections.customers import CustomerView
from projections.installments import OverdueEntry

pages = Pages()
PER_PAGE = 20
BUCKETS = ((1, 30), (31, 60), (61, 90), (91, None))
"""Days overdue: M1, M2, M3 and beyond, as the dashboard counts them."""
STAGES = tuple(action.value for action in CollectionAction)
FORMATS = ("csv", "xlsx")

WORDS: dict[str, tuple[str, str]] = {
    "coll.by_days": ("逾期订单（按逾期天数）", "Overdue orders by days overdue"),
    "coll.by_stage": ("逾期订单（按催收阶段）", "Overdue orders by collection stage"),
    "coll.orders": ("{count} 笔", "{count}"),
    "coll.tile_owed": ("欠款（含滞纳金）", "Owed, late fees included"),
    "coll.ledger": ("逾期账单（按期）", "The overdue ledger (by installment)"),
    "coll.ledger_hint": ("逾期天数从多到少排列", "Longest overdue first"),
    "coll.ledger_empty": ("没有逾期的账单", "Nothing is overdue"),
    "coll.tasks": ("催收任务（电话与委外阶段）", "Collection tasks (call and agency stages)"),
    "coll.tasks_empty": ("没有处于电话或委外阶段的订单", "No order is at the call or agency stage"),
    "coll.export": ("导出", "Export"),
    "coll.export_csv": ("导出 CSV", "Export CSV"),
    "coll.export_xlsx": ("导出 Excel", "Export XLSX"),
    "coll.installment": ("期数", "Installment"),
    "coll.due_date": ("应还日", "Due"),
    "coll.amount": ("本期应还", "Installment amount"),
    "coll.owed": ("逾期欠款（含滞纳金）", "Owed (late fees included)"),
    "coll.late_fee": ("滞纳金", "Late fee"),
    "coll.contact": ("联系人", "Contact"),
    "coll.stage_since": ("进入阶段", "Stage since"),
    "coll.waive": ("减免滞纳金", "Waive the late fee"),
    "coll.remind": ("发送提醒短信", "Send a reminder"),
    "coll.remind_hint": (
        "向客户发送逾期金额（含滞纳金）的提醒短信；每期逾期账单只能手动发送一次，催收阶段变化时系统会自动发送。",
        "Texts the customer what is overdue, late fees included; once per overdue installment by hand (the daily "
        "job sends one at each collection stage).",
    ),
    "coll.remind_confirm": ("确定向客户发送逾期提醒短信？", "Send the customer a reminder of what is overdue?"),
    "coll.messages": ("短信记录", "Text messages"),
    "coll.no_messages": ("还没有发给客户的短信", "No text messages to the customer yet"),
    "coll.message_kind": ("类型", "Kind"),
    "coll.message_state": ("状态", "State"),
    "coll.message_text": ("内容", "Text"),
    "kind.due": ("到期提醒", "Due soon"),
    "kind.collection_sms": ("催收：短信阶段", "Collections: SMS stage"),
    "kind.collection_call": ("催收：电话阶段", "Collections: call stage"),
    "kind.collection_agency": ("催收：委外阶段", "Collections: agency stage"),
    "kind.manual": ("手动提醒", "Sent by staff"),
    "msgstate.pending": ("待发送", "Pending"),
    "msgstate.sent": ("已发送", "Sent"),
    "msgstate.failed": ("发送失败", "Failed"),
    "flash.reminder_sent": ("提醒短信已加入发送队列", "The reminder is queued to be sent"),
    "coll.handle": ("处理", "Handle"),
    "coll.calls": ("催收电话记录", "Collection calls"),
    "coll.no_calls": ("还没有电话记录", "No calls recorded yet"),
    "coll.record_call": ("记录通话结果", "Record a call"),
    "coll.outcome": ("通话结果", "Outcome"),
    "coll.promised_on": ("承诺还款日（仅承诺还款时填写）", "Day promised (for a promise to pay only)"),
    "coll.call_notes": ("通话备注（可选）", "Notes (optional)"),
    "coll.call_at": ("时间", "When"),
    "coll.call_by": ("催收员", "By"),
    "coll.save_call": ("保存通话记录", "Save the call"),
    "coll.bad_day": ("日期格式应为 YYYY-MM-DD", "A day is YYYY-MM-DD"),
    "outcome.reached": ("已接通", "Reached"),
    "outcome.promised": ("承诺还款", "Promised to pay"),
    "outcome.no_answer": ("无人接听", "No answer"),
    "outcome.refused": ("拒绝还款", "Refused to pay"),
    "outcome.wrong_number": ("号码错误", "Wrong number"),
    "event.CallRecorded": ("催收电话", "Collection call"),
    "flash.call_recorded": ("通话结果已记录", "The call is recorded"),
    "coll.adjust_title": ("催收处理：订单 {id}", "Collections: order {id}"),
    "coll.adjust_lead": (
        "减免的滞纳金不再收取（之后每天的滞纳金另计）。必须填写理由，并记录操作人。",
        "A waived fee is never charged again (later days accrue their own). A reason is required; who waived it "
        "is recorded.",
    ),
    "coll.unpaid_fee": ("未付滞纳金", "Unpaid late fee"),
    "coll.no_fees": ("此订单没有未付的滞纳金", "This order has no unpaid late fee"),
    "coll.not_payable": ("订单不在付租阶段，不能减免", "The order is not paying rent: nothing to waive"),
    "coll.seq": ("减免哪一期", "Installment"),
    "coll.seq_option": ("第 {seq} 期（未付滞纳金 {fee}）", "No. {seq} (unpaid fee {fee})"),
    "coll.waive_amount": ("减免金额（元）", "Amount to waive (CNY)"),
    "coll.waive_reason": ("减免理由", "Reason for the waiver"),
    "coll.waive_confirm": (
        "确定减免这笔滞纳金？减免后不再收取。",
        "Waive this late fee? It will not be charged again.",
    ),
    "coll.reason_required": ("减免必须填写理由", "A waiver needs a reason"),
    "coll.back": ("返回逾期与催收", "Back to overdue & collections"),
    "coll.open_order": ("订单详情", "Order page"),
    "flash.fee_waived": ("滞纳金已减免", "The late fee is waived"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    orders: str
    amount: Decimal


@dataclass(frozen=True)
class LedgerRow:
    entry: OverdueEntry
    customer: CustomerView | None


@pages.get("/collections", access=admin_reports.COLLECTORS)
def overview(page: Page) -> Response:
    """The buckets, a page of the overdue ledger and a page of the collection tasks."""
    ledger_page = _number(page.query.get("page"))
    tasks_page = _number(page.query.get("tasks"))
    entries = answers.overdue_today(page.app, page.views, limit=PER_PAGE + 1, offset=(ledger_page - 1) * PER_PAGE)
    tasks = answers.collection_tasks_today(page.app, page.views, limit=PER_PAGE + 1, offset=(tasks_page - 1) * PER_PAGE)
    people = _People(page)
    by_days, by_stage = buckets(page)
    return page.render(
        "admin/collections.html",
        by_days=by_days,
        by_stage=by_stage,
        ledger=[LedgerRow(entry, people.get(entry.customer_id)) for entry in entries[:PER_PAGE]],
        ledger_page=ledger_page,
        ledger_prev=_link(page, ledger_page - 1, tasks_page) if ledger_page > 1 else None,
        ledger_next=_link(page, ledger_page + 1, tasks_page) if len(entries) > PER_PAGE else None,
        tasks=[(task, people.get(task.customer_id)) for task in tasks[:PER_PAGE]],
        tasks_page=tasks_page,
        tasks_prev=_link(page, ledger_page, tasks_page - 1) if tasks_page > 1 else None,
        tasks_next=_link(page, ledger_page, tasks_page + 1) if len(tasks) > PER_PAGE else None,
        may_waive=page.may(admin_orders.FINANCE),
    )


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


def _link(page: Page, ledger_page: int, tasks_page: int) -> str:
    return page.url(
        "/collections", page=ledger_page if ledger_page > 1 else None, tasks=tasks_page if tasks_page > 1 else None
    )


class _People:
    """Each customer looked up once per page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: dict[UUID, CustomerView | None] = {}

    def get(self, customer_id: UUID) -> CustomerView | None:
        if customer_id not in self.found:
            self.found[customer_id] = projections.customers.customer(self.page.views, customer_id)
        return self.found[customer_id]


def buckets(page: Page) -> tuple[list[Bucket], list[Bucket]]:
    """Open overdue orders (every collection stage) by days overdue and by stage, with what they owe: the
    collection tasks' grouped counts, as the dashboard's, however many orders."""
    views, today = page.views, page.app.local_today()
    by_days = [
        Bucket(f"days-{found.low}", page.t(f"bucket.{found.low}"), _orders(page, found.orders), found.overdue_amount)
        for found in projections.collection_tasks.buckets(views, BUCKETS, today)
    ]
    by_stage = []
    for stage in STAGES:
        found = projections.collection_tasks.buckets(views, BUCKETS, today, (stage,))
        orders, amount = sum(item.orders for item in found), sum((item.overdue_amount for item in found), ZERO)
        by_stage.append(Bucket(f"stage-{stage}", page.t(f"stage.{stage}"), _orders(page, orders), amount))
    return by_days, by_stage


def _orders(page: Page, count: int) -> str:
    return page.t("coll.orders", count=number(count))


@pages.get("/collections/overdue/export", access=admin_reports.COLLECTORS)
def export_overdue(page: Page) -> Response:
    """The overdue ledger as `GET /v1/admin/overdue?format=csv|xlsx` answers it: every row the list pages through."""
    query = admin_reports.OverdueFileQuery.model_validate({"format": _format(page)})
    entries = exports.pages(
        lambda limit, offset: answers.overdue_today(page.app, page.views, limit=limit, offset=offset),
        query,
        key=lambda entry: (entry.order_id, entry.seq),
    )
    rows = (schemas.OverdueOut.model_validate(entry, from_attributes=True) for entry in entries)
    content = exports.table("overdue", schemas.OverdueOut, rows)
    return exports.download(query.format, content, f"overdue-{page.app.local_today()}")


@pages.get("/collections/tasks/export", access=admin_reports.COLLECTORS)
def export_tasks(page: Page) -> Response:
    """The collection tasks as `GET /v1/admin/collections?format=csv|xlsx` answers them."""
    query = admin_reports.CollectionsFileQuery.model_validate({"format": _format(page)})
    tasks = exports.pages(
        lambda limit, offset: answers.collection_tasks_today(page.app, page.views, limit=limit, offset=offset),
        query,
        key=lambda task: task.order_id,
    )
    rows = (schemas.CollectionTaskOut.model_validate(task, from_attributes=True) for task in tasks)
    content = exports.table("collections", schemas.CollectionTaskOut, rows)
    return exports.download(query.format, content, f"collections-{page.app.local_today()}")


def _format(page: Page) -> str:
    wanted = page.query.get("format", "csv")
    return wanted if wanted in FORMATS else "csv"


# Waiving a late fee.


@pages.get("/collections/{id}", access=admin_reports.COLLECTORS)
def adjust_page(page: Page) -> Response:
    """An order in collections: its installments and unpaid late fees, the calls made about it and the form that
    records one, and for finance the form that waives a fee."""
    return _adjust_page(page, page.path_id)


def _adjust_page(page: Page, order_id: UUID, status: int = 200, **errors: str) -> Response:
    order = answers.admin_order(page.app, page.views, order_id)
    fees = [
        (item.seq, item.late_fee - item.fee_paid) for item in order.installments if item.late_fee - item.fee_paid > 0
    ]
    wanted = page.form.get("seq") or page.query.get("seq") or (str(fees[0][0]) if fees else "")
    default = next((fee for seq, fee in fees if str(seq) == wanted), ZERO)
    return page.render(
        "admin/collections_adjust.html",
        status,
        order=order,
        fees=fees,
        payable=LeaseStatus(order.status) in RENT_PAYABLE,
        chosen=wanted,
        amount=page.form.get("amount", str(default) if default else ""),
        reason=page.form.get("reason", ""),
        errors=errors,
        short=str(order.id)[:8],
        calls=calls(page, order_id),
        messages=_messages(page, order_id),
        outcomes=[outcome.value for outcome in CallOutcome],
        may_waive=page.may(admin_orders.FINANCE),
        may_call=page.may(admin_orders.COLLECTORS),
        call_key=_form_key(page, "/call"),
        waive_key=_form_key(page, "/waive"),
    )


def _form_key(page: Page, action: str) -> str:
    """A form's one-time key: the one it sent when it comes back with a mistake, else a fresh one."""
    sent = page.form.get("key", "") if page.request.url.path.endswith(action) else ""
    return sent or str(uuid4())


def _one_time_key(text: str) -> UUID:
    """The form's key as the request's id; a form that lost it (or sent something else) acts on its own."""
    try:
        return UUID(text.strip())
    except ValueError:
        return uuid4()


@dataclass(frozen=True)
class Call:
    at: str
    outcome: str
    promised_on: str | None
    notes: str
    staff: str


def calls(page: Page, order_id: UUID) -> list[Call]:
    """The calls recorded on the order, newest first: its `CallRecorded` events, as the audit replays them."""
    found = [
        Call(
            page.time(event.timestamp),
            str(event.fields["outcome"]),
            event.fields["promised_on"].isoformat() if event.fields.get("promised_on") else None,
            str(event.fields.get("notes", "")),
            str(event.fields.get("staff", "")),
        )
        for event in replay(page.app, order_id).events
        if event.type.rpartition(".")[2] == "CallRecorded"
    ]
    return found[::-1]


def _messages(page: Page, order_id: UUID) -> list[outbox.Message]:
    """The order's text messages as `GET /v1/admin/messages?order_id` lists them (the log's reminders taken in
    first)."""
    page.service.messages.collect()
    return outbox.messages(page.service.store, order_id=order_id, limit=50)


@pages.post("/collections/{id}/remind", access=admin_orders.COLLECTORS)
def send_reminder(page: Page) -> Response:
    """A reminder of what is overdue (`POST /v1/admin/orders/{id}/reminders`); a refusal shows by the button."""
    order_id = page.path_id
    try:
        page.app.send_reminder(order_id)
    except Refused as error:
        return _adjust_page(page, order_id, 409, remind=str(error))
    page.service.written()
    page.service.messages.wake()
    return page.redirect(f"/collections/{order_id}", done="reminder_sent")


@pages.post("/collections/{id}/call", access=admin_orders.COLLECTORS)
def record_call(page: Page) -> Response:
    """What came of a call, as `POST /v1/admin/orders/{id}/calls` records it; a promise names its day."""
    order_id = page.path_id
    day = page.form.get("promised_on", "").strip()
    try:
        promised_on = date.fromisoformat(day) if day else None
    except ValueError:
        return _adjust_page(page, order_id, 422, promised_on=page.t("coll.bad_day"))
    fields = {"outcome": page.form.get("outcome", ""), "notes": page.form.get("notes", ""), "promised_on": promised_on}
    try:
        body = order_schemas.CallIn.model_validate(fields)
    except ValidationError as error:
        found = error.errors()[0]
        field = str(found["loc"][0]) if found["loc"] else "outcome"
        return _adjust_page(page, order_id, 422, **{field: str(found["msg"])})
    assert page.user is not None
    try:
        page.app.record_call(
            order_id,
            CallOutcome(body.outcome),
            body.notes,
            body.promised_on,
            page.user.username,
            request_id=_one_time_key(page.form.get("key", "")),
        )
    except InvalidInput as error:
        field = error.field if error.field in ("outcome", "notes", "promised_on") else "notes"
        return _adjust_page(page, order_id, 422, **{field: error.message})
    page.service.written()
    return page.redirect(f"/collections/{order_id}", done="call_recorded")


@pages.post("/collections/{id}/waive", access=admin_orders.FINANCE)
def waive(page: Page) -> Response:
    """Finance waives at most the unpaid late fee of one installment, with a reason (the API's command); the order
    page then shows the fee gone."""
    order_id = page.path_id
    reason = page.form.get("reason", "").strip()
    if not reason:
        return _adjust_page(page, order_id, 422, reason=page.t("coll.reason_required"))
    seq = page.form.get("seq", "").strip()
    fields = {
        "kind": "waive_late_fee",
        "seq": int(seq) if seq.isdigit() else seq,
        "amount": page.form.get("amount", "").strip(),
    }
    try:
        body = order_schemas.AdjustmentIn.model_validate({**fields, "reason": reason})
    except ValidationError as error:
        found = error.errors()[0]
        field = str(found["loc"][0]) if found["loc"] else "amount"
        return _adjust_page(page, order_id, 422, **{field: str(found["msg"])})
    assert page.user is not None and body.seq is not None
    try:
        page.app.waive_late_fee(
            order_id,
            body.seq,
            body.amount,
            body.reason.strip(),
            page.user.username,
            request_id=_one_time_key(page.form.get("key", "")),
        )
    except InvalidInput as error:
        field = error.field if error.field in ("seq", "amount", "reason") else "amount"
        return _adjust_page(page, order_id, 422, **{field: error.message})
    page.service.written()
    return page.redirect(f"/orders/{order_id}", done="fee_waived")


screen = Screen("collections", "nav.collections", "/collections", admin_reports.COLLECTORS, pages)

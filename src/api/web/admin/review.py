"""The review workbench (风控审核, role risk): the queue `GET /v1/admin/reviews` answers, oldest first, each order
with why automated review did not pass it, the customer's score, level and identity, what they have rented before
and how it went; approve or reject (with a reason) with `POST /v1/admin/orders/{id}/approve|reject`, from the
keyboard too (j / k, a, r), and approve several at once after a page that confirms which."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from pydantic import ValidationError
from starlette.responses import Response

import projections.catalog
import projections.customers
import projections.installments
import projections.orders
import projections.review_queue
from api.http.endpoints import admin_orders
from api.http.errors import problem_for
from api.http.schemas import admin_orders as schemas
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from leasecore.errors import InvalidInput, LeaseError
from leasecore.lease import LeaseStatus
from leasecore.values import total
from projections.customers import CustomerView
from projections.orders import OrderView
from projections.review_queue import ReviewItem

pages = Pages()
PER_PAGE = 20
HISTORY = 10
"""The newest earlier orders a queue item shows (the customer's page has them all)."""
MOST_CHOSEN = 100

WORDS: dict[str, tuple[str, str]] = {
    "review.waiting": ("待审核 {count} 笔", "{count} waiting"),
    "review.sorted": ("按进入审核的时间从早到晚排列", "Oldest first"),
    "review.keys": (
        "快捷键：j / k 切换订单，a 审核通过，r 填写拒绝理由（在输入框中时不生效）",
        "Keys: j / k move between orders, a approves, r goes to the rejection reason (not while typing)",
    ),
    "review.empty": ("审核队列已清空", "Nothing waits for review"),
    "review.reasons": ("转人工原因", "Why it needs a reviewer"),
    "review.no_reasons": ("未给出原因", "No reason given"),
    "review.score": ("信用分", "Score"),
    "review.level": ("信用等级", "Level"),
    "review.identity": ("实名认证", "Identity"),
    "review.amounts": ("金额", "Amounts"),
    "review.deposit": ("押金", "Deposit"),
    "review.waiver": ("申请免押", "Waiver asked"),
    "review.due_now": ("首期应付", "Due now"),
    "review.queued": ("进入审核", "Queued"),
    "review.history": ("历史订单", "Earlier orders"),
    "review.no_history": ("首次下单，没有历史订单", "First order: no earlier orders"),
    "review.history_summary": (
        "共 {orders} 笔；当前逾期 {now} 笔；曾产生滞纳金 {before} 笔",
        "{orders} in all; {now} overdue now; {before} charged late fees before",
    ),
    "review.more_history": ("另有 {count} 笔更早的订单", "{count} older orders not shown"),
    "review.late_fees": ("滞纳金 {amount}", "late fees {amount}"),
    "review.overdue_days": ("逾期 {days} 天", "{days} days overdue"),
    "review.approve_reason": ("通过说明（可选）", "Note (optional)"),
    "review.reject_reason": ("拒绝理由（必填）", "Reason for rejecting (required)"),
    "review.choose": ("选择订单 {id}", "Choose order {id}"),
    "review.bulk": ("批量通过所选订单", "Approve the chosen orders"),
    "review.bulk_hint": ("勾选订单后点击，先确认再执行", "Tick orders, then confirm on the next page"),
    "review.none_chosen": ("请先勾选要通过的订单", "Choose at least one order first"),
    "review.confirm_title": ("确认批量通过", "Confirm approving"),
    "review.confirm_lead": ("将审核通过以下 {count} 笔订单：", "These {count} orders will be approved:"),
    "review.confirm_submit": ("确认通过 {count} 笔订单", "Approve {count} orders"),
    "review.confirm_cancel": ("返回审核队列", "Back to the queue"),
    "review.not_waiting": ("已不在待审核状态（现为{status}），将跳过", "No longer awaiting review ({status}); skipped"),
    "review.bulk_done": ("已审核通过 {count} 笔订单", "{count} orders approved"),
    "review.bulk_skipped": (
        "未通过 {count} 笔（审核期间状态已变化）：",
        "{count} not approved (they changed meanwhile):",
    ),
    "review.skipped_one": ("订单 {id}：现为{status}", "Order {id}: now {status}"),
    "flash.review_approved": ("已审核通过，订单进入签约", "Approved; the order goes on to the contract"),
    "flash.review_rejected": ("已拒绝，首期款将退还，免押额度已释放", "Rejected: the checkout is refunded"),
    "identity.unverified": ("未认证", "Not verified"),
    "identity.verified": ("已认证", "Verified"),
    "identity.rejected": ("认证未通过", "Rejected"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Earlier:
    """One of the customer's other orders and how it went."""

    id: UUID
    status: str
    placed: str
    days_overdue: int
    late_fees: Decimal


@dataclass(frozen=True)
class History:
    orders: int
    overdue_now: int
    overdue_before: int
    shown: list[Earlier]


@dataclass(frozen=True)
class Card:
    """An order in the queue as the reviewer weighs it."""

    item: ReviewItem
    order: OrderView | None
    customer: CustomerView | None
    product: str
    queued: str
    history: History


@pages.get("/review", access=admin_orders.REVIEWERS)
def queue(page: Page) -> Response:
    """The queue a page at a time, oldest first, and what the last bulk approval did."""
    return _queue(page)


def _queue(page: Page, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    number = _page_number(page.query.get("page"))
    items = projections.review_queue.review_queue(page.views, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    waiting = projections.orders.orders(page.views, status=LeaseStatus.PENDING_REVIEW, limit=1).total
    return page.render(
        "admin/review.html",
        status,
        cards=[_card(page, item) for item in items[:PER_PAGE]],
        waiting=waiting,
        number=number,
        prev=page.url("/review", page=number - 1) if number > 1 else None,
        next=page.url("/review", page=number + 1) if len(items) > PER_PAGE else None,
        errors=errors or {},
        reason=page.form.get("reason", ""),
        approved=len(_ids(page.request.query_params.get("approved", ""))),
        skipped=_skipped(page),
        none_chosen=page.query.get("none") == "1",
    )


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 10_000 else 1


def _kept_page(page: Page) -> int | None:
    """The queue's page the reviewer decided on, to go back to."""
    number = _page_number(page.query.get("page"))
    return number if number > 1 else None


def _card(page: Page, item: ReviewItem) -> Card:
    order = projections.orders.order(page.views, item.order_id)
    product = projections.catalog.product(page.views, order.product_id) if order else None
    return Card(
        item=item,
        order=order,
        customer=projections.customers.customer(page.views, item.customer_id),
        product=product.details.name if product else str(item.sku_id)[:8],
        queued=page.time(item.queued_at),
        history=_history(page, item.customer_id, item.order_id),
    )


def _history(page: Page, customer_id: UUID, order_id: UUID) -> History:
    """The customer's other orders, newest first: overdue now (days overdue today) or before (late fees charged,
    from the installments `GET /v1/admin/customers/{id}` answers with)."""
    found = projections.orders.orders(page.views, customer_id=customer_id, limit=HISTORY + 1)
    others = [view for view in found.items if view.id != order_id][:HISTORY]
    shown, today = [], page.app.local_today()
    schedules = projections.installments.installments_of(page.views, [view.id for view in others])
    for view in others:
        fees = total(item.late_fee for item in schedules[view.id])
        shown.append(Earlier(view.id, view.status, page.time(view.created_at), view.days_overdue_on(today), fees))
    return History(
        orders=max(found.total - 1, 0),
        overdue_now=sum(1 for item in shown if item.days_overdue > 0),
        overdue_before=sum(1 for item in shown if item.late_fees > 0),
        shown=shown,
    )


@pages.post("/review/{id}/approve", access=admin_orders.REVIEWERS)
def approve(page: Page) -> Response:
    """The reviewer passes the order (`POST /v1/admin/orders/{id}/approve`); back to the queue."""
    order_id = page.path_id
    try:
        decision = schemas.Decision.model_validate({"reason": page.form.get("reason", "").strip()})
    except ValidationError as error:
        return _queue(page, 422, {f"approve-{order_id}": str(error.errors()[0]["msg"])})
    assert page.user is not None
    page.app.approve(order_id, page.user.username, decision.reason)
    page.service.written()
    return page.redirect("/review", done="review_approved", page=_kept_page(page))


@pages.post("/review/{id}/reject", access=admin_orders.REVIEWERS)
def reject(page: Page) -> Response:
    """A rejection needs a reason (`POST /v1/admin/orders/{id}/reject`); the message shows by the field."""
    order_id = page.path_id
    key = f"reject-{order_id}"
    reason = page.form.get("reason", "").strip()
    if not reason:
        return _queue(page, 422, {key: page.t("action.reason_required")})
    try:
        decision = schemas.Rejection.model_validate({"reason": reason})
    except ValidationError as error:
        return _queue(page, 422, {key: str(error.errors()[0]["msg"])})
    assert page.user is not None
    try:
        page.app.reject(order_id, page.user.username, decision.reason)
    except InvalidInput as error:
        return _queue(page, 422, {key: error.message})
    page.service.written()
    return page.redirect("/review", done="review_rejected", page=_kept_page(page))


@pages.get("/review/confirm", access=admin_orders.REVIEWERS)
def confirm(page: Page) -> Response:
    """The orders ticked, listed before anything is done (a GET: nothing changes until it is confirmed)."""
    chosen = _ids(",".join(page.request.query_params.getlist("order")))[:MOST_CHOSEN]
    if not chosen:
        return page.redirect("/review", none="1")
    rows = []
    for order_id in chosen:
        view = projections.orders.order(page.views, order_id)
        if view is not None:
            person = projections.customers.customer(page.views, view.customer_id)
            rows.append((view, person))
    waiting = [view for view, _ in rows if view.status == LeaseStatus.PENDING_REVIEW.value]
    return page.render("admin/review_confirm.html", rows=rows, waiting=len(waiting))


@pages.post("/review/bulk", access=admin_orders.REVIEWERS)
def approve_chosen(page: Page) -> Response:
    """Approves each confirmed order in turn; one that changed meanwhile is skipped and reported, not an error."""
    chosen = _ids(",".join(value for name, value in page.form.items() if name.startswith("order-")))[:MOST_CHOSEN]
    try:
        decision = schemas.Decision.model_validate({"reason": page.form.get("reason", "").strip()})
    except ValidationError:
        decision = schemas.Decision()
    assert page.user is not None
    approved, skipped = [], []
    for order_id in chosen:
        try:
            page.app.approve(order_id, page.user.username, decision.reason)
        except LeaseError as error:
            if problem_for(error) is None:
                raise
            skipped.append(order_id)
        else:
            approved.append(order_id)
    if approved:
        page.service.written()
    return page.redirect(
        "/review",
        approved=",".join(str(order_id) for order_id in approved) or None,
        skipped=",".join(str(order_id) for order_id in skipped) or None,
    )


def _ids(text: str) -> list[UUID]:
    found: list[UUID] = []
    for part in text.split(","):
        try:
            order_id = UUID(part.strip())
        except ValueError:
            continue
        if order_id not in found:
            found.append(order_id)
    return found


def _skipped(page: Page) -> list[tuple[UUID, str]]:
    """The orders a bulk approval skipped, with the status each is in now."""
    found = []
    for order_id in _ids(page.request.query_params.get("skipped", ""))[:MOST_CHOSEN]:
        view = projections.orders.order(page.views, order_id)
        found.append((order_id, page.t(f"status.{view.status}") if view else "—"))
    return found


screen = Screen("review", "nav.review", "/review", admin_orders.REVIEWERS, pages)

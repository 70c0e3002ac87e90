"""Customer service (客服会话): the support queue by state, those waiting for staff first and the longest waiting
first (`GET /v1/admin/conversations`), and a conversation as a chat with the reply form
(`POST /v1/admin/conversations/{id}/messages`) and the close button (`POST /v1/admin/conversations/{id}/close`).

The customer's new messages appear without reloading: the page asks every 3 seconds (htmx) for the messages after the
last one it shows, and adds them. Without JavaScript, reloading the page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from starlette.responses import Response

import projections.conversations
import projections.customers
from api.http.endpoints.admin_conversations import SUPPORT
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from leasecore.errors import InvalidInput, NotFound
from leasecore.support import TEXT_LENGTH, ConversationState
from projections.conversations import ConversationView
from projections.customers import CustomerView

pages = Pages()
PER_PAGE = 20
TABS = (ConversationState.OPEN, ConversationState.ANSWERED, ConversationState.CLOSED)
"""Waiting for staff first, then waiting for the customer, then closed."""

WORDS: dict[str, tuple[str, str]] = {
    "nav.support": ("客服会话", "Conversations"),
    "support.tabs": ("会话状态", "Conversation states"),
    "support.tab.open": ("待回复", "Waiting for us"),
    "support.tab.answered": ("已回复", "Answered"),
    "support.tab.closed": ("已关闭", "Closed"),
    "support.state.open": ("待回复", "Waiting for us"),
    "support.state.answered": ("已回复，等待客户", "Answered, waiting for the customer"),
    "support.state.closed": ("已关闭", "Closed"),
    "support.hint.open": (
        "客户在等待回复，等待最久的排在最前。",
        "Customers waiting for an answer, longest waiting first.",
    ),
    "support.hint.answered": (
        "已回复、等待客户的会话，最近有动态的排在最前。",
        "Answered, waiting for the customer; latest first.",
    ),
    "support.hint.closed": ("已关闭的会话，最近有动态的排在最前。", "Closed conversations, latest first."),
    "support.empty.open": ("没有等待回复的会话", "No conversation is waiting for an answer"),
    "support.empty.answered": ("没有等待客户的会话", "No conversation is waiting for the customer"),
    "support.empty.closed": ("没有已关闭的会话", "No closed conversation"),
    "support.col.subject": ("主题", "Subject"),
    "support.col.order": ("关联订单", "Order"),
    "support.col.waiting": ("等待时长", "Waiting"),
    "support.col.last": ("最新消息", "Latest message"),
    "support.col.unanswered": ("未回复", "Unanswered"),
    "support.by.customer": ("客户", "Customer"),
    "support.by.staff": ("客服", "Staff"),
    "support.no_order": ("一般咨询", "General"),
    "support.since": ("自 {at}", "since {at}"),
    "support.minutes": ("{count} 分钟", "{count} min"),
    "support.hours": ("{hours} 小时 {minutes} 分钟", "{hours} h {minutes} min"),
    "support.days": ("{days} 天 {hours} 小时", "{days} d {hours} h"),
    "support.pages": ("会话分页", "Pages of conversations"),
    "support.title": ("会话：{subject}", "Conversation: {subject}"),
    "support.back": ("返回客服会话", "Back to the conversations"),
    "support.customer": ("客户", "Customer"),
    "support.about": ("会话信息", "About"),
    "support.opened": ("开始于", "Opened"),
    "support.messages": ("消息", "Messages"),
    "support.from_customer": ("客户", "Customer"),
    "support.from_staff": ("客服 {staff}", "Staff {staff}"),
    "support.live": ("客户的新消息会自动显示。", "The customer's new messages appear by themselves."),
    "support.reload": ("刷新", "Reload"),
    "support.reply": ("回复客户", "Reply to the customer"),
    "support.reply_label": ("回复内容（最多 2000 字）", "Your reply (at most 2,000 characters)"),
    "support.send": ("发送回复", "Send the reply"),
    "support.close": ("关闭会话", "Close the conversation"),
    "support.close_hint": (
        "关闭后客户不能再在此会话中发消息（可以新开会话）。",
        "Once closed, the customer can write no more here (they may open a new conversation).",
    ),
    "support.close_confirm": (
        "确定关闭此会话？关闭后不能再回复。",
        "Close this conversation? It takes no more replies.",
    ),
    "support.closed_by": ("已由 {staff} 于 {at} 关闭。", "Closed by {staff} at {at}."),
    "support.error.blank": ("请先填写回复内容", "Write the reply first"),
    "support.error.long": (
        "回复最多 2000 字（现有 {count} 字）",
        "A reply is at most 2,000 characters ({count} given)",
    ),
    "support.error.control": (
        "回复不能包含控制字符或双向文本控制符",
        "A reply must not hold control characters or bidirectional overrides",
    ),
    "flash.support_answered": ("回复已发送", "The reply is sent"),
    "flash.support_closed": ("会话已关闭", "The conversation is closed"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    href: str
    current: bool
    count: int


@dataclass(frozen=True)
class QueueRow:
    """A conversation as its queue row shows it, with who it is from and how long they have waited."""

    conversation: ConversationView
    customer: CustomerView | None
    waited: str | None


@pages.get("/support", access=SUPPORT)
def queue(page: Page) -> Response:
    """The conversations of a tab (waiting for us by default), 20 a page, with who wrote and about which order."""
    state = page.query.get("state", "")
    if state not in {tab.value for tab in TABS}:
        state = ConversationState.OPEN.value
    number = _number(page.query.get("page"))
    found = projections.conversations.queue(page.views, state, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    people = projections.customers.customers_by_id(page.views, (item.customer_id for item in found.items))
    now = page.app.clock.now()
    rows = [
        QueueRow(item, people.get(item.customer_id), _waited(page, now, item.waiting_since)) for item in found.items
    ]
    return page.render(
        "admin/support.html",
        state=state,
        tabs=_tabs(page, state),
        rows=rows,
        number=number,
        pages=max(1, -(-found.total // PER_PAGE)),
    )


def _tabs(page: Page, state: str) -> list[Tab]:
    counts = projections.conversations.counts(page.views)
    return [
        Tab(
            tab.value,
            page.t(f"support.tab.{tab.value}"),
            page.url("/support", state=tab.value),
            tab.value == state,
            counts[tab.value],
        )
        for tab in TABS
    ]


def _waited(page: Page, now: datetime, since: datetime | None) -> str | None:
    """How long the customer has waited, in words: minutes, hours and minutes, or days and hours."""
    if since is None:
        return None
    minutes = max(0, int((now - since) / timedelta(minutes=1)))
    if minutes < 60:
        return page.t("support.minutes", count=minutes)
    if minutes < 24 * 60:
        return page.t("support.hours", hours=minutes // 60, minutes=minutes % 60)
    return page.t("support.days", days=minutes // (24 * 60), hours=minutes % (24 * 60) // 60)


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


@pages.get("/support/{id}", access=SUPPORT)
def conversation_page(page: Page) -> Response:
    """The conversation as a chat, oldest message first, the reply form and the close button while it is open."""
    return _conversation_page(page, page.path_id)


def _conversation_page(page: Page, conversation_id: UUID, status: int = 200, error: str | None = None) -> Response:
    found = _conversation(page, conversation_id)
    return page.render(
        "admin/support_conversation.html",
        status,
        conversation=found,
        customer=projections.customers.customer(page.views, found.customer_id),
        customer_link=page.link("customers", f"/customers/{found.customer_id}"),
        order_link=page.link("orders", f"/orders/{found.order_id}") if found.order_id else None,
        messages=found.messages,
        last=found.messages[-1].seq if found.messages else 0,
        text=page.form.get("text", "") if error else "",
        key=page.form.get("key", "") if error else str(uuid4()),
        error=error,
        longest=TEXT_LENGTH,
        oob=False,
    )


def _conversation(page: Page, conversation_id: UUID, after: int = 0) -> ConversationView:
    found = projections.conversations.conversation(page.views, conversation_id, after=after)
    if found is None:
        raise NotFound("conversation", conversation_id)
    return found


@pages.get("/support/{id}/messages", access=SUPPORT)
def new_messages(page: Page) -> Response:
    """What the open conversation page asks for every few seconds: the messages after `after` (to add to the chat)
    with the poll that follows them and the state now; nothing (204) when nothing is new. Once the conversation is
    closed the whole page is loaded again, without the reply form."""
    wanted = page.query.get("after", "")
    after = int(wanted) if wanted.isdigit() and len(wanted) < 10 else 0
    found = _conversation(page, page.path_id, after)
    if found.state == ConversationState.CLOSED.value:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    if not found.messages and page.query.get("state") == found.state:
        return Response(status_code=204)
    last = found.messages[-1].seq if found.messages else after
    return page.render("admin/_support_messages.html", conversation=found, messages=found.messages, last=last, oob=True)


@pages.post("/support/{id}/reply", access=SUPPORT)
def reply(page: Page) -> Response:
    """The reply as `POST /v1/admin/conversations/{id}/messages` writes it, by this member of staff, under the form's
    one-time key (a second click adds nothing); a reply that breaks a rule is shown again with the rule next to it."""
    conversation_id = page.path_id
    assert page.user is not None
    key = _one_time_key(page.form.get("key", ""))
    try:
        page.app.answer_conversation(conversation_id, page.user.username, page.form.get("text", ""), request_id=key)
    except InvalidInput:
        return _conversation_page(page, conversation_id, 422, _refusal(page, page.form.get("text", "")))
    page.service.written()
    return page.redirect(f"/support/{conversation_id}", done="support_answered")


def _one_time_key(text: str) -> UUID:
    """The reply form's key; a form that lost it (or sent something else) writes a reply of its own."""
    try:
        return UUID(text.strip())
    except ValueError:
        return uuid4()


def _refusal(page: Page, text: str) -> str:
    """Which of the message's rules (`leasecore.support.text_of`) the reply broke, in the page's language."""
    written = text.strip()
    if not written:
        return page.t("support.error.blank")
    if len(written) > TEXT_LENGTH:
        return page.t("support.error.long", count=len(written))
    return page.t("support.error.control")


@pages.post("/support/{id}/close", access=SUPPORT)
def close(page: Page) -> Response:
    """Close the conversation (`POST /v1/admin/conversations/{id}/close`), then back to the queue."""
    assert page.user is not None
    page.app.close_conversation(page.path_id, page.user.username)
    page.service.written()
    return page.redirect("/support", done="support_closed")


screen = Screen("support", "nav.support", "/support", SUPPORT, pages)

"""Customer service (在线客服) on the phone: my conversations, the latest activity first; opening one about an order
of mine or in general; a conversation as a chat whose staff answers arrive without reloading (the message list polls
its own fragment), and a reply. The commands and the ownership rule are the API's (`/v1/conversations`): another
customer's conversation is not found. Staff are only ever 客服 here, never a username."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID, uuid4

from starlette.responses import Response

import projections.catalog
import projections.conversations
import projections.orders
from api.http.endpoints.conversations import own
from api.http.schemas.conversations import OpenConversation, WriteMessage
from api.web import i18n
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from leasecore.errors import InvalidState
from leasecore.support import SUBJECT_LENGTH, TEXT_LENGTH
from projections.conversations import ConversationView
from projections.orders import OrderView

pages = Pages()

PER_PAGE = 10
"""Conversations on one page of the list."""
ORDERS_TO_PICK = 50
"""The newest orders the new-conversation form offers (one asked about by `?order=` is offered as well)."""
POLL_EVERY = 3000
"""How often, in milliseconds, an open conversation asks for new messages."""

WORDS = {
    "m.help.title": ("在线客服", "Customer service"),
    "m.help.lead": (
        "订单、账单、押金的问题都可以在这里问，客服工作时间通常几分钟内回复。",
        "Ask about an order, a bill or a deposit here; in working hours staff usually answer within minutes.",
    ),
    "m.help.new": ("新建咨询", "New question"),
    "m.help.empty": ("还没有咨询记录", "No conversations yet"),
    "m.help.state.open": ("待回复", "Awaiting reply"),
    "m.help.state.answered": ("已回复", "Answered"),
    "m.help.state.closed": ("已关闭", "Closed"),
    "m.help.new_replies": ("{count} 条新回复", "{count} new"),
    "m.help.staff_said": ("客服：{text}", "Customer service: {text}"),
    "m.help.about_order": ("订单 {order}", "Order {order}"),
    "m.help.general": ("一般咨询", "General question"),
    "m.help.newer": ("上一页", "Newer"),
    "m.help.older": ("下一页", "Older"),
    "m.help.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "m.help.pages": ("咨询分页", "Pages of conversations"),
    "m.help.new.title": ("新建咨询", "New question"),
    "m.help.subject": ("主题", "Subject"),
    "m.help.subject_hint": (
        "一句话说明问题，最多 {longest} 字",
        "The question in a line, at most {longest} characters",
    ),
    "m.help.order": ("相关订单（选填）", "About an order (optional)"),
    "m.help.no_order": ("不关联订单", "No order"),
    "m.help.order_option": ("{product} · {order} · {day}", "{product} · {order} · {day}"),
    "m.help.first_text": ("问题描述", "Your question"),
    "m.help.send_new": ("提交咨询", "Send"),
    "m.help.invalid.subject.blank": ("请填写主题", "Write a subject"),
    "m.help.invalid.subject": (
        "主题只能一行，最多 {longest} 字",
        "A subject is one line of at most {longest} characters",
    ),
    "m.help.invalid.text.blank": ("请填写消息内容", "Write a message"),
    "m.help.invalid.text": (
        "消息最多 {longest} 字，不能含控制字符",
        "A message is at most {longest} characters, without control characters",
    ),
    "m.help.invalid.order_id": ("请选择您的订单", "Choose one of your orders"),
    "m.help.conversation": ("咨询详情", "Conversation"),
    "m.help.messages": ("消息记录", "Messages"),
    "m.help.staff": ("客服", "Customer service"),
    "m.help.me": ("我", "Me"),
    "m.help.closed_note": ("客服已关闭会话 · {time}", "Closed by customer service · {time}"),
    "m.help.live": ("客服的回复会自动显示", "Answers appear here by themselves"),
    "m.help.reply": ("回复", "Reply"),
    "m.help.reply_label": ("消息内容", "Message"),
    "m.help.send": ("发送", "Send"),
    "m.help.closed": ("会话已关闭", "This conversation is closed"),
    "m.help.closed_detail": (
        "会话已关闭，无法继续发送消息。还有问题可以新建咨询。",
        "The conversation is closed and takes no more messages; open a new one if you need more help.",
    ),
    "m.help.ask_again": ("新建咨询", "Ask a new question"),
    "m.flash.help_opened": ("已提交，客服会尽快回复您", "Sent: customer service will answer soon"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class OrderLink:
    """An order as a conversation names it: the product rented and the order number's start."""

    order_id: UUID
    label: str


@pages.get("/help")
def my_conversations(page: MobilePage) -> Response:
    """My conversations, the latest activity first, a page at a time, each with the order it is about."""
    number = _page_number(page.query.get("page"))
    found = projections.conversations.customer_conversations(
        page.views, page.me, limit=PER_PAGE, offset=(number - 1) * PER_PAGE
    )
    orders = _orders_named(page, {item.order_id for item in found.items if item.order_id is not None})
    pages_in_all = max(1, -(-found.total // PER_PAGE))
    return page.render(
        "mobile/help.html", conversations=found.items, orders=orders, number=number, pages_in_all=pages_in_all
    )


@pages.get("/help/new")
def new_conversation(page: MobilePage) -> Response:
    """The form, about the order `?order=` names when it is one of mine; its one-time key makes a double tap open
    one conversation."""
    return _new_page(page, key=str(uuid4()), fields={"order_id": page.query.get("order", "")})


@pages.post("/help/new")
def open_conversation(page: MobilePage) -> Response:
    """As `POST /v1/conversations`, under the form's key: a second tap leads to the same conversation."""
    fields = {name: page.form.get(name, "") for name in ("subject", "order_id", "text")}
    key = _key(page.form.get("key", ""))
    order_id = _uuid(fields["order_id"])
    unknown_order = {"order_id": ""} if fields["order_id"].strip() and order_id is None else {}
    try:
        body = page.parse(OpenConversation, {**fields, "order_id": order_id})
        if unknown_order:
            raise FormInvalid(unknown_order)
    except FormInvalid as invalid:
        errors = {name: _field_words(page, name, fields[name]) for name in {**invalid.errors, **unknown_order}}
        return _new_page(page, 422, key=str(key), fields=fields, errors=errors)
    opened = page.app.open_conversation(page.me, body.subject, body.text, body.order_id, conversation_id=key)
    page.service.written()
    return page.redirect(f"/help/{opened}", done="help_opened")


@pages.get("/help/{id}")
def conversation_page(page: MobilePage) -> Response:
    """The conversation as a chat, my messages on the right; a reply form while it is not closed."""
    return _conversation_page(page, own(page.views, page.path_id(), page.me))


@pages.get("/help/{id}/messages")
def message_list(page: MobilePage) -> Response:
    """The message list alone: what the conversation page polls to show new answers without reloading."""
    found = own(page.views, page.path_id(), page.me)
    return page.render("mobile/_messages.html", conversation=found, poll_every=POLL_EVERY)


@pages.post("/help/{id}")
def write(page: MobilePage) -> Response:
    """As `POST /v1/conversations/{id}/messages`, under the form's one-time key: a second tap adds nothing. A closed
    conversation says so in words, and keeps what was typed."""
    conversation_id = page.path_id()
    own(page.views, conversation_id, page.me)
    text, key = page.form.get("text", ""), _key(page.form.get("key", ""))
    try:
        body = page.parse(WriteMessage, {"text": text})
        page.app.write_to_conversation(conversation_id, page.me, body.text, request_id=key)
    except FormInvalid:
        found = own(page.views, conversation_id, page.me)
        words = {"text": _field_words(page, "text", text)}
        return _conversation_page(page, found, 422, text=text, errors=words, key=str(key))
    except InvalidState:
        found = own(page.views, conversation_id, page.me)
        return _conversation_page(page, found, 409, text=text, notice=page.t("m.help.closed_detail"), key=str(key))
    page.service.written()
    return page.redirect(f"/help/{conversation_id}#reply")


def _conversation_page(page: MobilePage, found: ConversationView, status: int = 200, /, **context: object) -> Response:
    orders = _orders_named(page, {found.order_id} if found.order_id else set())
    return page.render(
        "mobile/help_conversation.html",
        status,
        conversation=found,
        order=orders.get(found.order_id) if found.order_id else None,
        poll_every=POLL_EVERY,
        longest=TEXT_LENGTH,
        **{"text": "", "notice": None, "key": str(uuid4()), **context},
    )


def _new_page(
    page: MobilePage,
    status: int = 200,
    /,
    *,
    key: str,
    fields: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> Response:
    return page.render(
        "mobile/help_new.html",
        status,
        key=key,
        fields=fields,
        orders=_orders_to_pick(page, fields.get("order_id", "")),
        subject_longest=SUBJECT_LENGTH,
        text_longest=TEXT_LENGTH,
        errors=errors or {},
    )


def _orders_to_pick(page: MobilePage, wanted: str) -> list[OrderLink]:
    """My newest orders, with the one asked about first when it is mine and older than those."""
    mine = projections.orders.orders(page.views, customer_id=page.me, limit=ORDERS_TO_PICK).items
    chosen = _uuid(wanted)
    if chosen is not None and all(view.id != chosen for view in mine):
        found = projections.orders.order(page.views, chosen)
        mine = [found, *mine] if found is not None and found.customer_id == page.me else mine
    names = projections.catalog.product_names(page.views)
    return [_order_link(page, view, names, with_day=True) for view in mine]


def _orders_named(page: MobilePage, order_ids: set[UUID]) -> dict[UUID, OrderLink]:
    """The orders conversations are about, named; one not (or no longer) mine is left out."""
    if not order_ids:
        return {}
    names = projections.catalog.product_names(page.views)
    found = {}
    for order_id in order_ids:
        view = projections.orders.order(page.views, order_id)
        if view is not None and view.customer_id == page.me:
            found[order_id] = _order_link(page, view, names)
    return found


def _order_link(page: MobilePage, view: OrderView, names: Mapping[UUID, str], *, with_day: bool = False) -> OrderLink:
    product, number = names.get(view.product_id, ""), str(view.id)[:8]
    if with_day:
        day = view.created_at.astimezone(page.zone()).date().isoformat()
        return OrderLink(view.id, page.t("m.help.order_option", product=product, order=number, day=day))
    return OrderLink(view.id, f"{product} · {page.t('m.help.about_order', order=number)}" if product else number)


def _field_words(page: MobilePage, name: str, value: str) -> str:
    """A field's mistake in the page's words: blank, or past its rule (length, one line, no control characters)."""
    longest = SUBJECT_LENGTH if name == "subject" else TEXT_LENGTH
    if name in ("subject", "text") and not value.strip():
        return page.t(f"m.help.invalid.{name}.blank")
    key = f"m.help.invalid.{name}"
    return page.t(key, longest=longest) if i18n.known(key) else page.t("m.error.invalid")


def _key(text: str) -> UUID:
    """The form's one-time key; a form that lost it opens a conversation (or writes a message) of its own."""
    return _uuid(text) or uuid4()


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) < 100_000 else 1

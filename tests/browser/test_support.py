"""Customer service (客服会话) in Chromium. An operator opens the support queue (the longest waiting first, who wrote
and about which order), opens a customer's conversation, replies (the customer reads the reply over the API), sees
the customer's next message appear without reloading the page, and closes the conversation (the customer can write
no more). Without JavaScript the page works and a reload shows what is new; a risk reviewer has no such screen; no
page has a serious accessibility problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.support import Console, customer, log_in, new_context, order, screenshot, serious_violations
from tests.e2e.support import Customer
from tests.support import START

pytestmark = pytest.mark.slow

MARKUP = '<img src="x" onerror="alert(1)">'
REPLY = "您好，屏幕划痕属于到货问题，我们为您免费换新，明天顺丰上门取件。"
NEXT = "好的，明天几点取件？"


@dataclass
class World:
    """Li's general question, then Han's about an order (waiting less long)."""

    han: Customer
    han_order: str
    han_conversation: str
    li: Customer
    li_conversation: str


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    api = console.api
    li = customer(api, "李雷")
    li_conversation = api.post(
        "/v1/conversations", 201, who=li, json={"subject": "押金什么时候退？", "text": "我已寄回手机，押金多久到账？"}
    )["conversation_id"]
    api.move_clock(START + timedelta(minutes=25))
    han = customer(api, "韩梅梅")
    han_order = order(api, han, console.skus["phone-x/256-black"])
    opened = api.post(
        "/v1/conversations",
        201,
        who=han,
        json={"subject": "收到的手机屏幕有划痕", "order_id": han_order, "text": "今天收到手机，\n屏幕上有一道划痕。"},
    )
    return World(han, han_order, opened["conversation_id"], li, li_conversation)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, bypass_csp=True)
    opened = context.new_page()
    opened.on("dialog", _accept)
    yield opened
    context.close()


def _accept(dialog: Dialog) -> None:
    if dialog.type == "alert":
        raise AssertionError(f"a page ran script: alert({dialog.message})")
    dialog.accept()


def texts(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#messages .message-text").all_inner_texts()]


def test_an_operator_answers_sees_the_next_message_arrive_without_reloading_and_closes(
    console: Console, world: World, page: Page, tmp_path: Path
) -> None:
    api = console.api
    log_in(page, console, "operator")
    page.locator('[data-nav="support"]').click()
    page.wait_for_url(f"{console.admin}/support")
    rows = page.locator("[data-conversation]")
    assert [row.get_attribute("data-conversation") for row in rows.all()] == [
        world.li_conversation,
        world.han_conversation,
    ]
    han_row = page.locator(f'[data-conversation="{world.han_conversation}"]')
    expect(han_row).to_contain_text("韩梅梅")
    expect(han_row).to_contain_text(world.han.phone)
    expect(han_row.get_by_role("link", name=world.han_order[:8])).to_have_attribute(
        "href", f"/admin/orders/{world.han_order}"
    )
    expect(page.locator(f'[data-conversation="{world.li_conversation}"] [data-col="waited"]')).to_have_text("25 分钟")
    expect(page.locator('[data-tab="open"] .count')).to_have_text("2")
    assert serious_violations(page) == []

    han_row.get_by_role("link", name="收到的手机屏幕有划痕").click()
    page.wait_for_url(f"{console.admin}/support/{world.han_conversation}")
    assert texts(page) == ["今天收到手机，\n屏幕上有一道划痕。"]
    expect(page.get_by_test_id("customer")).to_contain_text("韩梅梅")
    page.get_by_label("回复内容").fill(REPLY)
    page.get_by_role("button", name="发送回复").click()
    expect(page.locator(".flash")).to_have_text("回复已发送")
    assert texts(page) == ["今天收到手机，\n屏幕上有一道划痕。", REPLY]
    expect(page.locator("#conversation-state")).to_have_text("已回复，等待客户")
    seen = api.get(f"/v1/conversations/{world.han_conversation}", who=world.han, params={"after": 1})
    assert [(m["author"], m["text"]) for m in seen["messages"]] == [("staff", REPLY)]

    page.evaluate("window.stillTheSamePage = true")
    api.post(f"/v1/conversations/{world.han_conversation}/messages", 201, who=world.han, json={"text": NEXT})
    expect(page.locator("#messages .message")).to_have_count(3, timeout=10_000)
    assert texts(page)[-1] == NEXT
    expect(page.locator("#conversation-state")).to_have_text("待回复")
    assert serious_violations(page) == []
    screenshot(page, "support", tmp_path)
    api.post(f"/v1/conversations/{world.han_conversation}/messages", 201, who=world.han, json={"text": MARKUP})
    expect(page.locator("#messages .message")).to_have_count(4, timeout=10_000)
    assert texts(page)[-2:] == [NEXT, MARKUP] and page.locator("#messages img").count() == 0
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="关闭会话").click()
    page.wait_for_url(f"{console.admin}/support?done=support_closed")
    expect(page.locator(".flash")).to_have_text("会话已关闭")
    assert [row.get_attribute("data-conversation") for row in rows.all()] == [world.li_conversation]
    refused = api.post(f"/v1/conversations/{world.han_conversation}/messages", 409, who=world.han, json={"text": "?"})
    assert refused["state"] == "closed"
    page.get_by_role("link", name="已关闭").click()
    expect(page.locator(f'[data-conversation="{world.han_conversation}"]')).to_be_visible()


def test_without_javascript_the_operator_replies_and_a_reload_shows_what_is_new(
    console: Console, world: World, browser: Browser
) -> None:
    api = console.api
    context = new_context(browser, javascript=False)
    page = context.new_page()
    try:
        log_in(page, console, "operator")
        page.goto(f"{console.admin}/support/{world.li_conversation}")
        page.get_by_label("回复内容").fill("您好，验机完成后 1–3 个工作日原路退回。")
        page.get_by_role("button", name="发送回复").click()
        expect(page.locator(".flash")).to_have_text("回复已发送")
        api.post(f"/v1/conversations/{world.li_conversation}/messages", 201, who=world.li, json={"text": "谢谢！"})
        page.get_by_role("link", name="刷新").click()
        assert texts(page)[-2:] == ["您好，验机完成后 1–3 个工作日原路退回。", "谢谢！"]
    finally:
        context.close()


def test_a_risk_reviewer_has_no_customer_service_screen(console: Console, page: Page) -> None:
    log_in(page, console, "risk")
    assert page.locator('[data-nav="support"]').count() == 0
    response = page.goto(f"{console.admin}/support")
    assert response is not None and response.status == 403

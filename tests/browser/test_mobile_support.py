"""Customer service on a phone: a customer asks about their order from the order's page (a blank message is said
next to its field, a double tap opens one conversation), an operator answers in the back office and the answer
appears on the phone without a reload, labelled 客服 and never with the operator's username; the customer replies,
the operator closes the conversation, and the phone says so and takes no more messages. My conversations list the
latest first, a page at a time; nobody reaches another customer's conversation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.mobile import log_in_by_sms, m, phone_context
from tests.browser.support import Console, customer, log_in, new_context, order, screenshot, serious_violations, serving
from tests.e2e.support import Customer

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"
SUBJECT = "收到的手机屏幕有划痕"
QUESTION = "今天收到手机，\n屏幕上有一道划痕，可以换一台吗？"
ANSWER = "您好，到货划痕属于我们的问题，我们为您免费换新，明天顺丰上门取件。"
THANKS = "好的，明天上午在家，谢谢！"
MARKUP = '<img src="x" onerror="alert(1)">'


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("shop")) as running:
        yield running


def on_phone(browser: Browser, shop: Console, who: Customer) -> Page:
    page = phone_context(browser, bypass_csp=True).new_page()
    log_in_by_sms(page, shop, who.phone)
    return page


def back_office(browser: Browser, shop: Console) -> Page:
    """The demo operator at a desk, accepting the back office's confirmations."""
    page = new_context(browser).new_page()
    page.on("dialog", _accept)
    log_in(page, shop, "operator")
    return page


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def conversations(shop: Console, who: Customer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = shop.api.get("/v1/conversations", who=who)
    return found


def chat(page: Page) -> list[tuple[str, str]]:
    """The messages on the phone: who (mine, or what staff's are labelled) and the text."""
    items = page.locator("#messages li[data-author]")
    return [
        ("我" if item.get_attribute("data-author") == "customer" else item.locator(".who").inner_text(), text)
        for item, text in zip(items.all(), items.locator(".text").all_inner_texts(), strict=True)
    ]


def test_a_customer_asks_about_an_order_and_the_answer_arrives_without_a_reload(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    who = customer(shop.api, "韩梅梅")
    order_id = order(shop.api, who, shop.skus[PHONE_X])
    phone = on_phone(browser, shop, who)

    # From the order's page, a new question about that order.
    phone.goto(m(shop, f"/orders/{order_id}"))
    phone.locator('[data-action="help"]').tap()
    phone.wait_for_url(f"**/m/help/new?order={order_id}")
    expect(phone.get_by_label("相关订单（选填）")).to_have_value(order_id)
    phone.get_by_label("主题").fill(SUBJECT)
    phone.get_by_label("问题描述").fill("   ")
    phone.locator('[data-action="open"]').tap()
    expect(phone.locator('[data-error="text"]')).to_have_text("请填写消息内容")
    expect(phone.get_by_label("问题描述")).to_have_attribute("aria-invalid", "true")
    expect(phone.get_by_label("主题")).to_have_value(SUBJECT)
    expect(phone.get_by_label("相关订单（选填）")).to_have_value(order_id)
    assert conversations(shop, who) == []

    phone.get_by_label("问题描述").fill(QUESTION)
    phone.locator('[data-action="open"]').dblclick()
    phone.wait_for_url(re.compile(r"/m/help/[0-9a-f-]{36}\?done=help_opened$"))
    opened = conversations(shop, who)
    assert [(item["subject"], item["order_id"], item["state"]) for item in opened] == [(SUBJECT, order_id, "open")]
    conversation_id = opened[0]["conversation_id"]
    assert phone.url.endswith(f"/m/help/{conversation_id}?done=help_opened")
    expect(phone.locator(".flash")).to_have_text("已提交，客服会尽快回复您")
    expect(phone.get_by_test_id("state")).to_have_text("待回复")
    expect(phone.locator(f'[data-testid="about"] [data-order="{order_id}"]')).to_have_attribute(
        "href", f"/m/orders/{order_id}"
    )
    assert chat(phone) == [("我", QUESTION)]

    # The operator answers in the back office; the phone shows it by itself, as 客服.
    shop.clock.advance(timedelta(minutes=4))
    desk = back_office(browser, shop)
    desk.goto(f"{shop.admin}/support/{conversation_id}")
    desk.get_by_label("回复内容").fill(ANSWER)
    desk.get_by_role("button", name="发送回复").click()
    expect(desk.locator(".flash")).to_have_text("回复已发送")
    phone.evaluate("window.stillTheSamePage = true")
    expect(phone.locator('#messages li[data-author="staff"]')).to_have_count(1, timeout=10_000)
    assert phone.evaluate("window.stillTheSamePage") is True
    assert chat(phone) == [("我", QUESTION), ("客服", ANSWER)]
    assert "operator" not in phone.locator("#messages").inner_text()

    # My conversations: answered, with a new reply, about the order.
    phone.locator('[data-tab="help"]').tap()
    phone.wait_for_url("**/m/help")
    card = phone.locator(f'[data-conversation="{conversation_id}"]')
    expect(card.get_by_test_id("state")).to_have_text("已回复")
    expect(card.get_by_test_id("new-replies")).to_have_text("1 条新回复")
    expect(card.get_by_test_id("preview")).to_have_text(f"客服：{ANSWER}")
    expect(card.locator(f'[data-order="{order_id}"]')).to_have_attribute("href", f"/m/orders/{order_id}")
    assert serious_violations(phone) == []

    # The customer replies.
    card.get_by_role("link", name=SUBJECT).tap()
    phone.wait_for_url(f"**/m/help/{conversation_id}#reply")
    shop.clock.advance(timedelta(minutes=2))
    phone.get_by_label("消息内容").fill(THANKS)
    phone.locator('[data-action="send"]').tap()
    expect(phone.locator("#messages li[data-author]")).to_have_count(3)
    assert chat(phone) == [("我", QUESTION), ("客服", ANSWER), ("我", THANKS)]
    expect(phone.get_by_test_id("state")).to_have_text("待回复")
    expect(phone.get_by_label("消息内容")).to_have_value("")
    assert serious_violations(phone) == []
    screenshot(phone, "m-help", tmp_path)

    # The operator closes it: the phone's open page learns it, and a message sent from it is refused in words.
    desk.reload()
    desk.get_by_role("button", name="关闭会话").click()
    desk.wait_for_url(f"{shop.admin}/support?done=support_closed")
    expect(phone.get_by_test_id("closed-note")).to_contain_text("客服已关闭会话", timeout=10_000)
    phone.get_by_label("消息内容").fill("还有一个问题")
    phone.locator('[data-action="send"]').tap()
    expect(phone.get_by_test_id("notice")).to_have_text("会话已关闭，无法继续发送消息。还有问题可以新建咨询。")
    written = shop.api.get(f"/v1/conversations/{conversation_id}", who=who)["messages"]
    assert [message["text"] for message in written] == [QUESTION, ANSWER, THANKS]

    phone.reload()
    expect(phone.get_by_test_id("state")).to_have_text("已关闭")
    expect(phone.get_by_test_id("reply")).to_have_count(0)
    expect(phone.get_by_test_id("closed")).to_contain_text("会话已关闭")
    expect(phone.get_by_test_id("closed").get_by_role("link", name="新建咨询")).to_have_attribute(
        "href", f"/m/help/new?order={order_id}"
    )
    phone.goto(m(shop, "/help"))
    expect(card.get_by_test_id("state")).to_have_text("已关闭")
    phone.context.close()
    desk.context.close()


def test_a_customer_reaches_only_their_own_conversations(browser: Browser, shop: Console) -> None:
    api = shop.api
    mine, theirs = customer(api, "李雷"), customer(api, "王芳")
    other = api.post("/v1/conversations", 201, who=theirs, json={"subject": "押金", "text": "押金多久退？"})
    other_id = other["conversation_id"]
    own_id = api.post("/v1/conversations", 201, who=mine, json={"subject": "发票", "text": MARKUP})["conversation_id"]
    phone = on_phone(browser, shop, mine)

    phone.goto(m(shop, "/help"))
    assert [card.get_attribute("data-conversation") for card in phone.locator("[data-conversation]").all()] == [own_id]
    expect(phone.get_by_test_id("preview")).to_have_text(MARKUP)
    for path in (f"/help/{other_id}", f"/help/{other_id}/messages", "/help/not-an-id"):
        answer = phone.goto(m(shop, path))
        assert answer is not None and answer.status == 404, path
        expect(phone.locator("h1")).to_have_text("页面不存在")

    phone.goto(m(shop, f"/help/{own_id}"))
    assert chat(phone) == [("我", MARKUP)] and phone.locator("#messages img").count() == 0
    token = phone.locator('#reply input[name="csrf"]').input_value()
    written = phone.request.post(m(shop, f"/help/{other_id}"), form={"csrf": token, "text": "我来看看"})
    assert written.status == 404
    assert [message["text"] for message in api.get(f"/v1/conversations/{other_id}", who=theirs)["messages"]] == [
        "押金多久退？"
    ]
    phone.context.close()


def test_my_conversations_come_a_page_at_a_time_the_latest_first(browser: Browser, shop: Console) -> None:
    api = shop.api
    who = customer(api, "张伟")
    opened = []
    for number in range(11):
        shop.clock.advance(timedelta(minutes=1))
        body = {"subject": f"问题 {number + 1}", "text": "请问……"}
        opened.append(api.post("/v1/conversations", 201, who=who, json=body)["conversation_id"])
    phone = on_phone(browser, shop, who)

    phone.goto(m(shop, "/help"))
    listed = [card.get_attribute("data-conversation") for card in phone.locator("[data-conversation]").all()]
    assert listed == opened[::-1][:10]
    expect(phone.locator(".pager")).to_contain_text("第 1 / 2 页")
    phone.get_by_role("link", name="下一页").tap()
    phone.wait_for_url("**/m/help?page=2")
    assert [card.get_attribute("data-conversation") for card in phone.locator("[data-conversation]").all()] == [
        opened[0]
    ]
    expect(phone.locator('[data-conversation] [data-testid="state"]')).to_have_text("待回复")
    phone.get_by_role("link", name="新建咨询").tap()
    phone.wait_for_url("**/m/help/new")
    expect(phone.get_by_label("相关订单（选填）")).to_have_value("")
    phone.context.close()

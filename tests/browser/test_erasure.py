"""Erasing a customer's personal data in Chromium: the admin fills in why, confirms, and the customer's page reads
已删除 ("erased" in English) where the phone, the name and the ID number were; an operator sees no erase form. No
serious accessibility problem on the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from leasecore.credit.customer import IdentityCheck
from tests.browser.support import Console, log_in, new_context, screenshot, serious_violations

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, bypass_csp=True)
    yield context.new_page()
    context.close()


def test_the_admin_erases_a_customer_and_the_page_reads_erased(
    console: Console, browser: Browser, page: Page, tmp_path: Path
) -> None:
    app = console.service.app
    customer = app.register_customer("13912340000")
    app.record_identity(customer, IdentityCheck("韩梅梅", "11010519491231002X", True))
    app.open_conversation(customer, "押金什么时候退", "我的押金还没到账")
    console.service.written()
    console.service.platform.runner.catch_up()

    operator = new_context(browser).new_page()
    log_in(operator, console, "operator")
    operator.goto(f"{console.admin}/customers/{customer}")
    expect(operator.get_by_test_id("phone")).to_have_text("13912340000")
    expect(operator.get_by_test_id("erase")).to_have_count(0)

    log_in(page, console, "admin")
    page.goto(f"{console.admin}/customers/{customer}")
    expect(page.get_by_test_id("id_number")).to_have_text("110105********002X")
    conversations = page.get_by_test_id("conversations")
    expect(conversations.get_by_role("link", name="押金什么时候退")).to_have_count(1)
    expect(conversations.locator("tbody tr td").nth(1)).to_have_text("待回复")
    expect(conversations.locator("tbody tr td").nth(2)).to_have_text("1")
    assert serious_violations(page) == []
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_label("删除原因").fill("客户申请，工单 4711")
    screenshot(page, "customer-erase", tmp_path)
    page.get_by_role("button", name="删除个人信息").click()
    expect(page.locator(".flash")).to_have_text("个人信息已删除，客户已退出登录")
    assert asked == ["确定删除该客户的个人信息？此操作不可撤销。"]
    for field in ("phone", "name", "id_number"):
        expect(page.get_by_test_id(field)).to_have_text("已删除")
    expect(page.get_by_test_id("erased")).to_have_text("个人信息已删除")
    expect(page.get_by_test_id("conversations").get_by_role("link", name="已删除")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("erased")
    screenshot(page, "customer-erased", tmp_path)
    page.goto(f"{console.admin}/customers/{customer}?lang=en")
    for field in ("phone", "name", "id_number"):
        expect(page.get_by_test_id(field)).to_have_text("erased")
    expect(page.get_by_test_id("conversations").get_by_role("link", name="erased")).to_have_count(1)
    page.goto(f"{console.admin}/customers/{customer}")
    expect(page.get_by_test_id("erase")).to_have_count(0)

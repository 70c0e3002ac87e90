"""Staff accounts in Chromium: the admin disables the operator with a reason, the operator's open session is sent to
the login, where the operator's right password no longer opens anything; the API refuses the operator's token too;
the finance clerk locked out after repeated failed logins shows locked until when, and the admin unlocks it; enabled
again, the operator logs in. No serious accessibility problem on the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from api.cli import DEMO_PASSWORD
from api.http.auth import AuthPolicy
from tests.browser.support import Console, log_in, new_context, screenshot, serious_violations

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    yield context.new_page()
    context.close()


def try_to_log_in(page: Page, console: Console, username: str, password: str) -> None:
    page.goto(f"{console.admin}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_the_admin_disables_the_operator_unlocks_finance_and_enables_the_operator_again(
    console: Console, browser: Browser, page: Page, tmp_path: Path
) -> None:
    operator = new_context(browser).new_page()
    log_in(operator, console, "operator")
    operator.get_by_role("navigation", name="主导航").get_by_role("link", name="订单").click()
    expect(operator.get_by_role("heading", level=1)).to_have_text("订单")
    token = console.api.post("/v1/admin/login", json={"username": "operator", "password": DEMO_PASSWORD})["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    console.api.get("/v1/admin/orders", who=bearer)

    log_in(page, console, "admin")
    page.locator('nav.side [data-nav="staff"]').click()
    mine = page.locator('tr[data-account="admin"]')
    expect(mine.locator('[data-col="state"]')).to_have_text("可登录")
    expect(mine.get_by_role("button", name="停用")).to_have_count(0)

    row = page.locator('tr[data-account="operator"]')
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    row.get_by_label("停用 operator 的原因").fill("离职交接中")
    row.get_by_role("button", name="停用").click()
    expect(page.locator(".flash")).to_have_text("账号已停用，其后台会话已结束")
    assert asked == ["确认停用此账号？停用后该员工立即退出后台，不能再登录，直到重新启用。"]
    row = page.locator('tr[data-account="operator"]')
    expect(row.locator('[data-col="state"] .status')).to_have_text("已停用")
    expect(row.locator('[data-col="reason"]')).to_have_text("原因：离职交接中")
    expect(row.locator('[data-col="state"]')).to_contain_text("admin 于 2026-01-31 10:00 停用")
    expect(row.locator('[data-col="roles"]')).to_have_text("运营")

    operator.reload()
    operator.wait_for_url(f"{console.admin}/login?next=**")
    try_to_log_in(operator, console, "operator", DEMO_PASSWORD)
    expect(operator.get_by_role("alert")).to_have_text("用户名或密码错误")
    assert operator.url.startswith(f"{console.admin}/login")
    console.api.get("/v1/admin/orders", 401, who=bearer)

    clerk = new_context(browser).new_page()
    for _ in range(AuthPolicy().staff_failures):
        try_to_log_in(clerk, console, "finance", "not the password")
        expect(clerk.get_by_role("alert")).to_have_text("用户名或密码错误")
    try_to_log_in(clerk, console, "finance", DEMO_PASSWORD)
    expect(clerk.get_by_role("alert")).to_contain_text("登录失败次数过多")

    page.goto(f"{console.admin}/staff")
    locked = page.locator('tr[data-account="finance"] [data-col="locked"]')
    expect(locked).to_have_text("锁定至 10:15")  # the first failure at 10:00 in Shanghai, plus 15 minutes
    expect(page.locator('tr[data-account="risk"] [data-col="locked"]')).to_have_count(0)
    scanner = new_context(browser, bypass_csp=True).new_page()
    log_in(scanner, console, "admin")
    scanner.goto(f"{console.admin}/staff")
    assert serious_violations(scanner) == []
    scanner.context.close()
    screenshot(page, "staff", tmp_path)

    page.locator('tr[data-account="finance"]').get_by_role("button", name="解除锁定").click()
    expect(page.locator(".flash")).to_have_text("已解除锁定")
    expect(page.locator('tr[data-account="finance"] [data-col="locked"]')).to_have_count(0)
    log_in(clerk, console, "finance")
    clerk.context.close()

    page.locator('tr[data-account="operator"]').get_by_role("button", name="启用").click()
    expect(page.locator(".flash")).to_have_text("账号已启用")
    row = page.locator('tr[data-account="operator"]')
    expect(row.locator('[data-col="state"]')).to_have_text("可登录")
    log_in(operator, console, "operator")
    expect(operator.get_by_role("heading", level=1)).to_have_text("工作台")
    console.api.get("/v1/admin/orders", 401, who=bearer)  # a token from before the disabling stays refused
    operator.context.close()


def test_a_disabling_without_a_reason_or_of_ones_own_account_is_refused_in_words(
    console: Console, browser: Browser
) -> None:
    context = new_context(browser, javascript=False)
    page = context.new_page()
    log_in(page, console, "admin")
    page.goto(f"{console.admin}/staff")
    row = page.locator('tr[data-account="risk"]')
    row.get_by_label("停用 risk 的原因").evaluate("field => field.removeAttribute('required')")
    row.get_by_label("停用 risk 的原因").fill("   ")
    row.get_by_role("button", name="停用").click()
    row = page.locator('tr[data-account="risk"]')
    expect(row.get_by_role("alert")).to_have_text("请填写停用原因")
    expect(row.get_by_label("停用 risk 的原因")).to_have_attribute("aria-invalid", "true")
    expect(row.locator('[data-col="state"] .status')).to_have_text("可登录")

    csrf = page.locator('input[name="csrf"]').first.get_attribute("value") or ""
    own = page.request.post(f"{console.admin}/staff/admin/disable", form={"csrf": csrf, "reason": "testing"})
    assert own.status == 409
    page.set_content(own.text())
    expect(page.locator('tr[data-account="admin"]').get_by_role("alert")).to_have_text("不能停用自己的账号")
    forged = page.request.post(f"{console.admin}/staff/risk/disable", form={"csrf": "forged", "reason": "testing"})
    assert forged.status == 403
    context.close()

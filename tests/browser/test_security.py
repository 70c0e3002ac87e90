"""The back office's security and its working without JavaScript, in Chromium: a reviewer's whole task with
JavaScript off, the CSP on every answer and no inline script anywhere, a forged form refused, logout that ends the
session on the server, a deep link through the login, the lockout the API keeps, and English on request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from api.http.security import hash_password
from leasecore.staff import Role
from tests.browser.support import Console, customer, log_in, new_context, order

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def to_review(console: Console) -> list[str]:
    """Three orders waiting for a reviewer (a score under the minimum, the full deposit)."""
    who = customer(console.api, "王小明", score=500)
    skus = ("tablet-11/128-blue", "watch-10/46-black", "earphones-pro/usb-c")
    return [
        order(console.api, who, console.skus[sku], deposit_mode="full", plan={"kind": "long", "months": 6})
        for sku in skus
    ]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    yield context.new_page()
    context.close()


def status(console: Console, order_id: str) -> str:
    answer = console.api.get(f"/v1/admin/orders/{order_id}", who=console.api.staff(Role.ADMIN))
    found: str = answer["status"]
    return found


def test_with_javascript_off_a_reviewer_logs_in_finds_an_order_and_approves_it(
    console: Console, to_review: list[str], browser: Browser
) -> None:
    context = new_context(browser, javascript=False)
    page = context.new_page()
    log_in(page, console, "risk")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="订单").click()
    page.locator('[data-tab="pending_review"]').click()
    page.locator(f'tr[data-order="{to_review[0]}"] a').first.click()
    page.wait_for_url(f"**/admin/orders/{to_review[0]}")
    page.get_by_label("理由（可选）").fill("电话核实收入")
    page.get_by_role("button", name="审核通过").click()
    page.wait_for_url(f"**/admin/orders/{to_review[0]}?done=approved")
    expect(page.get_by_test_id("status")).to_have_text("待签约")
    assert status(console, to_review[0]) == "pending_contract"
    context.close()


def test_every_answer_carries_the_csp_and_no_page_has_an_inline_script_or_handler(
    console: Console, to_review: list[str], page: Page
) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    answers = [page.goto(f"{console.admin}/login")]
    log_in(page, console, "admin")
    for path in ("/", "/orders", f"/orders/{to_review[1]}", "/no-such-page", "/static/admin.css"):
        answers.append(page.goto(f"{console.admin}{path}"))
        inline = page.evaluate(
            """() => [...document.querySelectorAll('*')].flatMap(node =>
                [...node.attributes].filter(a => a.name.startsWith('on')).map(a => node.tagName + ' ' + a.name)
            ).concat([...document.querySelectorAll('script:not([src])')].map(() => 'inline script'))"""
        )
        assert inline == [], path
    for answer in answers:
        assert answer is not None
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[4] is not None and answers[4].status == 404
    assert violations == []


def test_a_form_without_the_sessions_token_is_refused(console: Console, to_review: list[str], page: Page) -> None:
    log_in(page, console, "risk")
    page.goto(f"{console.admin}/orders/{to_review[1]}")
    page.locator('form[action$="/approve"] input[name="csrf"]').evaluate("field => field.value = 'forged'")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_test_id("problem")).to_contain_text("安全令牌不符")
    answer = page.request.post(f"{console.admin}/orders/{to_review[1]}/approve", form={"reason": "no token"})
    assert answer.status == 403
    assert status(console, to_review[1]) == "pending_review"


def test_logging_out_ends_the_session_on_the_server(console: Console, browser: Browser, page: Page) -> None:
    log_in(page, console, "admin")
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies if c["name"] == "leasecore_admin"] == [
        ("leasecore_admin", True, "Lax")
    ]
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/admin/login?done=logged_out")
    expect(page.get_by_role("status")).to_have_text("已退出登录")

    replayed = new_context(browser)
    replayed.add_cookies(cookies)  # type: ignore[arg-type]
    again = replayed.new_page()
    again.goto(f"{console.admin}/orders")
    assert again.url.startswith(f"{console.admin}/login?next=")
    replayed.close()


def test_a_deep_link_leads_through_the_login_back_to_it(console: Console, page: Page) -> None:
    page.goto(f"{console.admin}/orders?status=pending_review")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    page.get_by_label("密码").fill("leasecore-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{console.admin}/orders?status=pending_review")
    expect(page.locator('[data-tab="pending_review"]')).to_have_attribute("aria-current", "page")


def test_the_lockout_the_api_keeps_holds_in_the_browser_too(console: Console, page: Page) -> None:
    console.service.app.save_staff_account("temp-clerk", (Role.OPERATOR,), hash_password("right password"))
    for _ in range(10):
        console.api.post("/v1/admin/login", 401, json={"username": "temp-clerk", "password": "wrong"})
    page.goto(f"{console.admin}/login")
    page.get_by_label("用户名").fill("temp-clerk")
    page.get_by_label("密码").fill("right password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多")
    assert "/admin/login" in page.url


def test_english_on_request_is_remembered_until_chinese_is_asked_for(console: Console, page: Page) -> None:
    log_in(page, console, "finance")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    expect(page.locator('[data-tab="pending_review"]')).to_contain_text("To review")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("订单")

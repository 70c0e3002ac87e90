"""The customer's app in a real browser as a phone shows it: Debian's Chromium emulating a 390×844 touch screen in
zh-CN and Asia/Shanghai, logging in by the SMS code the sandbox sent, and what a page weighs on the network."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.support import Console

PHONE = {"width": 390, "height": 844}


def phone_context(browser: Browser, *, javascript: bool = True, bypass_csp: bool = False) -> BrowserContext:
    """A phone: small touch screen, Chinese, Shanghai time."""
    context = browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(10_000)
    return context


def m(shop: Console, path: str = "/") -> str:
    """A page of the customer's app."""
    return f"{shop.base}/m{path}"


def log_in_by_sms(page: Page, shop: Console, phone: str) -> None:
    """Through the login form, as a customer would: the phone, the code the sandbox's SMS provider got, done; lands
    where the login page was going."""
    if "/m/login" not in page.url:
        page.goto(m(shop, "/login"))
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").tap()
    page.get_by_test_id("code-sent").wait_for()
    page.get_by_label("短信验证码").fill(shop.api.code(phone))
    page.get_by_role("button", name="登录", exact=True).tap()
    page.wait_for_url(lambda url: "/m/login" not in url)


def transferred(page: Page) -> int:
    """Bytes the page and everything it loaded took on the network (compressed, headers included), as the browser's
    resource timing counts them; cached files count 0, so measure in a fresh context."""
    total: int = page.evaluate(
        """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
            .reduce((sum, entry) => sum + entry.transferSize, 0)"""
    )
    return total

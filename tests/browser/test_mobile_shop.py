"""The customer's app's shop window on a phone: the catalog, a product page whose quote is the API's (a visitor's with
the whole deposit, a verified customer's with the credit waiver), a quote that follows the pickers without a reload
and survives one, a short-term calendar that offers only the days a unit is free, the SMS login, and pages made for
a thumb: 44 px targets, nothing wider than a 360 px screen, zoom allowed, under 300 KB on the network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.web.formatting import money
from tests.browser.mobile import log_in_by_sms, m, phone_context, transferred
from tests.browser.support import Console, customer, screenshot, serious_violations, serving
from tests.e2e.support import new_phone

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"
CAMERA = "camera-a7/kit"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("shop")) as running:
        yield running


def product_id(shop: Console, sku_key: str) -> str:
    answer = shop.api.get("/v1/catalog/products")
    found = [item["id"] for item in answer if any(sku["id"] == str(shop.skus[sku_key]) for sku in item["skus"])]
    assert len(found) == 1, sku_key
    return str(found[0])


def shown(page: Page, key: str) -> str:
    return page.locator(f'[data-testid="quote"] [data-figure="{key}"]').inner_text().strip()


def quote_body(shop: Console, sku_key: str, months: int, deposit_mode: str = "waiver") -> dict[str, Any]:
    plan = {"kind": "long", "months": months}
    return {
        "sku_id": str(shop.skus[sku_key]),
        "quantity": 1,
        "plan": plan,
        "protection": False,
        "deposit_mode": deposit_mode,
    }


def test_a_visitor_sees_the_catalog_and_a_quote_with_the_whole_deposit(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    context = phone_context(browser, bypass_csp=True)
    page = context.new_page()
    page.goto(m(shop))
    names = page.locator('[data-testid="products"] strong').all_inner_texts()
    assert {"Phone X Pro", "AirBook Pro 14", "Alpha 7 IV kit"} <= set(names)
    expect(page.locator('[data-tab="home"]')).to_have_attribute("aria-current", "page")
    assert serious_violations(page) == []
    screenshot(page, "m-home", tmp_path)

    page.locator(f'[data-product="{product_id(shop, PHONE_X)}"]').tap()
    expect(page.locator("h1")).to_have_text("Phone X Pro")
    # twelve months is the default term: the monthly rent of 329.00, the whole deposit to pay (no credit known)
    assert shown(page, "monthly") == money(Decimal("329.00"))
    assert shown(page, "deposit") == shown(page, "deposit_due") == money(Decimal("6000.00"))
    assert shown(page, "due_now") == money(Decimal("6329.00"))
    expect(page.locator('[data-testid="quote"]')).to_contain_text("登录并完成认证后可享信用免押")
    expect(page.get_by_test_id("bar-due-now")).to_have_text(money(Decimal("6329.00")))
    assert serious_violations(page) == []
    context.close()


def test_a_verified_customer_is_quoted_the_apis_waiver_and_the_quote_follows_the_pickers(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    who = customer(shop.api, "韩梅梅", phone=new_phone())
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, f"/products/{product_id(shop, PHONE_X)}"))
    page.locator('[data-testid="quote"] a', has_text="登录").tap()
    page.wait_for_url("**/m/login?**")
    log_in_by_sms(page, shop, who.phone)
    expect(page.locator("h1")).to_have_text("Phone X Pro")  # back where the login began

    api = shop.api.post("/v1/quotes", who=who, json=quote_body(shop, PHONE_X, 12))
    assert Decimal(api["waiver"]) > 0
    assert shown(page, "waiver") == f"免押 {money(Decimal(api['waiver']))}"
    assert shown(page, "deposit_due") == money(Decimal(api["deposit_due"]))
    assert shown(page, "due_now") == money(Decimal(api["due_now"]))
    assert api["waiver_limit"] == {"rule": "per_unit_cap", "score": None, "minimum": None, "amount": "5000.00"}
    why = page.get_by_test_id("waiver-reason")  # the API's code and figures, in the page's words
    expect(why).to_have_text(f"为什么没有全免：每件最多免押 {money(Decimal('5000.00'))}")

    page.get_by_label("6 个月").check()  # the quote follows without a reload, and the address keeps the choice
    six = shop.api.post("/v1/quotes", who=who, json=quote_body(shop, PHONE_X, 6))
    expect(page.locator('[data-figure="monthly"]')).to_have_text(money(Decimal("399.00")))
    expect(page.get_by_test_id("bar-due-now")).to_have_text(money(Decimal(six["due_now"])))
    assert "months=6" in page.url
    page.get_by_label("全额押金").check()
    expect(page.locator('[data-figure="deposit_due"]')).to_have_text(money(Decimal("6000.00")))
    page.reload()
    expect(page.get_by_label("6 个月")).to_be_checked()
    expect(page.get_by_label("全额押金")).to_be_checked()
    assert "months=6" in page.get_by_test_id("rent").get_attribute("href", timeout=1000) or ""
    screenshot(page, "m-product", tmp_path)
    context.close()


def test_without_javascript_the_product_page_quotes_what_the_form_asks(browser: Browser, shop: Console) -> None:
    context = phone_context(browser, javascript=False)
    page = context.new_page()
    page.goto(m(shop, f"/products/{product_id(shop, PHONE_X)}"))
    page.get_by_label("6 个月").check()
    page.get_by_role("button", name="更新报价").tap()
    page.wait_for_url("**months=6**")
    assert shown(page, "monthly") == money(Decimal("399.00"))
    context.close()


def test_the_short_term_calendar_offers_only_days_a_unit_is_free_for_the_shortest_rental(
    browser: Browser, shop: Console
) -> None:
    """The camera has two units and rents for 2 days at least: book both from day +5 to day +8, and the days from
    +4 (its two days would end on +5) to +8 are not offered."""
    today = shop.clock.now().date()  # the sandbox starts at 10:00 in Shanghai on START's day
    first, last = today + timedelta(days=5), today + timedelta(days=8)
    for _ in range(2):
        who = shop.api.customer()
        plan = {"kind": "short", "start": first.isoformat(), "end": last.isoformat()}
        shop.api.place(who, shop.api.order_body(shop.skus[CAMERA], plan, deposit_mode="full"))
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, f"/products/{product_id(shop, CAMERA)}"))
    off = {
        date.fromisoformat(day) for day in page.locator("[data-off]").evaluate_all("els => els.map(e => e.dataset.day)")
    }
    assert off == {today + timedelta(days=n) for n in range(4, 9)}
    page.locator(f'[data-day="{(today + timedelta(days=10)).isoformat()}"]').tap()
    expect(page.locator('input[name="start"]')).to_have_value((today + timedelta(days=10)).isoformat())
    assert shown(page, "daily") == money(Decimal("129.00"))
    assert shown(page, "rent_total") == money(Decimal("258.00"))  # two days
    context.close()


def test_logging_in_with_a_wrong_code_says_so_next_to_the_code(browser: Browser, shop: Console) -> None:
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, "/login"))
    page.get_by_label("手机号").fill("13800")
    page.get_by_role("button", name="获取验证码").tap()
    expect(page.locator('[data-error="phone"]')).to_have_text("请填写正确的手机号（6–15 位数字）")
    phone = new_phone()
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").tap()
    expect(page.get_by_test_id("code-sent")).to_be_visible()
    page.get_by_label("短信验证码").fill("000000" if shop.api.code(phone) != "000000" else "111111")
    page.get_by_role("button", name="登录", exact=True).tap()
    expect(page.locator('[data-error="code"]')).to_contain_text("验证码不正确")
    expect(page.locator('[data-error="code"]')).to_contain_text("attempt(s) left")
    context.close()


def test_pages_are_made_for_a_thumb_and_light_on_the_network(browser: Browser, shop: Console) -> None:
    """At 360 px: zoom allowed, nothing wider than the screen, every control 44 px tall at least (links inside a
    sentence excepted), and each page with its files under 300 KB on the network, measured in a fresh browser."""
    paths = ["/", f"/products/{product_id(shop, PHONE_X)}", f"/products/{product_id(shop, CAMERA)}", "/login"]
    for path in paths:
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(m(shop, path))
        page.wait_for_load_state("networkidle")
        viewport = page.locator('meta[name="viewport"]').get_attribute("content") or ""
        assert "user-scalable" not in viewport and "maximum-scale" not in viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        small = page.evaluate(
            """() => [...document.querySelectorAll('a, button, .option, input:not([type=hidden]):not([type=radio])'
                + ':not([type=checkbox]), select, textarea')]
                .filter(e => e.offsetParent !== null && !e.closest('p'))
                .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
                .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert small == [], path
        assert transferred(page) < 300_000, path
        context.close()


def test_the_fee_rules_page_says_the_configured_rule_with_an_example_the_ledger_charges(
    browser: Browser, shop: Console
) -> None:
    """The demo's billing: 3 grace days, 0.05% a day, capped at 20%: an installment of 1,000.00 ten days late has
    accrued 5.00."""
    billing = shop.service.app.billing_policy()
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, "/rules#late-fees"))
    rules = page.get_by_test_id("late-fees")
    expect(rules).to_contain_text(f"{billing.grace_days} 天宽限期")
    expect(page.get_by_test_id("example")).to_contain_text(f"滞纳金为 {money(Decimal('5.00'))}")
    expect(page.get_by_test_id("example")).to_contain_text(f"最多 {money(Decimal('200.00'))}")
    context.close()

"""Listing a new product from the back office in Chromium, as an operator: the form refuses a wrong field next to it
and lists nothing, then lists the product (the API's catalog and the customer's phone show it once it has a priced
SKU with units); an order of it waits in the to-ship queue naming the unit held for it, which the ship form has
picked already."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from leasecore.staff import Role
from tests.browser.mobile import m, phone_context
from tests.browser.support import Console, customer, log_in, new_context, order, screenshot, serious_violations

pytestmark = pytest.mark.slow

NAME = "Pad Mini 7"
SERIALS = ("PAD-0001", "PAD-0002")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, bypass_csp=True)  # for axe; the CSP itself is tested in test_security
    yield context.new_page()
    context.close()


def _listed(console: Console) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = console.api.get("/v1/catalog/products")
    return [product for product in products if product["name"] == NAME]


def test_an_operator_lists_a_product_the_customer_then_finds_and_ships_its_held_unit(
    console: Console, browser: Browser, page: Page, tmp_path: Path
) -> None:
    log_in(page, console, "operator")
    page.goto(f"{console.admin}/stock")
    page.get_by_role("link", name="新建商品").click()
    expect(page.locator("h1")).to_have_text("新建商品")

    # The form, one field wrong: the schema's error stands next to it, the rest is kept, nothing is listed.
    page.get_by_label("品类", exact=True).select_option(label="Digital › Tablets")
    page.get_by_label("商品名称").fill(NAME)
    page.get_by_label("品牌").fill("Orchard")
    page.get_by_label("商品描述").fill("8.3 英寸屏幕，256G")
    page.get_by_label("图片地址（每行一个）").fill("/images/pad-mini-front.jpg\nhttps://img.example.com/pad-mini.jpg")
    page.get_by_label("支付宝小程序").uncheck()
    page.get_by_label("长租期数（月，以逗号分隔）").fill("6, 12")
    page.get_by_label("短租最短天数").fill("3")
    page.get_by_label("短租最长天数").fill("0")
    page.get_by_label("提供意外保障").check()
    page.get_by_label("保障费（元 / 月）").fill("15.90")
    page.get_by_label("保障费（元 / 天）").fill("1.50")
    page.get_by_label("免赔额（元，客户损坏赔付上限）").fill("200")
    page.get_by_role("button", name="新建商品").click()
    expect(page.locator("#max_days-error")).to_have_text("Input should be greater than or equal to 1")
    expect(page.get_by_label("短租最长天数")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("p.error")).to_have_count(1)
    expect(page.get_by_label("商品名称")).to_have_value(NAME)
    expect(page.get_by_label("长租期数（月，以逗号分隔）")).to_have_value("6, 12")
    expect(page.get_by_label("支付宝小程序")).not_to_be_checked()
    expect(page.get_by_label("提供意外保障")).to_be_checked()
    assert _listed(console) == []
    assert serious_violations(page) == []
    screenshot(page, "product-new", tmp_path)

    # Put right, it is listed, and the operator goes on to its first SKU.
    page.get_by_label("短租最长天数").fill("30")
    page.get_by_role("button", name="新建商品").click()
    expect(page.locator(".flash")).to_have_text("已新建商品，请为它新增 SKU。")
    expect(page.locator("h1")).to_have_text(f"为 {NAME} 新增 SKU")
    [listed] = _listed(console)
    assert (listed["brand"], listed["description"], listed["skus"]) == ("Orchard", "8.3 英寸屏幕，256G", [])
    assert listed["images"] == ["/images/pad-mini-front.jpg", "https://img.example.com/pad-mini.jpg"]
    assert listed["channels"] == ["app", "h5", "wechat_mini"]
    assert (listed["long_term"]["terms"], listed["short_term"]) == ([6, 12], {"min_days": 3, "max_days": 30})
    assert listed["protection"] == {
        "offered": True,
        "mandatory": False,
        "monthly": "15.90",
        "daily": "1.50",
        "damage_excess": "200.00",
    }

    # A SKU priced for both terms and by the day, and two units received.
    page.get_by_label("规格（每行一项，如 颜色: 黑色）").fill("颜色: 星光色\n容量: 256G")
    prices = {"市场价（元）": "4999", "押金（元）": "3000", "6 期月租（元）": "299", "6 期到期买断价（元）": "3200"}
    prices |= {
        "12 期月租（元）": "239",
        "12 期到期买断价（元）": "2100",
        "续租月租（元）": "199",
        "短租日租（元）": "39",
    }
    for label, value in prices.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="新增 SKU").click()
    expect(page.locator(".flash")).to_have_text("已新增 SKU，请入库设备。")
    expect(page.locator("h1")).to_have_text(f"{NAME} · 星光色 / 256G")
    page.get_by_label("序列号（每行一个，或以逗号、空格分隔）").fill(" ".join(SERIALS))
    page.get_by_role("button", name="入库", exact=True).click()
    expect(page.locator(".flash")).to_have_text("已入库。")
    expect(page.locator('[data-count="available"] strong')).to_have_text("2")

    [listed] = _listed(console)
    [sku] = listed["skus"]
    assert (sku["monthly_rent"], sku["buyout_price"]) == (
        {"6": "299.00", "12": "239.00"},
        {"6": "3200.00", "12": "2100.00"},
    )
    assert (sku["deposit"], sku["daily_rent"], sku["available_units"]) == ("3000.00", "39.00", 2)
    page.goto(f"{console.admin}/stock")
    row = page.locator(f'tr[data-sku="{sku["id"]}"]')
    expect(row).to_contain_text("12 期：¥239.00 / ¥2,100.00")
    expect(row.locator('[data-col="available"]')).to_have_text("2")

    # The customer's phone lists it on the home page, from its lowest monthly rent.
    phone = phone_context(browser)
    shop = phone.new_page()
    shop.goto(m(console))
    card = shop.locator(f'a.product-card[data-product="{listed["id"]}"]')
    expect(card).to_contain_text(NAME)
    expect(card).to_contain_text("¥239.00")
    phone.close()

    # An order of it waits to be shipped: its row names the unit held for it, and the ship form has it picked.
    api = console.api
    who = customer(api, "李小华")
    order_id = order(api, who, UUID(sku["id"]), plan={"kind": "long", "months": 12})
    if api.order(who, order_id)["status"] == "pending_review":
        api.post(f"/v1/admin/orders/{order_id}/approve", who=api.staff(Role.RISK), json={"reason": "ok"})
    api.post(f"/v1/orders/{order_id}/contract/sign", who=who)
    assert api.order(who, order_id)["status"] == "pending_shipment"
    [held] = console.service.app.units_held(UUID(order_id))
    assert held in SERIALS
    page.goto(f"{console.admin}/shipping")
    expect(page.locator("table.orders thead")).to_contain_text("预留设备")
    queued = page.locator(f'tr[data-order="{order_id}"]')
    expect(queued.locator('[data-col="units"]')).to_have_text(held)
    assert serious_violations(page) == []
    queued.get_by_role("link", name="发货").click()
    expect(page.get_by_label("选择设备（序列号）")).to_have_value(held)
    expect(page.locator("#unit option:checked")).to_have_text(f"{held}（已为此单预留）")

    # In English, and usable at 1024 wide.
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"{console.admin}/stock/products/new?lang=en")
    expect(page.locator("h1")).to_have_text("List a new product")
    expect(page.get_by_label("Long-term terms (months, comma separated)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

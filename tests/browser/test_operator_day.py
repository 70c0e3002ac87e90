"""An operator's day in Chromium: units received by pasting serials (the SKU's free count rises by as many, a
repeated or known serial refuses the whole paste), an order shipped on one of them (it leaves the to-ship queue, the
unit is leased to it), its return recorded, its inspection with damage under protection and a photo (a text file
named .png is refused next to the field) previewed with the settlement's figures and confirmed (the order page shows
the same figures), a unit retired with a reason; the shipping and stock screens have no serious accessibility
problem. The operator also adds a category and a SKU priced for every term of its product."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Dialog, FilePayload, Page, expect

from api.web.formatting import money
from leasecore.staff import Role
from tests.browser.support import Console, customer, log_in, new_context, order, screenshot, serious_violations

pytestmark = pytest.mark.slow

SKU = "phone-x/256-black"
NEW = ("OPS-0001", "OPS-0002", "OPS-0003")
DAMAGE = Decimal("1000.00")
EXCESS = Decimal("300.00")  # the demo phone's protection caps the customer's liability here


def png() -> bytes:
    """A real 2×2 PNG (what a phone's camera would give, only smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xcc\x33\x33" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, bypass_csp=True)  # for axe; the CSP itself is tested in test_security
    opened = context.new_page()
    opened.on("dialog", _accept)
    yield opened
    context.close()


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def _available(page: Page, console: Console) -> int:
    page.goto(f"{console.admin}/stock")
    return int(page.locator(f'tr[data-sku="{console.skus[SKU]}"] [data-col="available"]').inner_text())


def _facts(page: Page, selector: str) -> dict[str, str]:
    """A definition list's terms and values as shown."""
    box = page.locator(selector)
    terms = [text.strip() for text in box.locator("dt").all_inner_texts()]
    values = [text.strip() for text in box.locator("dd").all_inner_texts()]
    return dict(zip(terms, values, strict=True))


def test_an_operator_receives_ships_takes_back_inspects_and_retires(
    console: Console, page: Page, tmp_path: Path
) -> None:
    api, sku_id = console.api, console.skus[SKU]
    log_in(page, console, "operator")
    expect(page.locator('nav.side [data-nav="shipping"]')).to_be_visible()
    expect(page.locator('nav.side [data-nav="stock"]')).to_be_visible()

    # Receive three units by pasting; a paste with a known or repeated serial changes nothing.
    before = _available(page, console)
    assert serious_violations(page) == []
    screenshot(page, "stock", tmp_path)
    page.locator(f'tr[data-sku="{sku_id}"] a').first.click()
    page.get_by_label("序列号（每行一个，或以逗号、空格分隔）").fill(f"{NEW[0]}\n{NEW[1]}, {NEW[2]}")
    page.get_by_role("button", name="入库", exact=True).click()
    expect(page.locator(".flash")).to_have_text("已入库。")
    for serial in NEW:
        expect(page.locator(f'tr[data-serial="{serial}"] [data-col="state"]')).to_have_attribute(
            "data-state", "available"
        )
    page.get_by_label("序列号（每行一个，或以逗号、空格分隔）").fill("OPS-0001 OPS-0009\nOPS-0009")
    page.get_by_role("button", name="入库", exact=True).click()
    refusal = page.locator("#serials-error")
    expect(refusal).to_contain_text("整批均未入库")
    expect(refusal.locator("li")).to_have_text(["OPS-0001：已入库", "OPS-0009：重复填写"])
    expect(page.locator('tr[data-serial="OPS-0009"]')).to_have_count(0)
    assert serious_violations(page) == []
    assert _available(page, console) == before + 3

    # An order with protection and a full deposit, paid and signed, waits to be shipped.
    who = customer(api, "王小明")
    plan = {"kind": "short", "start": "2026-01-31", "end": "2026-02-04"}
    order_id = order(api, who, sku_id, plan=plan, protection=True, deposit_mode="full")
    if api.order(who, order_id)["status"] == "pending_review":
        api.post(f"/v1/admin/orders/{order_id}/approve", who=api.staff(Role.RISK), json={"reason": "ok"})
    api.post(f"/v1/orders/{order_id}/contract/sign", who=who)
    placed = api.order(who, order_id)
    assert placed["status"] == "pending_shipment"
    held = console.service.app.units_held(UUID(order_id))
    assert len(held) == 1
    pick, spare = [serial for serial in NEW if serial not in held][:2]
    deposit = Decimal(placed["deposit"])

    # Ship it on one of the new units, picked in place of the one held for it.
    page.goto(f"{console.admin}/shipping")
    row = page.locator(f'tr[data-order="{order_id}"]')
    expect(row.locator('[data-col="customer"]')).to_have_text("王小明")
    assert serious_violations(page) == []
    screenshot(page, "shipping", tmp_path)
    row.get_by_role("link").last.click()
    unit = page.get_by_label("选择设备（序列号）")
    expect(unit).to_have_value(held[0])
    assert serious_violations(page) == []
    page.get_by_label("或扫码 / 输入序列号").fill("NO-SUCH-UNIT")  # a scan wins over the list
    page.get_by_label("承运商").fill("顺丰速运")
    page.get_by_label("运单号").fill("SF2026013101")
    page.get_by_role("button", name="确认发货").click()
    expect(page.locator("#unit-error")).to_have_text("NO-SUCH-UNIT is not a unit of this SKU")  # the server's own words
    page.get_by_label("或扫码 / 输入序列号").fill("")
    page.get_by_label("选择设备（序列号）").select_option(pick)
    page.get_by_role("button", name="确认发货").click()
    expect(page.locator(".flash")).to_have_text("已发货，订单已移出待发货队列。")
    expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_count(0)
    shipped = api.order(who, order_id)
    assert (shipped["status"], shipped["unit_serial"], shipped["tracking_no"]) == ("shipped", pick, "SF2026013101")
    page.goto(f"{console.admin}/stock/skus/{sku_id}")
    leased = page.locator(f'tr[data-serial="{pick}"]')
    expect(leased.locator('[data-col="state"]')).to_have_attribute("data-state", "leased")
    expect(leased.get_by_role("link")).to_have_attribute("href", f"/admin/orders/{order_id}")

    # The customer receives it and sends it back; the warehouse records it back.
    assert api.post(f"/v1/orders/{order_id}/receipt", who=who)["status"] == "leasing"
    back = {"choice": "return", "tracking_no": "SF-BACK-0204"}
    assert api.post(f"/v1/orders/{order_id}/end-of-term", who=who, json=back)["status"] == "returning"
    page.goto(f"{console.admin}/shipping?queue=returning")
    row = page.locator(f'tr[data-order="{order_id}"]')
    expect(row).to_contain_text("SF-BACK-0204")
    row.get_by_role("button").click()
    expect(page.locator(".flash")).to_have_text("已确认收到设备，订单进入待检测。")
    expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_count(0)
    expect(page.locator('[data-queue="inspect"] .count')).to_have_text("1")

    # Inspect: a text file named .png is refused by its content, next to the field.
    page.goto(f"{console.admin}/shipping?queue=inspect")
    page.locator(f'tr[data-order="{order_id}"]').get_by_role("link").last.click()
    page.get_by_label("损坏费（元）").fill(str(DAMAGE))
    page.get_by_label("检测备注").fill("后盖玻璃碎裂")
    fake = FilePayload(name="crack.png", mimeType="image/png", buffer=b"this is only text, not a picture")
    page.get_by_label("检测照片").set_input_files([fake])
    page.get_by_role("button", name="计算结算金额").click()
    expect(page.locator("#photos-error")).to_contain_text("「crack.png」不是 PNG、JPEG 或 WebP 图片")
    expect(page.get_by_label("检测照片")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("损坏费（元）")).to_have_value(str(DAMAGE))

    # … a real photo gives the settlement preview: protection caps the damage, the deposit pays it, the rest goes back.
    photo = FilePayload(name="back.png", mimeType="image/png", buffer=png())
    page.get_by_label("检测照片").set_input_files([photo])
    page.get_by_role("button", name="计算结算金额").click()
    preview = page.locator('[data-testid="preview"]')
    expected = {
        "damage_fee": DAMAGE,
        "excess": EXCESS,
        "liability": EXCESS,
        "deposit_held": deposit,
        "deducted": EXCESS,
        "deposit_refunded": deposit - EXCESS,
    }
    for key, amount in expected.items():
        expect(preview.locator(f'[data-figure="{key}"]')).to_have_text(money(amount))
    expect(preview.locator('[data-figure="balance"]')).to_have_count(0)
    expect(preview).to_contain_text("已上传 1 张照片")
    expect(preview.locator("img")).to_have_js_property("naturalWidth", 2)
    screenshot(page, "inspect", tmp_path)
    assert serious_violations(page) == []
    assert api.order(who, order_id)["status"] == "inspecting"  # a preview changes nothing
    preview.get_by_role("button", name="确认检测并结算").click()
    expect(page.locator(".flash")).to_have_text("检测已确认，订单已结算或等待补缴。")
    expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_count(0)

    # The order page shows the same figures as the preview; the photo is kept with the order.
    page.goto(f"{console.admin}/orders/{order_id}")
    expect(page.locator('[data-testid="status"]')).to_have_text("已完成")
    settlement = _facts(page, '[data-testid="settlement"]')
    assert settlement["损坏费"] == money(DAMAGE)
    assert settlement["客户应赔"] == money(EXCESS)
    assert settlement["押金抵扣损坏"] == money(EXCESS)
    assert settlement["退还押金"] == money(deposit - EXCESS)
    expect(page.locator('[data-testid="timeline"]')).to_contain_text("后盖玻璃碎裂（检测照片 1 张）")
    expect(page.locator('[data-testid="photos"] img')).to_have_count(1)
    page.goto(f"{console.admin}/shipping/{order_id}")
    photos = page.locator('[data-testid="photos"] img')
    expect(photos).to_have_count(1)
    answer = page.request.get(console.base + str(photos.get_attribute("src")))
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.body() == png()

    # Retire a free unit, for a reason (the confirmation is accepted); the server insists on the reason.
    page.goto(f"{console.admin}/stock/skus/{sku_id}")
    retired_before = int(page.locator('[data-count="retired"] strong').inner_text())
    page.get_by_label("设备", exact=True).select_option(spare)
    page.get_by_label("停用原因（必填）").evaluate("field => field.removeAttribute('required')")
    page.get_by_role("button", name="停用").click()
    expect(page.locator("#reason-error")).to_have_text("请填写停用原因")
    expect(page.locator(f'tr[data-serial="{spare}"] [data-col="state"]')).to_have_attribute("data-state", "available")
    page.get_by_label("停用原因（必填）").fill("屏幕老化，不再出租")
    page.get_by_role("button", name="停用").click()
    expect(page.locator(".flash")).to_have_text("设备已停用。")
    row = page.locator(f'tr[data-serial="{spare}"]')
    expect(row.locator('[data-col="state"]')).to_have_attribute("data-state", "retired")
    expect(row).to_contain_text("屏幕老化，不再出租")
    expect(page.locator('[data-count="retired"] strong')).to_have_text(str(retired_before + 1))

    # A category and a SKU priced for every term of its product (a missing deposit is refused next to its field).
    page.goto(f"{console.admin}/stock")
    page.get_by_text("新增品类", exact=True).first.click()
    page.get_by_label("品类名称").fill("游戏机")
    page.get_by_label("上级品类").select_option(label="Digital")
    page.get_by_role("button", name="新增品类").click()
    expect(page.locator(".flash")).to_have_text("已新增品类。")
    expect(page.locator('[data-testid="categories"]')).to_contain_text("游戏机")
    page.get_by_role("link", name="新增 SKU · Phone X Pro").click()
    page.get_by_label("规格（每行一项，如 颜色: 黑色）").fill("colour: blue\nstorage：1T")
    page.get_by_label("市场价（元）").fill("12999")
    prices = {"6 期月租（元）": "559", "6 期到期买断价（元）": "8200", "12 期月租（元）": "459"}
    prices |= {"12 期到期买断价（元）": "5500", "续租月租（元）": "399", "短租日租（元）": "69"}
    for label, value in prices.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="新增 SKU").click()
    expect(page.locator("#deposit-error")).to_have_text("请填写金额，最多两位小数")
    expect(page.get_by_label("12 期月租（元）")).to_have_value("459")
    assert serious_violations(page) == []
    page.get_by_label("押金（元）").fill("8000.00")
    page.get_by_role("button", name="新增 SKU").click()
    expect(page.locator(".flash")).to_have_text("已新增 SKU，请入库设备。")
    expect(page.locator("h1")).to_have_text("Phone X Pro · blue / 1T")
    expect(page.locator('[data-count="available"] strong')).to_have_text("0")
    page.goto(f"{console.admin}/stock")
    new_row = page.locator("tr[data-sku]", has_text="blue / 1T")
    expect(new_row).to_contain_text("12 期：¥459.00 / ¥5,500.00")
    expect(new_row.locator("td").nth(2)).to_have_text("¥8,000.00")

    # In English, and usable at 1024 wide: nothing wider than the window.
    page.set_viewport_size({"width": 1024, "height": 800})
    for path in ("/shipping?queue=inspect", f"/shipping/{order_id}", "/stock", f"/stock/skus/{sku_id}"):
        page.goto(f"{console.admin}{path}&lang=en" if "?" in path else f"{console.admin}{path}?lang=en")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, path
    expect(page.locator("h1")).to_have_text("Phone X Pro · black / 256G")
    expect(page.locator(f'tr[data-serial="{spare}"] [data-col="state"]')).to_have_text("Retired")

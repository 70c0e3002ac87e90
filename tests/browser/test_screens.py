"""The dashboard, the order list and the order page in Chromium, each role through its day: the figures on the
screen are the API's figures, every order row shows its customer, the order page tells the order's story, a risk
reviewer rejects one order (with a reason) and approves another, and no page has a serious accessibility problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from api.web.admin import SCREENS
from api.web.formatting import money
from leasecore.staff import Role
from tests.browser.support import (
    Console,
    count,
    customer,
    figure,
    log_in,
    new_context,
    order,
    screenshot,
    serious_violations,
)
from tests.e2e.support import Customer
from tests.support import START

pytestmark = pytest.mark.slow

XSS = "<script>alert(1)</script>"
WORK = {"pending_review", "pending_contract", "pending_shipment", "shipped", "returning", "inspecting"}
WORK |= {"pending_settlement"}


@dataclass
class World:
    """Three customers over three days: Han's order to ship and lease, Li's two under review, and an unpaid order of
    a customer whose name is markup."""

    han: Customer
    li: Customer
    mallory: Customer
    to_ship: str
    leasing: str
    to_review: list[str]
    unpaid: str


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    api, skus = console.api, console.skus
    han = customer(api, "韩梅梅")
    to_ship = order(api, han, skus["phone-x/256-black"], signed=True)
    api.move_clock(START + timedelta(days=1))
    leasing = api.leasing(han, api.order_body(skus["earphones-pro/usb-c"]))["id"]
    api.move_clock(START + timedelta(days=2))
    li = customer(api, "李雷", score=550)
    to_review = [
        order(api, li, skus[sku], deposit_mode="full", plan={"kind": "long", "months": 6})
        for sku in ("tablet-11/128-blue", "watch-10/46-black")
    ]
    mallory = customer(api, XSS)
    unpaid = order(api, mallory, skus["earphones-pro/usb-c"], paid=False)
    return World(han, li, mallory, to_ship, leasing, to_review, unpaid)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    opened = context.new_page()
    opened.on("dialog", _no_alerts)
    yield opened
    context.close()


def _no_alerts(dialog: Dialog) -> None:
    if dialog.type == "alert":
        raise AssertionError(f"a page ran script: alert({dialog.message})")
    dialog.accept()


def total(console: Console, status: str | None = None) -> int:
    """How many orders `GET /v1/admin/orders` has (of that status)."""
    params = {"limit": 1, **({"status": status} if status else {})}
    response = console.api.http.get("/v1/admin/orders", params=params, headers=console.api.staff(Role.ADMIN))
    return int(response.headers["X-Total-Count"])


def test_the_dashboard_shows_the_days_work_and_money_as_the_api_counts_it(
    console: Console, world: World, page: Page, tmp_path: Path
) -> None:
    log_in(page, console, "admin")
    assert page.get_by_test_id("username").inner_text() == "admin"
    assert count(figure(page, "pending_shipment")) == total(console, "pending_shipment") == 1
    assert count(figure(page, "pending_review")) == total(console, "pending_review") == 2
    assert count(figure(page, "shipped")) == 0

    admin = console.api.staff(Role.ADMIN)
    report = console.api.get("/v1/admin/reports/finance", who=admin)
    assert Decimal(report["totals"]["rent"]) > 0
    assert page.locator('[data-figure="rent-total"]').inner_text() == money(Decimal(report["totals"]["rent"]))
    assert figure(page, "deposits-held") == money(Decimal(report["totals"]["deposits_held"]))
    lines = console.api.get("/v1/admin/credit-lines", who=admin)
    assert figure(page, "quota-in-use") == money(sum((Decimal(line["reserved"]) for line in lines), Decimal(0)))
    assert figure(page, "units-leased") == "1"
    assert page.locator("svg.bars rect.bar").count() == 30
    assert figure(page, "deposits-held").startswith("¥")
    screenshot(page, "dashboard", tmp_path)

    page.locator('[data-figure="pending_shipment"]').click()
    page.wait_for_url("**/admin/orders?status=pending_shipment")
    expect(page.locator('[data-tab="pending_shipment"]')).to_have_attribute("aria-current", "page")
    row = page.locator(f'tr[data-order="{world.to_ship}"]')
    expect(row.locator('[data-col="customer"]')).to_have_text("韩梅梅")
    expect(row.locator('[data-col="phone"]')).to_have_text(world.han.phone)
    assert page.locator("tbody tr").count() == 1


def test_every_order_row_shows_its_customer_and_search_finds_orders_by_phone_name_and_id(
    console: Console, world: World, page: Page, tmp_path: Path
) -> None:
    log_in(page, console, "operator")
    page.get_by_role("link", name="订单").first.click()
    page.wait_for_url("**/admin/orders")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(total(console))
    for who, order_id in ((world.han, world.to_ship), (world.li, world.to_review[0]), (world.mallory, world.unpaid)):
        expect(page.locator(f'tr[data-order="{order_id}"] [data-col="phone"]')).to_have_text(who.phone)
    expect(page.locator('[data-tab="pending_review"] .count')).to_have_text("2")
    screenshot(page, "orders", tmp_path)

    page.get_by_label("搜索订单").fill(world.li.phone)
    page.get_by_label("搜索订单").press("Enter")
    expect(page.locator(".context")).to_contain_text("客户 李雷 的订单")
    expect(page.locator("tbody tr")).to_have_count(2)

    page.get_by_label("搜索订单").fill("梅梅")
    page.get_by_label("搜索订单").press("Enter")
    expect(page.locator(".context")).to_contain_text("韩梅梅")
    expect(page.locator("tbody tr")).to_have_count(2)

    page.get_by_label("搜索订单").fill(world.leasing)
    page.get_by_label("搜索订单").press("Enter")
    page.wait_for_url(f"**/admin/orders/{world.leasing}")
    expect(page.get_by_test_id("status")).to_have_text("租用中")


def test_staff_find_orders_by_serial_and_tracking_number_and_narrow_and_sort_the_list(
    console: Console, world: World, page: Page
) -> None:
    admin = console.api.staff(Role.ADMIN)
    leasing = console.api.get(f"/v1/admin/orders/{world.leasing}", who=admin)
    log_in(page, console, "operator")
    page.goto(f"{console.admin}/orders")
    search = page.get_by_label("搜索订单")
    search.fill(leasing["unit_serial"])
    search.press("Enter")
    expect(page.locator("[data-found-by]")).to_contain_text(leasing["unit_serial"])
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-order="{world.leasing}"] [data-col="customer"]')).to_have_text("韩梅梅")
    search.fill(leasing["tracking_no"])
    search.press("Enter")
    expect(page.locator("[data-found-by]")).to_contain_text(leasing["tracking_no"])
    expect(page.locator("tbody tr")).to_have_count(1)

    page.goto(f"{console.admin}/orders")
    page.get_by_label("排序").select_option("oldest")
    page.get_by_role("button", name="应用").click()
    expect(page.locator("tbody tr").first).to_have_attribute("data-order", world.to_ship)
    expect(page.locator(".summary")).to_contain_text("下单时间从旧到新")
    page.get_by_label("渠道").select_option("h5")
    page.get_by_role("button", name="应用").click()
    expect(page.locator(".empty")).to_be_visible()
    page.get_by_label("渠道").select_option("")
    page.get_by_label("下单日期从").fill((START + timedelta(days=2)).date().isoformat())
    page.get_by_role("button", name="应用").click()
    expect(page.locator("tbody tr")).to_have_count(3)  # Li's two and Mallory's, placed on the third day
    page.goto(f"{console.admin}/orders?from=31-01-2026")
    expect(page.get_by_role("alert")).to_have_text("日期格式应为 YYYY-MM-DD")


def test_the_order_page_tells_the_orders_story_with_its_installments_and_payments(
    console: Console, world: World, page: Page, tmp_path: Path
) -> None:
    log_in(page, console, "finance")
    page.goto(f"{console.admin}/orders/{world.leasing}")
    expect(page.get_by_test_id("customer")).to_have_text(f"韩梅梅 · {world.han.phone}")
    timeline = page.get_by_test_id("timeline").locator("li .event")
    assert timeline.all_inner_texts()[:7] == [
        "客户下单",
        "首期款已支付",
        "审核通过",
        "发起签署",
        "合同已签署",
        "已发货",
        "客户确认收货，租期开始",
    ]
    approved = page.get_by_test_id("timeline").locator("li").nth(2)  # automated review's words, in Chinese
    expect(approved).to_contain_text("审核人：系统自动审核")
    expect(approved).to_contain_text("理由：实名已认证，信用分达标，无逾期")
    answer = console.api.get(f"/v1/admin/orders/{world.leasing}", who=console.api.staff(Role.FINANCE))
    assert answer["review_reasons"] == ["identity verified, score meets the minimum, nothing overdue"]
    assert answer["contract_document_id"] and len(answer["contract_sha256"]) == 64
    expect(page.get_by_text(answer["contract_document_id"], exact=True)).to_be_visible()
    expect(page.get_by_text(answer["contract_sha256"], exact=True)).to_be_visible()
    installments = page.locator("table.installments tbody tr")
    expect(installments).to_have_count(len(answer["installments"]))
    first = answer["installments"][0]
    expect(installments.first.locator("td").nth(2)).to_have_text(money(Decimal(first["amount"])))
    expect(page.locator('[data-figure="due_now"]')).to_have_text(money(Decimal(answer["due_now"])))
    payments = console.api.get(f"/v1/orders/{world.leasing}/payments", who=world.han)
    expect(page.get_by_role("region", name="支付记录").locator("tbody tr")).to_have_count(len(payments))
    expect(page.get_by_text("尚未结清")).to_be_visible()
    screenshot(page, "order", tmp_path)


def test_a_risk_reviewer_rejects_one_order_with_a_reason_and_approves_another(
    console: Console, world: World, page: Page
) -> None:
    rejected, approved = world.to_review
    log_in(page, console, "risk")
    page.goto(f"{console.admin}/orders/{rejected}")
    expect(page.get_by_test_id("status")).to_have_text("待审核")
    page.get_by_role("button", name="拒绝").click()
    expect(page.locator("#reject-error")).to_have_text("拒绝必须填写理由")
    expect(page.get_by_label("理由", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_label("理由", exact=True).fill("收入证明与身份信息不符")
    page.get_by_role("button", name="拒绝").click()
    page.wait_for_url(f"**/admin/orders/{rejected}?done=rejected")
    expect(page.get_by_test_id("status")).to_have_text("已拒绝")
    expect(page.locator(".flash")).to_contain_text("已拒绝")
    expect(page.get_by_test_id("timeline")).to_contain_text("收入证明与身份信息不符")

    page.goto(f"{console.admin}/orders/{approved}")
    page.get_by_role("button", name="审核通过").click()
    page.wait_for_url(f"**/admin/orders/{approved}?done=approved")
    expect(page.get_by_test_id("status")).to_have_text("待签约")
    expect(page.get_by_test_id("timeline")).to_contain_text("审核人：risk")

    admin = console.api.staff(Role.ADMIN)
    assert console.api.get(f"/v1/admin/orders/{rejected}", who=admin)["status"] == "rejected"
    assert console.api.get(f"/v1/admin/orders/{approved}", who=admin)["status"] == "pending_contract"
    page.goto(f"{console.admin}/")
    assert count(figure(page, "pending_review")) == 0


def test_each_role_sees_the_figures_and_actions_the_api_lets_it_see(
    console: Console, world: World, browser: Browser
) -> None:
    shown = {}
    for role in ("admin", "operator", "risk", "finance"):
        context = new_context(browser)
        page = context.new_page()
        log_in(page, console, role)
        figures = page.locator("[data-figure]").evaluate_all("nodes => nodes.map(node => node.dataset.figure)")
        nav = page.locator("[data-nav]").evaluate_all("nodes => nodes.map(node => node.dataset.nav)")
        shown[role] = ({name for name in figures if name not in WORK}, nav)
        context.close()
    assert shown["finance"][0] >= {"deposits-held", "rent-total", "quota-in-use", "overdue-1"}
    assert "units-leased" not in shown["finance"][0]
    assert shown["risk"][0] == {"quota-in-use", "quota", "quota-available"}
    assert shown["operator"][0] >= {"units-leased", "overdue-1"}
    assert not shown["operator"][0] & {"deposits-held", "rent-total", "quota-in-use"}
    for role, (_, nav) in shown.items():
        assert nav == [screen.key for screen in SCREENS if Role(role) in screen.access.roles]


def test_a_customer_named_with_markup_shows_as_text(console: Console, world: World, page: Page) -> None:
    log_in(page, console, "admin")
    page.goto(f"{console.admin}/orders?status=pending_payment")
    cell = page.locator(f'tr[data-order="{world.unpaid}"] [data-col="customer"]')
    expect(cell).to_have_text(XSS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    page.goto(f"{console.admin}/orders/{world.unpaid}")
    expect(page.get_by_test_id("customer")).to_contain_text(XSS)
    assert page.locator("script:not([src])").count() == 0


def test_the_main_screens_have_no_serious_accessibility_problem(
    console: Console, world: World, browser: Browser
) -> None:
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    log_in(page, console, "admin")
    problems = {}
    for path in ("/", "/orders", f"/orders/{world.leasing}", f"/orders/{world.to_review[0]}"):
        page.goto(f"{console.admin}{path}")
        problems[path] = serious_violations(page)
    context.close()
    assert problems == {path: [] for path in problems}

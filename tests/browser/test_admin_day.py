"""An admin's day in Chromium: the waiver policy edited (the platform's refusal next to its field, then a new version in
the history and the diff, and in force for the next quote), a customer found by phone with the API's credit figures,
an order audited and replayed at version 1, a risk account created that then sees only risk's screens; an operator
sees neither the configuration nor the staff; no serious accessibility problem on the admin's screens."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.web.admin import SCREENS
from api.web.formatting import money
from api.web.i18n import translate
from leasecore.staff import Role
from tests.browser.support import (
    Console,
    customer,
    log_in,
    new_context,
    order,
    screenshot,
    serious_violations,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    yield context.new_page()
    context.close()


def nav(page: Page) -> set[str]:
    return {key for key in page.locator("nav.side [data-nav]").evaluate_all("els => els.map(e => e.dataset.nav)")}


def quote(console: Console, who: Any) -> dict[str, Any]:
    body = {key: value for key, value in console.api.order_body(console.skus["phone-x/256-black"]).items()}
    body.pop("address")
    answer: dict[str, Any] = console.api.post("/v1/quotes", who=who, json=body)
    return answer


def test_an_admin_edits_the_waiver_policy_finds_a_customer_audits_an_order_and_adds_a_risk_reviewer(
    console: Console, browser: Browser, page: Page, tmp_path: Path
) -> None:
    api = console.api
    han = customer(api, "韩梅梅", score=680)
    placed = order(api, han, console.skus["earphones-pro/usb-c"])
    assert Decimal(quote(console, han)["waiver"]) > 0
    admin = api.staff(Role.ADMIN)
    before = api.get("/v1/admin/config/waiver-policy", who=admin)
    version = before["version"]

    log_in(page, console, "admin")
    scanner = new_context(browser, bypass_csp=True).new_page()
    log_in(scanner, console, "admin")
    page.locator('nav.side [data-nav="config"]').click()
    page.get_by_role("link", name="免押政策").click()
    expect(page.get_by_test_id("version")).to_have_text(f"当前版本 {version}")
    field = page.get_by_label("最低免押分数")
    expect(field).to_have_value(str(before["document"]["min_score"]))

    field.fill("2000")
    page.get_by_label("分数段与免押金额 第 1 行 免押金额").fill("-5")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.locator('[data-error="min_score"]')).to_have_text("must lie in the score range 350–950")
    expect(page.get_by_label("最低免押分数")).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-error="bands[0].waiver"]')).to_have_text("must be ≥ 0")
    page.get_by_label("分数段与免押金额 第 1 行 免押金额").fill("1500.00")
    assert api.get("/v1/admin/config/waiver-policy", who=admin)["version"] == version

    page.get_by_label("最低免押分数").fill("700")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.locator(".flash")).to_have_text("已保存为新版本")
    expect(page.get_by_test_id("version")).to_have_text(f"当前版本 {version + 1}")
    newest = page.locator(f'[data-testid="history"] tr[data-version="{version + 1}"]')
    expect(newest).to_contain_text("admin")
    diff = page.get_by_test_id("diff")
    expect(diff.locator("caption")).to_have_text(f"版本 {version} → 版本 {version + 1}")
    expect(diff.locator('tr[data-change="removed"]')).to_have_count(1)
    expect(diff.locator('tr[data-change="removed"]')).to_contain_text('"min_score": 600')
    expect(diff.locator('tr[data-change="removed"]')).to_contain_text("删除")
    expect(diff.locator('tr[data-change="added"]')).to_contain_text('"min_score": 700')
    expect(diff.locator('tr[data-change="added"]')).to_contain_text("新增")
    assert serious_violations_at(scanner, page.url) == []
    screenshot(page, "configuration", tmp_path)

    after = quote(console, han)
    assert Decimal(after["waiver"]) == 0, after
    assert api.get("/v1/admin/config/waiver-policy", who=admin)["document"]["min_score"] == 700

    page.locator('nav.side [data-nav="customers"]').click()
    page.get_by_label("搜索客户").fill(han.phone)
    page.get_by_label("搜索客户").press("Enter")
    rows = page.locator("table.customers tbody tr")
    expect(rows).to_have_count(1)
    assert serious_violations_at(scanner, page.url) == []
    rows.get_by_role("link", name="韩梅梅").click()
    answer = api.get(f"/v1/admin/customers/{han.customer_id}", who=admin)
    line = answer["credit_line"]
    for key in ("quota", "reserved", "available"):
        expect(page.locator(f'[data-figure="{key}"]')).to_have_text(money(Decimal(line[key])))
    assert Decimal(line["reserved"]) > 0
    expect(page.locator('[data-figure="score"]')).to_have_text(str(answer["score"]))
    expect(page.locator('[data-figure="level"]')).to_have_text(line["level"] or "—")
    expect(page.get_by_test_id("id_number")).to_have_text(han.id_number[:6] + "********" + han.id_number[-4:])
    status = next(item["status"] for item in answer["orders"] if item["id"] == placed)
    expect(page.locator(f'tr[data-order="{placed}"]')).to_contain_text(translate("zh", f"status.{status}"))
    expect(page.get_by_test_id("conversations")).to_be_visible()
    assert serious_violations_at(scanner, page.url) == []
    screenshot(page, "customer", tmp_path)

    page.locator('nav.side [data-nav="audit"]').click()
    page.get_by_label("编号").fill(placed)
    page.get_by_role("button", name="查看").click()
    events = page.get_by_test_id("events")
    replayed = api.get(f"/v1/admin/audit/{placed}", who=admin)
    expect(events.locator("tbody tr")).to_have_count(len(replayed["events"]))
    expect(events.locator('tr[data-version="1"]')).to_contain_text("客户下单")
    expect(events.locator('tr[data-version="2"]')).to_contain_text("首期款已支付")
    kinds = {item["kind"] for item in replayed["related"]}
    assert {"deposit", "credit_line", "customer", "payment"} <= kinds
    for kind in kinds:
        expect(page.locator(f'[data-testid="related"] [data-kind="{kind}"]').first).to_be_visible()
    assert serious_violations_at(scanner, page.url) == []
    screenshot(page, "audit", tmp_path)
    events.locator('tr[data-version="1"] a').click()
    expect(page.get_by_test_id("as-of")).to_contain_text("版本 1")
    expect(page.locator('[data-testid="state"] tr[data-field="status"] td')).to_have_text("pending_payment")
    expect(events.locator("tbody tr")).to_have_count(1)

    page.locator('nav.side [data-nav="staff"]').click()
    assert serious_violations_at(scanner, page.url) == []
    page.get_by_label("用户名").fill("li.risk")
    page.get_by_label("初始密码").fill("short")
    page.get_by_role("group", name="角色", exact=True).get_by_label("风控").check()
    page.get_by_role("button", name="创建账号").click()
    expect(page.locator('[data-error="password"]')).to_contain_text("at least 8 characters")
    page.get_by_label("初始密码").fill("risk-reviewer-1")
    page.get_by_role("button", name="创建账号").click()
    expect(page.locator(".flash")).to_have_text("账号已创建")
    expect(page.locator('tr[data-account="li.risk"] [data-col="roles"]')).to_have_text("风控")

    reviewer = new_context(browser).new_page()
    log_in(reviewer, console, "li.risk", "risk-reviewer-1")
    assert nav(reviewer) == {screen.key for screen in SCREENS if Role.RISK in screen.access.roles}
    assert {"config", "customers"} <= nav(reviewer)
    assert not {"staff", "audit"} & nav(reviewer)
    for path in ("/staff", "/audit"):
        response = reviewer.goto(f"{console.admin}{path}")
        assert response is not None and response.status == 403
    reviewer.goto(f"{console.admin}/config/waiver-policy")
    expect(reviewer.get_by_label("最低免押分数")).to_have_value("700")
    expect(reviewer.get_by_role("button", name="保存为新版本")).to_have_count(0)
    reviewer.context.close()

    account = page.locator('tr[data-account="li.risk"]')
    account.get_by_label("财务").check()
    account.get_by_role("button", name="保存角色").click()
    expect(page.locator(".flash")).to_have_text("角色已更新")
    expect(page.locator('tr[data-account="li.risk"] [data-col="roles"]')).to_have_text("风控、财务")
    mine = page.locator('tr[data-account="admin"]')
    mine.get_by_label("管理员").uncheck()
    mine.get_by_label("运营").check()
    mine.get_by_role("button", name="保存角色").click()
    expect(page.locator('tr[data-account="admin"] .error')).to_have_text("不能取消自己的管理员角色")
    expect(page.locator('tr[data-account="admin"] [data-col="roles"]')).to_have_text("管理员")
    scanner.context.close()


def test_an_operator_sees_neither_the_configuration_nor_the_staff(console: Console, page: Page) -> None:
    log_in(page, console, "operator")
    assert not {"config", "staff", "audit"} & nav(page)
    assert "customers" in nav(page)
    for path in ("/config", "/config/billing", "/staff"):
        response = page.goto(f"{console.admin}{path}")
        assert response is not None and response.status == 403
        expect(page.locator("h1")).to_have_text("无权访问")
    posted = page.request.post(f"{console.admin}/config/billing", form={"csrf": "x", "grace_days": "9"})
    assert posted.status == 403


def serious_violations_at(scanner: Page, url: str) -> list[str]:
    """axe's serious findings on the page at `url`, opened by the admin's scanner (a context that lets axe in)."""
    scanner.goto(url)
    return serious_violations(scanner)

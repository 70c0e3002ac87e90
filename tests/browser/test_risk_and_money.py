"""The review workbench, overdue and collections, and finance in Chromium. A risk reviewer works the queue: rejects an
order with a reason (the order page shows it), approves one from the keyboard, approves two more at once after a page
that confirms them (a third, rejected meanwhile, is reported, not approved), and the count on screen drops each time.
Finance finds an overdue order in its bucket with the API's figures, waives its late fee with a reason (the order
page shows the fee gone), downloads the overdue list whose rows are the screen's, and sends a failed refund again
until it is refunded. An operator records a call's outcome (a promise to pay with its day) and sends a reminder (once)
but can neither waive nor open finance; a reviewer sees neither. No screen has a serious accessibility problem."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from adapters.errors import ProviderError
from adapters.payments.sandbox import SandboxPayments
from api.web.formatting import money
from leasecore.ports import RefundReceipt
from leasecore.staff import Role
from tests.browser.support import Console, customer, log_in, new_context, order, screenshot, serious_violations
from tests.e2e.support import Customer
from tests.support import START, local

pytestmark = pytest.mark.slow

REASON = "收入证明与身份信息不符"
WAIVED = "客户首次逾期，已电话确认，减免一次"


@dataclass
class World:
    """Five orders of two customers under the waiver policy's minimum score waiting for review (oldest first), a
    lease whose second installment is overdue with a late fee, and a paid order its customer will cancel."""

    to_review: list[str]
    wang: Customer
    overdue: str
    zhao: Customer
    to_cancel: str


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    api, skus = console.api, console.skus
    zhao = customer(api, "赵敏")
    overdue = api.leasing(zhao, api.order_body(skus["earphones-pro/usb-c"]))["id"]
    wang, chen = customer(api, "王芳", score=550), customer(api, "陈刚", score=560)
    to_review = []
    chosen = (
        (wang, "tablet-11/128-blue"),
        (chen, "watch-10/46-black"),
        (wang, "earphones-pro/usb-c"),
        (chen, "earphones-pro/usb-c"),
        (wang, "watch-10/46-black"),
    )
    for minute, (who, sku) in enumerate(chosen, start=1):
        api.post("/v1/sandbox/clock", json={"now": (START + timedelta(minutes=minute)).isoformat()})
        to_review.append(order(api, who, skus[sku], deposit_mode="full", plan={"kind": "long", "months": 6}))
    to_cancel = order(api, zhao, skus["watch-10/46-black"])
    api.move_clock(local(2026, 3, 20))
    assert overdue in api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})["assessed"]
    return World(to_review, wang, overdue, zhao, to_cancel)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, bypass_csp=True)
    opened = context.new_page()
    opened.on("dialog", _accept)
    yield opened
    context.close()


def _accept(dialog: Dialog) -> None:
    if dialog.type == "alert":
        raise AssertionError(f"a page ran script: alert({dialog.message})")
    dialog.accept()


def no_script(browser: Browser, console: Console) -> Page:
    """A second reviewer's browser, with JavaScript off."""
    opened = new_context(browser, javascript=False).new_page()
    log_in(opened, console, "risk")
    return opened


def status(console: Console, order_id: str) -> str:
    answer = console.api.get(f"/v1/admin/orders/{order_id}", who=console.api.staff(Role.RISK))
    found: str = answer["status"]
    return found


def test_a_reviewer_rejects_approves_from_the_keyboard_and_approves_in_bulk(
    console: Console, world: World, browser: Browser, page: Page, tmp_path: Path
) -> None:
    rejected, by_key, bulk_one, bulk_two, changed = world.to_review
    queue = console.api.get("/v1/admin/reviews", who=console.api.staff(Role.RISK))
    assert [item["order_id"] for item in queue] == world.to_review
    log_in(page, console, "risk")
    page.get_by_role("link", name="审核").first.click()
    page.wait_for_url("**/admin/review")
    count = page.get_by_test_id("queue-count")
    expect(count).to_have_text("5")
    expect(page.locator("[data-queue-item]")).to_have_count(5)
    expect(page.get_by_text("快捷键：j / k 切换订单")).to_be_visible()

    first = page.locator(f'[data-order="{rejected}"]')
    expect(first.locator('[data-col="customer"]')).to_have_text(f"王芳 · {world.wang.phone}")
    expect(first.locator('[data-col="score"]')).to_contain_text("550")
    expect(first.locator('[data-col="identity"]')).to_have_text("已认证")
    assert queue[0]["reasons"] == ["score 550 is under the minimum 600"]  # the API's words; the page's Chinese
    assert first.locator('[data-col="reasons"] li').all_inner_texts() == ["信用分 550 低于最低分 600"]
    expect(first.locator('[data-col="deposit"]')).to_have_text(money(Decimal(queue[0]["deposit"])))
    expect(first.locator('[data-col="waiver"]')).to_have_text(money(Decimal(queue[0]["waiver"])))
    expect(first.locator('[data-col="history"]')).to_contain_text("共 2 笔")
    assert serious_violations(page) == []
    screenshot(page, "review", tmp_path)

    first.get_by_role("button", name="拒绝").click()
    expect(page.locator(f"#reject-error-{rejected}")).to_have_text("拒绝必须填写理由")
    expect(page.locator(f"#reject-{rejected}")).to_have_attribute("aria-invalid", "true")
    expect(count).to_have_text("5")
    page.locator(f"#reject-{rejected}").fill(REASON)
    page.locator(f'[data-order="{rejected}"]').get_by_role("button", name="拒绝").click()
    page.wait_for_url("**/admin/review?done=review_rejected")
    expect(count).to_have_text("4")
    assert status(console, rejected) == "rejected"
    page.goto(f"{console.admin}/orders/{rejected}")
    expect(page.get_by_test_id("status")).to_have_text("已拒绝")
    expect(page.locator("dl.facts").first).to_contain_text(REASON)

    page.goto(f"{console.admin}/review")
    expect(page.locator("[data-queue-item]").first).to_have_attribute("data-order", by_key)
    page.keyboard.press("r")
    expect(page.locator(f"#reject-{by_key}")).to_be_focused()
    page.keyboard.type("ja")
    expect(page.locator(f"#reject-{by_key}")).to_have_value("ja")
    expect(count).to_have_text("4")
    page.locator(f"#reject-{by_key}").fill("")
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator(f'[data-order="{bulk_one}"]')).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(f'[data-order="{by_key}"]')).to_be_focused()
    page.keyboard.press("a")
    page.wait_for_url("**/admin/review?done=review_approved")
    expect(count).to_have_text("3")
    assert status(console, by_key) == "pending_contract"

    page = no_script(browser, console)
    page.goto(f"{console.admin}/review")
    count = page.get_by_test_id("queue-count")
    expect(count).to_have_text("3")
    for order_id in (bulk_one, bulk_two, changed):
        page.get_by_label(f"选择订单 {order_id[:8]}").check()
    page.get_by_role("button", name="批量通过所选订单").click()
    page.wait_for_url("**/admin/review/confirm?**")
    expect(page.get_by_test_id("chosen").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_text("将审核通过以下 3 笔订单")).to_be_visible()
    assert status(console, bulk_one) == "pending_review"
    console.api.post(
        f"/v1/admin/orders/{changed}/reject", who=console.api.staff(Role.RISK), json={"reason": "同一设备"}
    )
    page.get_by_role("button", name="确认通过 3 笔订单").click()
    page.wait_for_url("**/admin/review?approved=**")
    report = page.get_by_test_id("bulk-report")
    expect(report).to_contain_text("已审核通过 2 笔订单")
    expect(report).to_contain_text(f"订单 {changed[:8]}：现为已拒绝")
    expect(count).to_have_text("0")
    expect(page.get_by_text("审核队列已清空")).to_be_visible()
    page.context.close()
    assert [status(console, order_id) for order_id in (bulk_one, bulk_two, changed)] == [
        "pending_contract",
        "pending_contract",
        "rejected",
    ]


class Flaky:
    """The sandbox provider, down for the next refund asked of it."""

    def __init__(self, real: SandboxPayments) -> None:
        self.real, self.failures, self.provider = real, 1, real.provider

    def refund(self, payment_id: str, refund_id: str, amount: Decimal) -> RefundReceipt:
        if self.failures:
            self.failures -= 1
            raise ProviderError("the provider is down")
        return self.real.refund(payment_id, refund_id, amount)


def test_finance_waives_a_late_fee_exports_the_overdue_list_and_retries_a_refund(
    console: Console, world: World, page: Page, tmp_path: Path
) -> None:
    api, finance = console.api, console.api.staff(Role.FINANCE)
    ledger = api.get("/v1/admin/overdue", who=finance)
    mine = [row for row in ledger if row["order_id"] == world.overdue]
    assert [row["seq"] for row in mine] == [2]
    entry = mine[0]
    fee = Decimal(entry["late_fee"])
    assert fee > 0
    log_in(page, console, "finance")
    page.get_by_role("link", name="逾期与催收").click()
    page.wait_for_url("**/admin/collections")
    assert 15 <= entry["days_overdue"] <= 30
    bucket = page.locator('[data-figure="days-1"]')
    expect(bucket.locator(".figure")).to_have_text(f"{len({row['order_id'] for row in ledger})} 笔")
    tasks = api.get("/v1/admin/collections", who=finance)
    task = next(task for task in tasks if task["order_id"] == world.overdue)
    expect(page.locator('[data-amount="days-1"]')).to_have_text(
        f"欠款（含滞纳金） {money(Decimal(task['overdue_amount']))}"
    )
    expect(page.locator('[data-figure="days-31"] .figure')).to_have_text("0 笔")
    expect(page.locator('[data-figure="stage-call"] .figure')).to_have_text("1 笔")
    row = page.locator(f'[data-testid="overdue"] tr[data-order="{world.overdue}"]')
    expect(row.locator('[data-col="days_overdue"]')).to_have_text(str(entry["days_overdue"]))
    expect(row.locator('[data-col="amount"]')).to_have_text(money(Decimal(entry["amount"])))
    expect(row.locator('[data-col="late_fee"]')).to_have_text(money(fee))
    expect(row.locator('[data-col="stage"]')).to_have_text("电话催收")
    expect(row).to_contain_text("赵敏")
    in_tasks = page.locator(f'[data-testid="tasks"] tr[data-order="{world.overdue}"]')
    expect(in_tasks).to_contain_text(f"赵敏{world.zhao.phone}")
    expect(in_tasks).to_contain_text(money(Decimal(task["overdue_amount"])))
    assert serious_violations(page) == []
    screenshot(page, "collections", tmp_path)

    with page.expect_download() as download:
        page.locator('[data-export="overdue-csv"]').click()
    assert download.value.suggested_filename.startswith("overdue-") and download.value.suggested_filename.endswith(
        ".csv"
    )
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    on_screen = [
        {
            "order_id": line.get_attribute("data-order"),
            "seq": line.locator('[data-col="seq"]').inner_text(),
            "due_date": line.locator('[data-col="due_date"]').inner_text(),
            "days_overdue": line.locator('[data-col="days_overdue"]').inner_text(),
            "amount": line.locator('[data-col="amount"]').inner_text(),
            "late_fee": line.locator('[data-col="late_fee"]').inner_text(),
        }
        for line in page.locator('[data-testid="overdue"] tbody tr').all()
    ]
    assert [
        {
            **{name: row[name] for name in ("order_id", "seq", "due_date", "days_overdue")},
            "amount": money(Decimal(row["amount"])),
            "late_fee": money(Decimal(row["late_fee"])),
        }
        for row in rows
    ] == on_screen
    assert [(row["order_id"], int(row["seq"]), row["late_fee"]) for row in rows] == [
        (item["order_id"], item["seq"], item["late_fee"]) for item in ledger
    ]

    row.get_by_role("link", name="减免滞纳金").click()
    page.wait_for_url(f"**/admin/collections/{world.overdue}?seq=2")
    expect(page.get_by_label("减免金额（元）")).to_have_value(str(fee))
    page.get_by_role("button", name="减免滞纳金").click()
    expect(page.locator("#reason-error")).to_have_text("减免必须填写理由")
    page.get_by_label("减免理由").fill(WAIVED)
    page.get_by_role("button", name="减免滞纳金").click()
    page.wait_for_url(f"**/admin/orders/{world.overdue}?done=fee_waived")
    expect(page.locator(".flash")).to_have_text("滞纳金已减免")
    second = page.locator("table.installments tbody tr").nth(1)
    expect(second.locator("td").nth(6)).to_have_text(money(Decimal(0)))
    expect(second.locator("td").nth(7)).to_have_text(money(fee))
    expect(page.get_by_role("region", name="减免与补偿")).to_contain_text(WAIVED)
    answer = api.get(f"/v1/admin/orders/{world.overdue}", who=finance)
    assert (Decimal(answer["installments"][1]["late_fee"]), Decimal(answer["installments"][1]["fee_waived"])) == (
        Decimal(0),
        fee,
    )

    refunds = console.service.refunds
    real = refunds.gateways
    refunds.gateways = {"sandbox": Flaky(real["sandbox"])}  # type: ignore[dict-item, arg-type]
    try:
        api.post(f"/v1/orders/{world.to_cancel}/cancel", who=world.zhao)
        failed = [r for r in api.refunds(world.to_cancel) if r["state"] == "failed"]
        assert len(failed) == 1
        page.get_by_role("link", name="财务").click()
        page.wait_for_url("**/admin/finance")
        line = page.locator(f'tr[data-refund="{failed[0]["refund_id"]}"]')
        expect(line.locator('[data-col="state"]')).to_have_text("失败，将重试")
        expect(line).to_contain_text("the provider is down")
        page.get_by_label("开始日期").fill("2026-01-25")
        page.get_by_role("button", name="查看").click()
        page.wait_for_url("**/admin/finance?start=2026-01-25&end=2026-03-20")
        params = {"start": "2026-01-25", "end": "2026-03-20"}
        report = api.get("/v1/admin/reports/finance", who=finance, params=params)
        assert Decimal(report["rent_collected"]) > 0
        collected = money(Decimal(report["rent_collected"]))
        expect(page.locator('[data-figure="rent_collected"] .figure')).to_have_text(collected)
        expect(page.locator('[data-figure="chart-total"]')).to_have_text(collected)
        expect(page.locator('[data-figure="refunds"] .figure')).to_have_text(money(Decimal(report["refunds"])))
        expect(page.locator("svg.bars rect.bar")).to_have_count(55)
        expect(page.get_by_test_id("finance-days").locator("tbody tr")).to_have_count(len(report["days"]) + 1)
        expect(page.get_by_test_id("reconciliation")).to_contain_text("对账单")
        assert serious_violations(page) == []
        screenshot(page, "finance", tmp_path)

        line.get_by_role("button", name="重新发起退款").click()
        page.wait_for_url("**/admin/finance?done=refund_retried&start=2026-01-25&end=2026-03-20")
        expect(page.locator(".flash")).to_have_text("已重新发起退款")
        expect(line.locator('[data-col="state"]')).to_have_text("已退款")
        assert {r["state"] for r in api.refunds(world.to_cancel)} == {"accepted"}
    finally:
        refunds.gateways = real


def test_each_role_sees_only_the_risk_and_money_screens_it_may_use(console: Console, world: World, page: Page) -> None:
    log_in(page, console, "operator")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="逾期与催收")).to_be_visible()
    for hidden in ("审核", "财务"):
        expect(nav.get_by_role("link", name=hidden, exact=True)).to_have_count(0)
    page.goto(f"{console.admin}/collections")
    row = page.locator(f'[data-testid="overdue"] tr[data-order="{world.overdue}"]')
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name="减免滞纳金")).to_have_count(0)
    owed = row.locator('[data-col="amount"]').inner_text()
    row.get_by_role("link", name="记录通话结果").click()
    page.wait_for_url(f"**/admin/collections/{world.overdue}?seq=2")
    expect(page.get_by_role("button", name="减免滞纳金")).to_have_count(0)
    expect(page.get_by_text("还没有电话记录")).to_be_visible()
    page.get_by_label("通话结果", exact=True).select_option("promised")
    page.get_by_role("button", name="保存通话记录").click()
    expect(page.locator("#promised-error")).to_contain_text("promise to pay names the day")
    page.get_by_label("承诺还款日（仅承诺还款时填写）").fill("2026-03-25")
    page.get_by_label("通话备注（可选）").fill("发薪日后还款")
    page.get_by_role("button", name="保存通话记录").click()
    page.wait_for_url(f"**/admin/collections/{world.overdue}?done=call_recorded")
    expect(page.get_by_test_id("calls").locator("tbody tr")).to_have_text(
        [re.compile(r"承诺还款\s*2026-03-25\s*发薪日后还款\s*operator")]
    )
    page.get_by_role("button", name="发送提醒短信").click()
    page.wait_for_url(f"**/admin/collections/{world.overdue}?done=reminder_sent")
    manual = page.get_by_test_id("messages").locator('tr[data-kind="manual"]')
    expect(manual).to_contain_text("手动提醒")
    console.service.messages.dispatch()
    page.reload()
    expect(manual.locator('[data-col="state"]')).to_have_text("已发送")
    sms = console.api.get("/v1/sandbox/sms", params={"phone": world.zhao.phone})
    assert [m["text"] for m in sms if m["text"] in manual.inner_text()] != []
    page.get_by_role("button", name="发送提醒短信").click()
    expect(page.locator("#remind-error")).to_contain_text("already sent")
    assert serious_violations(page) == []
    audit = console.api.get(f"/v1/admin/audit/{world.overdue}", who=console.api.staff(Role.ADMIN))
    assert [e["fields"]["outcome"] for e in audit["events"] if e["type"].endswith("CallRecorded")] == ["promised"]
    page.goto(f"{console.admin}/collections")
    expect(row.locator('[data-col="amount"]')).to_have_text(owed)
    for path in ("/finance", "/review"):
        assert opened(page, f"{console.admin}{path}") == 403
    page.get_by_role("button", name="退出登录").click()

    log_in(page, console, "risk")
    for hidden in ("逾期与催收", "财务"):
        expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name=hidden)).to_have_count(0)
    for path in ("/collections", "/collections/overdue/export?format=csv", "/finance/refunds/export?format=csv"):
        assert opened(page, f"{console.admin}{path}") == 403
    expect(page.get_by_test_id("problem")).to_contain_text("财务")


def opened(page: Page, url: str) -> int:
    """The status the page at `url` answered with."""
    response = page.goto(url)
    assert response is not None
    return response.status

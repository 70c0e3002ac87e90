"""The customer's account and money on a phone: real-name verification with photos from the camera or the album (a
photo too big or not a picture is named next to its field), the credit line the API answers and why no deposit would
be waived, the bills as of today with the late fee the API charges after the sandbox clock moves (before any daily
job), paying what is due, the buyout the API would charge, a return by tracking number, and the settlement after an
inspection with a damage fee, the deposit refunded as the API says."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect

import projections.customers
from adapters.identity.sandbox import SandboxIdentity
from api.web.formatting import money
from leasecore.staff import Role
from leasecore.values import add_months
from tests.browser.mobile import log_in_by_sms, m, phone_context, transferred
from tests.browser.support import Console, customer, screenshot, serious_violations, serving
from tests.e2e.support import Customer, new_phone

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"
DRONE = "drone-mini/fly-more"
WATCH = "watch-10/46-black"
PHONE_X_WHITE = "phone-x/512-white"
LATE = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
"""10:00 on 8 March in Shanghai: installment 2 (due 28 February) is 5 days past its 3 days' grace."""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("shop")) as running:
        yield running


def png(width: int = 2, height: int = 2) -> bytes:
    """A small, real PNG picture (an orange square)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x6a\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload(name: str, content: bytes, kind: str = "image/png") -> FilePayload:
    return {"name": name, "mimeType": kind, "buffer": content}


def figure(page: Page, key: str, scope: str = "") -> str:
    return page.locator(f'{scope} [data-figure="{key}"]'.strip()).first.inner_text().strip()


def log_in_at(page: Page, shop: Console, path: str, phone: str) -> None:
    """Open a page that needs a login and log in by SMS: the customer lands back on it."""
    page.goto(m(shop, path))
    log_in_by_sms(page, shop, phone)
    expect(page).to_have_url(re.compile(re.escape(m(shop, path)) + r"(\?.*)?$"))


def assert_made_for_a_thumb(browser: Browser, shop: Console, logged_in: BrowserContext, paths: list[str]) -> None:
    """At 360 px, in a fresh browser holding only the customer's session: nothing wider than the screen, every
    control 44 px at least (links inside a sentence excepted), and the page with its files under 300 KB."""
    for path in paths:
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        context.add_cookies(
            [
                {"name": c["name"], "value": c["value"], "domain": c["domain"], "path": c["path"]}
                for c in logged_in.cookies()
            ]
        )
        page = context.new_page()
        page.goto(m(shop, path))
        page.wait_for_load_state("networkidle")
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


def submit_photos(page: Page) -> None:
    page.get_by_label("身份证人像面照片").set_input_files(upload("card.png", png()))
    page.get_by_label("本人自拍照").set_input_files(upload("selfie.png", png(3, 3)))
    page.get_by_test_id("identity-form").get_by_role("button", name="提交认证").tap()


def test_a_new_customer_verifies_with_photos_and_sees_the_credit_line_the_api_answers(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    who = shop.api.customer(verified=False, score=None)
    shop.api.post("/v1/sandbox/credit-scores", json={"id_number": who.id_number, "score": 720})
    context = phone_context(browser, bypass_csp=True)
    page = context.new_page()
    log_in_at(page, shop, "/me/identity", who.phone)

    form = page.get_by_test_id("identity-form")
    id_number = page.get_by_label("身份证号")
    assert id_number.get_attribute("type") == "text"  # never numeric: the last character may be X
    assert id_number.get_attribute("autocomplete") == "off"
    card, selfie = page.get_by_label("身份证人像面照片"), page.get_by_label("本人自拍照")
    assert (card.get_attribute("accept"), card.get_attribute("capture")) == ("image/*", "environment")
    assert (selfie.get_attribute("accept"), selfie.get_attribute("capture")) == ("image/*", "user")
    assert serious_violations(page) == []

    page.get_by_label("真实姓名").fill("韩梅梅")
    id_number.fill(who.id_number)
    card.set_input_files(upload("card.png", b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)))
    selfie.set_input_files(upload("selfie.txt", b"not a picture at all", "text/plain"))
    form.get_by_role("button", name="提交认证").tap()
    # each photo's problem in words next to its own field; what was typed is kept
    expect(page.locator('[data-error="id_card_image"]')).to_have_text("「card.png」有 5.0 MB，照片最大 5 MB")
    expect(page.locator('[data-error="selfie_image"]')).to_have_text("「selfie.txt」不是 JPEG、PNG 或 WebP 图片")
    expect(card).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("身份证号")).to_have_value(who.id_number)
    assert projections.customers.customer(shop.service.views, who.customer_id).identity_status == "unverified"  # type: ignore[union-attr]

    screenshot(page, "m-identity", tmp_path)

    # the provider finds the selfie is not the card's face: the reason, and the form again
    identity = shop.service.app.identity
    assert isinstance(identity, SandboxIdentity)
    identity.fail_face_match(who.id_number)
    submit_photos(page)
    expect(page.get_by_test_id("identity-rejected")).to_contain_text("认证未通过")
    expect(page.get_by_test_id("identity-rejected")).to_contain_text("selfie does not match the ID card photo")
    identity.pass_face_match(who.id_number)
    page.get_by_label("真实姓名").fill("韩梅梅")
    page.get_by_label("身份证号").fill(who.id_number)
    submit_photos(page)

    # verified, then evaluated at once: the credit result, equal to the API's line and the customers read model
    expect(page).to_have_url(re.compile(r"/m/me/credit\?done=identity_verified$"))
    line = shop.api.get("/v1/me/credit-line", who=who)
    person = projections.customers.customer(shop.service.views, who.customer_id)
    assert person is not None and (person.identity_status, person.score, person.level) == ("verified", 720, "B")
    assert figure(page, "score") == "720"
    assert figure(page, "level") == line["level"] == "B"
    assert figure(page, "quota") == money(Decimal(line["quota"])) == money(person.quota)
    assert figure(page, "reserved") == money(Decimal(line["reserved"]))
    assert figure(page, "available") == money(Decimal(line["available"])) == money(person.available)
    expect(page.get_by_test_id("level-band")).to_have_text("等级 B：信用分 650–749，总额度 ¥6,000.00")
    expect(page.get_by_test_id("waiver-zero")).to_have_count(0)
    assert serious_violations(page) == []
    screenshot(page, "m-credit", tmp_path)

    page.get_by_role("button", name="重新评估").tap()
    expect(page.locator(".flash")).to_have_text("已重新评估信用")
    assert figure(page, "score") == "720"
    context.close()


def test_a_customer_sees_why_no_deposit_would_be_waived(browser: Browser, shop: Console) -> None:
    context = phone_context(browser)
    page = context.new_page()
    log_in_at(page, shop, "/me/credit", new_phone())
    reasons = page.get_by_test_id("waiver-reasons")
    expect(reasons).to_contain_text("您还没有完成实名认证")
    assert figure(page, "available") == money(Decimal("0.00"))
    page.get_by_role("link", name="去实名认证").tap()
    expect(page).to_have_url(re.compile(r"/m/me/identity\?next="))
    context.close()

    # level C has no quota: the quote the API gives waives nothing, and the credit page says why
    who = customer(shop.api, "李雷", score=620)
    quote = shop.api.post(
        "/v1/quotes",
        who=who,
        json={k: v for k, v in shop.api.order_body(shop.skus[PHONE_X]).items() if k != "address"},
    )
    assert (Decimal(quote["waiver"]), quote["waiver_reason"]) == (Decimal("0.00"), "the credit line has 0.00 available")
    assert quote["waiver_limit"] == {"rule": "credit_line", "score": None, "minimum": None, "amount": "0.00"}
    context = phone_context(browser)
    page = context.new_page()
    log_in_at(page, shop, "/me/credit", who.phone)
    expect(page.get_by_test_id("waiver-reasons")).to_have_text("信用等级 C 没有免押额度")
    context.close()


def test_bills_late_fees_buyout_return_and_settlement_are_the_apis(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    api = shop.api
    who = customer(api, "韩梅梅", score=720)
    leased = api.leasing(who, api.order_body(shop.skus[PHONE_X]))
    order_id = leased["id"]
    context = phone_context(browser, bypass_csp=True)
    page = context.new_page()
    log_in_at(page, shop, f"/orders/{order_id}/bills", who.phone)
    bills = page.get_by_test_id("bills")
    expect(bills.locator("li[data-seq]")).to_have_count(12)
    expect(bills.locator('li[data-seq="1"] [data-figure="status"]')).to_have_text("已付")
    expect(bills.locator('li[data-seq="2"] [data-figure="when"]')).to_have_text("还剩 28 天")
    expect(page.get_by_test_id("fee-rule")).to_contain_text(
        "逾期宽限 3 天：还款日后 3 天内还清不收滞纳金；"
        "之后每天按当期未付金额的 0.05% 计滞纳金，每期封顶本期应还金额的 20%"
    )

    # past the due date and its grace, with no daily job run: the page's figures are the API's as of today
    api.move_clock(LATE)
    page.reload()
    installments = {row["seq"]: row for row in api.get(f"/v1/orders/{order_id}/installments", who=who)}
    late = installments[2]
    assert (late["status"], late["days_overdue"], late["late_fee"]) == ("overdue", 5, "0.80")
    second = bills.locator('li[data-seq="2"]')
    expect(second.locator('[data-figure="status"]')).to_have_text("逾期")
    expect(second.locator('[data-figure="when"]')).to_have_text(f"逾期 {late['days_overdue']} 天")
    expect(second.locator('[data-figure="late_fee"]')).to_have_text(money(Decimal(late["late_fee"])))
    expect(second.locator('[data-figure="owed"]')).to_have_text(money(Decimal(late["owed"])))
    expect(bills.locator('li[data-seq="3"] [data-figure="when"]')).to_have_text("还剩 23 天")
    assert serious_violations(page) == []
    second.scroll_into_view_if_needed()
    screenshot(page, "m-bills", tmp_path)

    # paying everything due asks what the API asks by default
    payment = api.post(f"/v1/orders/{order_id}/payments", 201, who=who, json={"purpose": "installments"})
    assert payment["amount"] == "329.80"
    href = page.get_by_test_id("pay-all").get_attribute("href") or ""
    assert href.endswith(f"/m/orders/{order_id}/pay?purpose=installments&amount={payment['amount']}"), href
    # a chosen amount is checked as the API checks it, the mistake next to the field
    chosen = page.get_by_label("自定义还款金额（元）")
    assert chosen.get_attribute("inputmode") == "decimal"
    chosen.fill("12.345")
    page.get_by_role("button", name="还这个金额").tap()
    expect(page.locator('[data-error="amount"]')).to_have_text("请输入大于 0 的金额，最多两位小数，如 329.00")
    page.get_by_label("自定义还款金额（元）").fill("99999")
    page.get_by_role("button", name="还这个金额").tap()
    expect(page.locator('[data-error="amount"]')).to_contain_text("不能超过剩余应还的")
    page.get_by_label("自定义还款金额（元）").fill("100")
    page.get_by_role("button", name="还这个金额").tap()
    expect(page).to_have_url(re.compile(rf"/m/orders/{order_id}/pay\?purpose=installments&amount=100\.00$"))
    completed = api.post(f"/v1/sandbox/payments/{payment['payment_id']}/complete", json={"outcome": "success"})
    assert completed["status"] == "succeeded"

    # the buyout as the lease prices it, and what a buyout payment would ask: 3,100 + 10 × 329 − 10% of that rent,
    # less the 1,000 deposit held
    page.goto(m(shop, f"/orders/{order_id}/end"))
    quote, to_pay = shop.service.app.buyout_quote(UUID(order_id))
    buyout = api.post(f"/v1/orders/{order_id}/payments", 201, who=who, json={"purpose": "buyout"})
    assert (quote.price, buyout["amount"]) == (Decimal("6061.00"), "5061.00")
    box = page.get_by_test_id("buyout")
    assert figure(page, "buyout_price", '[data-testid="buyout"]') == money(quote.buyout_price)
    assert figure(page, "unpaid_rent", '[data-testid="buyout"]') == money(quote.unpaid_rent)
    assert figure(page, "discount", '[data-testid="buyout"]') == f"−{money(quote.discount)}"
    assert figure(page, "price", '[data-testid="buyout"]') == money(quote.price)
    assert figure(page, "deposit_applied", '[data-testid="buyout"]') == f"−{money(quote.price - to_pay)}"
    expect(box.locator('[data-figure="to_pay"]')).to_have_text(money(Decimal(buyout["amount"])))
    pay_buyout = page.get_by_test_id("pay-buyout").get_attribute("href") or ""
    assert pay_buyout.endswith(f"/m/orders/{order_id}/pay?purpose=buyout")
    # a return opens 7 days before the term's end, and says so
    expect(page.locator('[data-closed="return"]')).to_have_text("2027-01-23 起（到期前 7 天）可以办理。")
    assert serious_violations(page) == []
    screenshot(page, "m-end", tmp_path)

    # a short rental ending soon is returned by its tracking number, confirmed first
    today = LATE.date()
    drone = api.leasing(
        who,
        api.order_body(
            shop.skus[DRONE],
            {"kind": "short", "start": today.isoformat(), "end": (today + timedelta(days=2)).isoformat()},
            protection=True,
        ),
    )
    page.goto(m(shop, f"/orders/{drone['id']}/end"))
    tracking = page.get_by_label("寄回快递运单号")
    tracking.evaluate("input => input.removeAttribute('required')")  # the server asks for it too
    page.locator("#return").get_by_role("button", name="下一步").tap()
    expect(page.locator('[data-error="return.tracking_no"]')).to_have_text("请填写寄回快递的运单号（1–64 个字符）")
    page.get_by_label("寄回快递运单号").fill("SF1234567890")
    page.locator("#return").get_by_role("button", name="下一步").tap()
    expect(page.get_by_test_id("will")).to_contain_text("运单号 SF1234567890")
    expect(page.get_by_test_id("will")).to_contain_text("意外保障封顶 ¥500.00")
    assert api.order(who, drone["id"])["status"] == "leasing"  # nothing happens before it is confirmed
    page.get_by_role("button", name="确认办理").tap()
    expect(page.locator(".flash")).to_have_text("已提交归还，请尽快寄出设备")
    expect(page.get_by_test_id("order-status")).to_have_text("待归还")
    returning = api.order(who, drone["id"])
    assert (returning["status"], returning["return_tracking_no"]) == ("returning", "SF1234567890")

    # received and inspected with damage beyond the protection's cap: the statement explains every deduction
    operator = api.staff(Role.OPERATOR)
    assert api.post(f"/v1/admin/orders/{drone['id']}/returned", who=operator)["status"] == "inspecting"
    settled = api.post(
        f"/v1/admin/orders/{drone['id']}/inspection", who=operator, json={"damage_fee": "800.00", "notes": "scratch"}
    )
    assert settled["status"] == "settled"
    statement = api.order(who, drone["id"])["settlement"]
    page.goto(m(shop, f"/orders/{drone['id']}/settlement"))
    assert (
        figure(page, "deposit_refunded") == money(Decimal(statement["deposit_refunded"])) == money(Decimal("2500.00"))
    )
    assert figure(page, "deposit_paid") == money(Decimal(statement["deposit_paid"]))
    damage = page.locator('[data-line="damage_deducted"]')
    expect(damage).to_contain_text("损坏费 ¥800.00，意外保障封顶 ¥500.00，您承担 ¥500.00")
    expect(damage).to_contain_text("从押金扣除 ¥500.00")
    expect(page.locator('[data-line="deposit_refunded"]')).to_contain_text(
        "实付押金 ¥3,000.00 − 扣除合计 ¥500.00 = 退还 ¥2,500.00"
    )
    expect(page.locator('[data-line="waiver_released"]')).to_contain_text("¥1,000.00")
    assert serious_violations(page) == []
    screenshot(page, "m-settlement", tmp_path)
    pages = ["/me/identity", "/me/credit", *(f"/orders/{order_id}/{part}" for part in ("bills", "end"))]
    assert_made_for_a_thumb(browser, shop, context, [*pages, f"/orders/{drone['id']}/settlement"])
    context.close()

    # another customer's order is not found
    stranger: Customer = api.customer(verified=False, score=None)
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, "/login"))
    log_in_by_sms(page, shop, stranger.phone)
    for path in (f"/orders/{order_id}/bills", f"/orders/{order_id}/end", f"/orders/{drone['id']}/settlement"):
        answer = page.goto(m(shop, path))
        assert answer is not None and answer.status == 404, path
    context.close()


def test_a_renewal_is_confirmed_with_its_rent_and_adds_the_installments(browser: Browser, shop: Console) -> None:
    api = shop.api
    who = customer(api, "王芳", score=720)
    leased = api.leasing(who, api.order_body(shop.skus[PHONE_X], {"kind": "long", "months": 6}))
    order_id, start = leased["id"], date.fromisoformat(leased["plan"]["start"])
    context = phone_context(browser)
    page = context.new_page()
    log_in_at(page, shop, f"/orders/{order_id}/end", who.phone)
    expect(page.get_by_test_id("renewal-rent")).to_have_text(
        "续租月租 ¥299.00/月（原月租 ¥399.00/月），接着现在的账单按月支付。"
    )
    opens = date.fromisoformat(leased["plan"]["end"]) - timedelta(days=7)
    expect(page.locator('[data-closed="renew"]')).to_have_text(f"{opens.isoformat()} 起（到期前 7 天）可以办理。")

    # everything paid ahead, five days before the term ends: renewing three months adds three installments
    api.pay(who, order_id, "installments", "1995.00")
    api.move_clock(datetime.combine(opens + timedelta(days=2), time(10), ZoneInfo("Asia/Shanghai")))
    page.reload()
    page.get_by_label("续租月数（1–36）").select_option("3")
    page.locator("#renew").get_by_role("button", name="下一步").tap()
    new_end = add_months(start, 9) - timedelta(days=1)
    expect(page.get_by_test_id("will")).to_contain_text(
        f"续租 3 个月，每月 ¥299.00，共 ¥897.00；租期延长到 {new_end.isoformat()}"
    )
    page.get_by_role("button", name="确认办理").tap()
    expect(page.locator(".flash")).to_have_text("已续租，新账单已加入")
    renewed = api.order(who, order_id)
    assert [row["amount"] for row in renewed["installments"][6:]] == ["299.00"] * 3
    assert renewed["plan"]["end"] == new_end.isoformat()
    expect(page.get_by_test_id("bills").locator("li[data-seq]")).to_have_count(9)
    context.close()


def test_a_swap_is_confirmed_with_the_new_orders_quote_and_places_it(browser: Browser, shop: Console) -> None:
    api = shop.api
    who = customer(api, "赵敏", score=720)
    leased = api.leasing(who, api.order_body(shop.skus[WATCH], {"kind": "long", "months": 6}))
    order_id = leased["id"]
    api.pay(who, order_id, "installments", "945.00")  # the five installments left, paid ahead
    ends = date.fromisoformat(leased["plan"]["end"])
    api.move_clock(datetime.combine(ends - timedelta(days=5), time(10), ZoneInfo("Asia/Shanghai")))

    context = phone_context(browser)
    page = context.new_page()
    log_in_at(page, shop, f"/orders/{order_id}/end", who.phone)
    page.get_by_label("换成").select_option(str(shop.skus[PHONE_X_WHITE]))
    page.locator("#swap").get_by_label("寄回快递运单号").fill("YT-2026-0001")
    page.locator("#swap").get_by_role("button", name="下一步").tap()
    # the new order as the API quotes it now: the watch's waiver still holds 2,500 of the 6,000 quota
    body = api.order_body(shop.skus[PHONE_X_WHITE], {"kind": "long", "months": 6})
    quote = api.post("/v1/quotes", who=who, json={k: v for k, v in body.items() if k != "address"})
    expect(page.get_by_test_id("will")).to_contain_text(
        f"月租 {money(Decimal(quote['installments'][0]['rent']))}，押金 {money(Decimal(quote['deposit']))}，"
        f"信用免押 {money(Decimal(quote['waiver']))}，需支付 {money(Decimal(quote['due_now']))} 后发货"
    )
    assert api.order(who, order_id)["status"] == "leasing"
    page.get_by_role("button", name="确认办理").tap()
    expect(page).to_have_url(re.compile(r"/m/orders/[0-9a-f-]{36}\?done=swapped$"))
    old = api.order(who, order_id)
    assert (old["status"], old["return_tracking_no"]) == ("returning", "YT-2026-0001")
    assert page.url.endswith(f"/m/orders/{old['swapped_to']}?done=swapped")
    new = api.order(who, old["swapped_to"])
    assert (new["status"], new["swapped_from"], new["due_now"]) == ("pending_payment", order_id, quote["due_now"])
    context.close()

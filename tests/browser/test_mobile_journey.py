"""A customer's whole lease on a phone, from the first visit to the deposit refunded, with only the warehouse's and
the courier's part done over the API: log in by SMS, verify with photos, order with the credit waiver, pay at the
sandbox provider's cashier, read and sign the contract, receive, pay an installment on time and one late after
the sandbox clock moves (the late fee on screen is the API's), return, and read the settlement. Then a short rental
on dates picked from the calendar, and a buyout. Every page the customer saw weighs under 300 KB on the network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.web.formatting import money
from leasecore.staff import Role
from tests.browser.mobile import log_in_by_sms, m, phone_context, transferred
from tests.browser.support import Console, screenshot, serious_violations, serving
from tests.browser.test_mobile_account import submit_photos
from tests.e2e.support import Customer, id_number, new_phone
from tests.support import local

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"
CAMERA = "camera-a7/kit"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("journey")) as running:
        yield running


class Visits:
    """The pages a customer saw, to weigh each afterwards in a fresh browser with the same session."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def seen(self, page: Page) -> None:
        path = page.url.split("#")[0]
        if path not in self.paths and "/m/" in path:
            self.paths.append(path)


def product_id(shop: Console, sku_key: str) -> str:
    for item in shop.api.get("/v1/catalog/products"):
        if any(sku["id"] == str(shop.skus[sku_key]) for sku in item["skus"]):
            return str(item["id"])
    raise AssertionError(sku_key)


def api_order(shop: Console, who: Customer, order_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = shop.api.get(f"/v1/orders/{order_id}", who=who)
    return answer


def order_id_of(page: Page) -> str:
    return page.get_by_test_id("order-number").inner_text().strip()


def pay_at_the_cashier(page: Page, visits: Visits) -> None:
    """From the pay page: ask the payment, then pay at the sandbox provider's cashier, back to the shop."""
    visits.seen(page)
    page.get_by_test_id("action-bar").get_by_role("button").tap()
    page.wait_for_url("**/m/pay/**")
    visits.seen(page)
    page.get_by_role("button", name="确认支付").tap()
    page.wait_for_url(lambda url: "/m/pay/" not in url)


def pay_all_due(page: Page, shop: Console, order_id: str, visits: Visits) -> str:
    """The bills page's "pay everything due": the amount it asks, paid at the cashier."""
    page.goto(m(shop, f"/orders/{order_id}/bills"))
    visits.seen(page)
    asked = page.locator('[data-testid="bills-summary"] [data-figure="due_now"]').inner_text().strip()
    page.get_by_test_id("pay-all").tap()
    page.wait_for_url("**/pay?**")
    pay_at_the_cashier(page, visits)
    return asked


def shown_installment(page: Page, seq: int, figure: str) -> str:
    return page.locator(f'[data-testid="bills"] [data-seq="{seq}"] [data-figure="{figure}"]').inner_text().strip()


def test_a_customer_leases_a_phone_from_the_first_visit_to_the_refund(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    api, visits = shop.api, Visits()
    phone, card = new_phone(), id_number(9001)
    api.post("/v1/sandbox/credit-scores", json={"id_number": card, "score": 720})
    context = phone_context(browser)
    page = context.new_page()

    # first visit: the catalog, a phone, its quote; logging in comes back to it
    page.goto(m(shop))
    visits.seen(page)
    page.locator(f'[data-product="{product_id(shop, PHONE_X)}"]').tap()
    page.get_by_label("6 个月").check()
    expect(page.locator('[data-figure="monthly"]')).to_have_text(money(Decimal("399.00")))
    page.locator('[data-testid="quote"] a', has_text="登录").tap()
    page.wait_for_url("**/m/login?**")
    log_in_by_sms(page, shop, phone)
    expect(page.get_by_label("6 个月")).to_be_checked()
    visits.seen(page)

    # checkout asks an unverified customer to verify first, and comes back after
    page.get_by_test_id("rent").tap()
    page.wait_for_url("**/m/checkout?**")
    page.get_by_test_id("verify-first").get_by_role("link", name="去实名认证").tap()
    page.wait_for_url("**/m/me/identity?**")
    visits.seen(page)
    page.get_by_label("真实姓名").fill("韩梅梅")
    page.get_by_label("身份证号").fill(card)
    submit_photos(page)
    page.wait_for_url("**/m/checkout?**")
    visits.seen(page)
    token = api.log_in(phone)  # the same customer over the API, to compare what the screens show
    who = Customer(phone, card, UUID(token["customer_id"]), {"Authorization": f"Bearer {token['token']}"})
    quote = api.post(
        "/v1/quotes",
        who=who,
        json={
            "sku_id": str(shop.skus[PHONE_X]),
            "quantity": 1,
            "plan": {"kind": "long", "months": 6},
            "protection": False,
            "deposit_mode": "waiver",
        },
    )
    assert Decimal(quote["waiver"]) > 0
    expect(page.locator('[data-figure="due_now"]').first).to_have_text(money(Decimal(quote["due_now"])))
    screenshot(page, "m-journey-checkout", tmp_path)
    page.get_by_label("详细地址").fill("上海市浦东新区世纪大道 100 号")
    page.get_by_role("button", name="提交订单").tap()
    page.wait_for_url("**/pay?**")
    pay_at_the_cashier(page, visits)

    # paid and approved automatically: the contract read to its end, then signed
    order_id = order_id_of(page)
    assert api_order(shop, who, order_id)["status"] == "pending_contract"
    page.get_by_test_id("action-bar").get_by_role("link").tap()
    page.wait_for_url("**/contract")
    visits.seen(page)
    page.locator("[data-read-to-end]").evaluate("box => box.scrollTo(0, box.scrollHeight)")
    page.get_by_label("我已阅读并同意《租赁合同》").check()
    page.get_by_role("button", name="签署合同").tap()
    page.wait_for_url(lambda url: url.split("?")[0].endswith(f"/m/orders/{order_id}"))
    assert api_order(shop, who, order_id)["status"] == "pending_shipment"

    # the warehouse ships; the customer sees the parcel and confirms receipt
    serial = api.free_serial(shop.skus[PHONE_X])
    api.post(
        f"/v1/admin/orders/{order_id}/ship",
        who=api.staff(Role.OPERATOR),
        json={"unit_serial": serial, "carrier": "SF Express", "tracking_no": "SF1000000001"},
    )
    page.reload()
    expect(page.get_by_test_id("tracking-no")).to_have_text("SF1000000001")
    visits.seen(page)
    page.get_by_role("button", name="确认收货").tap()
    expect(page.get_by_test_id("status")).to_have_text("租用中")
    screenshot(page, "m-journey-order", tmp_path)

    # installment 2 paid on its due day; installment 3 a week late, its fee the API's, before any daily job
    shop.clock.set(local(2026, 2, 28))
    paid = pay_all_due(page, shop, order_id, visits)
    second = api.get(f"/v1/orders/{order_id}/installments", who=who)[1]
    assert (second["status"], money(Decimal(second["paid"]))) == ("paid", paid)
    shop.clock.set(local(2026, 4, 10))
    page.goto(m(shop, f"/orders/{order_id}/bills"))
    third = api.get(f"/v1/orders/{order_id}/installments", who=who)[2]
    assert third["status"] == "overdue" and Decimal(third["late_fee"]) > 0
    assert shown_installment(page, 3, "late_fee") == money(Decimal(third["late_fee"]))
    assert shown_installment(page, 3, "status") == "逾期"
    screenshot(page, "m-journey-bills", tmp_path)
    assert pay_all_due(page, shop, order_id, visits) == money(Decimal(third["amount"]) + Decimal(third["late_fee"]))
    assert api.get(f"/v1/orders/{order_id}/installments", who=who)[2]["status"] == "paid"

    # near the term's end: what is due paid, the phone sent back
    shop.clock.set(local(2026, 7, 27))
    pay_all_due(page, shop, order_id, visits)
    page.goto(m(shop, f"/orders/{order_id}/end"))
    visits.seen(page)
    page.locator("#return").get_by_role("button", name="下一步").tap()
    page.locator("#return").get_by_label("寄回快递运单号").fill("SF2000000002")
    page.locator("#return").get_by_role("button", name="下一步").tap()
    page.get_by_role("button", name="确认办理").tap()
    page.wait_for_url("**done=return_requested")
    assert api_order(shop, who, order_id)["status"] == "returning"

    # the warehouse receives and inspects it without damage: the settlement refunds the deposit paid
    operator = api.staff(Role.OPERATOR)
    api.post(f"/v1/admin/orders/{order_id}/returned", who=operator, json={})
    api.post(f"/v1/admin/orders/{order_id}/inspection", who=operator, json={"damage_fee": "0.00", "notes": "完好"})
    settled = api_order(shop, who, order_id)
    assert settled["status"] == "settled"
    page.goto(m(shop, f"/orders/{order_id}/settlement"))
    visits.seen(page)
    statement = page.get_by_test_id("settlement")
    expect(statement).to_contain_text(money(Decimal(settled["settlement"]["deposit_refunded"])))
    expect(statement).to_contain_text(money(Decimal(settled["settlement"]["waiver_released"])))
    screenshot(page, "m-journey-settlement", tmp_path)
    weigh(browser, context, visits)
    context.close()


def weigh(browser: Browser, logged_in: BrowserContext, visits: Visits) -> None:
    """Each page seen, alone in a fresh browser with the same session, loads in under 300 KB."""
    state = logged_in.storage_state()
    for path in visits.paths:
        fresh = browser.new_context(
            storage_state=state, is_mobile=True, has_touch=True, viewport={"width": 390, "height": 844}
        )
        page = fresh.new_page()
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert transferred(page) < 300_000, path
        fresh.close()


def test_a_short_rental_on_days_picked_from_the_calendar(browser: Browser, shop: Console) -> None:
    api = shop.api
    who = api.customer()
    context = phone_context(browser, bypass_csp=True)
    page = context.new_page()
    page.goto(m(shop, "/login"))
    log_in_by_sms(page, shop, who.phone)
    page.goto(m(shop, f"/products/{product_id(shop, CAMERA)}"))
    today = shop.clock.now().date()
    start = today + timedelta(days=12)
    page.locator(f'[data-day="{start.isoformat()}"]').tap()
    end = start + timedelta(days=3)
    page.locator('input[name="end"]').fill(end.isoformat())
    page.locator('input[name="end"]').dispatch_event("change")
    expect(page.locator('[data-figure="rent_total"]')).to_have_text(money(Decimal("129.00") * 4))
    page.get_by_test_id("rent").tap()
    page.wait_for_url("**/m/checkout?**")
    page.get_by_label("详细地址").fill("北京市朝阳区建国路 1 号")
    page.get_by_role("button", name="提交订单").tap()
    page.wait_for_url("**/pay?**")
    pay_at_the_cashier(page, Visits())
    order = api_order(shop, who, order_id_of(page))
    assert (order["plan"]["start"], order["plan"]["end"]) == (start.isoformat(), end.isoformat())
    expect(page.get_by_test_id("figures")).to_contain_text(start.isoformat())
    assert serious_violations(page) == []
    context.close()


def test_a_customer_buys_out_the_phone_at_the_price_the_term_end_page_explains(browser: Browser, shop: Console) -> None:
    api = shop.api
    who = api.customer()
    order = api.leasing(who, api.order_body(shop.skus[PHONE_X], {"kind": "long", "months": 6}))
    context = phone_context(browser)
    page = context.new_page()
    page.goto(m(shop, "/login"))
    log_in_by_sms(page, shop, who.phone)
    page.goto(m(shop, f"/orders/{order['id']}/end"))
    to_pay = page.get_by_test_id("buyout")
    expect(to_pay).to_be_visible()
    page.get_by_test_id("pay-buyout").tap()
    page.wait_for_url("**/pay?**")
    asked = api.post(f"/v1/orders/{order['id']}/payments", 201, who=who, json={"purpose": "buyout"})
    expect(page.get_by_test_id("action-bar")).to_contain_text(money(Decimal(asked["amount"])))
    pay_at_the_cashier(page, Visits())
    assert api_order(shop, who, order["id"])["status"] in ("bought_out", "settled")
    context.close()

"""The customer's order path on a phone: checkout with an address (a double tap places one order, a wrong field says
so next to it, and without JavaScript it still works), paying at the sandbox provider's cashier, the order's timeline
and figures (the API's own), the contract read to its end and signed, the parcel tracked, receipt confirmed; and
nobody sees another customer's order."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from api.web.formatting import money
from leasecore.staff import Role
from tests.browser.mobile import log_in_by_sms, m, phone_context, transferred
from tests.browser.support import Console, customer, order, screenshot, serious_violations, serving
from tests.e2e.support import Customer, new_phone

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"
EARPHONES = "earphones-pro/usb-c"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("shop")) as running:
        serials = [f"EP-M-{n:03d}" for n in range(20)]  # the demo's five earphones would not last the module
        operator = running.api.staff(Role.OPERATOR)
        running.api.post(
            f"/v1/admin/skus/{running.skus[EARPHONES]}/units", 201, who=operator, json={"serials": serials}
        )
        yield running


def checkout_path(shop: Console, sku_key: str, months: int = 12, deposit: str = "waiver") -> str:
    query = {"sku": str(shop.skus[sku_key]), "kind": "long", "months": months, "protection": "0", "deposit": deposit}
    return f"/checkout?{urlencode(query)}"


def quote_body(shop: Console, sku_key: str, months: int = 12, deposit: str = "waiver") -> dict[str, Any]:
    return {
        "sku_id": str(shop.skus[sku_key]),
        "plan": {"kind": "long", "months": months},
        "protection": False,
        "deposit_mode": deposit,
        "channel": "h5",
    }


def product_id(shop: Console, sku_key: str) -> str:
    answer = shop.api.get("/v1/catalog/products")
    return str(next(item["id"] for item in answer if any(sku["id"] == str(shop.skus[sku_key]) for sku in item["skus"])))


def shown(page: Page, key: str) -> str:
    return page.locator(f'[data-figure="{key}"]').first.inner_text().strip()


def yuan(value: str) -> str:
    return money(Decimal(value))


def steps(page: Page, state: str) -> list[str]:
    """The order's timeline steps done, or still ahead."""
    found: list[str] = page.locator(f'[data-testid="progress"] li.{state}').evaluate_all(
        "items => items.map(item => item.dataset.step)"
    )
    return found


def my_orders(shop: Console, who: Customer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = shop.api.get("/v1/orders", who=who)
    return found


def logged_in(browser: Browser, shop: Console, who: Customer, *, javascript: bool = True) -> Page:
    context = phone_context(browser, javascript=javascript, bypass_csp=javascript)
    page = context.new_page()
    log_in_by_sms(page, shop, who.phone)
    return page


def fill_address(page: Page, phone: str = "13912345678") -> None:
    page.get_by_label("收货人").fill("韩梅梅")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("详细地址").fill("上海市浦东新区世纪大道 8 号")


def test_a_customer_orders_with_the_waiver_pays_signs_tracks_and_receives(
    browser: Browser, shop: Console, tmp_path: Path
) -> None:
    who = customer(shop.api, "韩梅梅", phone=new_phone())
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/products/{product_id(shop, PHONE_X)}"))
    page.get_by_label("全额押金").check()
    page.get_by_label("信用免押").check()
    page.get_by_test_id("rent").tap()
    page.wait_for_url("**/m/checkout?**")

    # The checkout repeats the product page's quote: the API's, waiver and all.
    quoted = shop.api.post("/v1/quotes", who=who, json=quote_body(shop, PHONE_X))
    assert Decimal(quoted["waiver"]) > 0
    expect(page.get_by_test_id("plan")).to_have_text("12 个月")
    assert shown(page, "monthly") == yuan("329.00")
    assert shown(page, "deposit") == yuan(quoted["deposit"])
    assert shown(page, "waiver") == f"免押 {yuan(quoted['waiver'])}"
    assert shown(page, "deposit_due") == yuan(quoted["deposit_due"])
    assert shown(page, "due_now") == yuan(quoted["due_now"])
    expect(page.get_by_label("收货人")).to_have_value("韩梅梅")  # the verified name, and the phone logged in with
    expect(page.get_by_label("手机号")).to_have_value(who.phone)
    assert page.get_by_label("手机号").get_attribute("inputmode") == "tel"
    assert serious_violations(page) == []
    screenshot(page, "m-checkout", tmp_path)

    # A wrong phone is said next to its field, and nothing is placed.
    fill_address(page, phone="12-ab")
    page.get_by_test_id("place-order").tap()
    expect(page.locator('[data-error="address.phone"]')).to_have_text("请填写正确的手机号（6–15 位数字）")
    expect(page.get_by_label("手机号")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("详细地址")).to_have_value("上海市浦东新区世纪大道 8 号")  # what was typed stays
    assert my_orders(shop, who) == []

    # A double tap places one order, and leads to paying it.
    page.get_by_label("手机号").fill("13912345678")
    page.get_by_test_id("place-order").dblclick()
    page.wait_for_url("**/m/orders/*/pay?purpose=checkout")
    placed = my_orders(shop, who)
    assert len(placed) == 1
    order_id = placed[0]["id"]
    assert (placed[0]["status"], placed[0]["channel"]) == ("pending_payment", "h5")
    assert shown(page, "amount") == yuan(placed[0]["due_now"]) == yuan(quoted["due_now"])

    # A reload loses nothing: the order is on "my orders", waiting for its payment.
    page.goto(m(shop, "/orders"))
    card = page.locator(f'[data-order="{order_id}"]')
    expect(card.get_by_test_id("status")).to_have_text("待支付")
    expect(card.get_by_test_id("due")).to_have_text(f"待支付 {yuan(placed[0]['due_now'])}")
    card.tap()
    page.locator('[data-action="pay"]').tap()
    page.wait_for_url("**/pay?purpose=checkout")
    expect(page.get_by_test_id("purpose")).to_contain_text("首付款")
    screenshot(page, "m-pay", tmp_path)

    # The sandbox provider's cashier takes the payment and sends the customer back to the order.
    page.get_by_test_id("pay-now").tap()
    page.wait_for_url("**/m/pay/**")
    expect(page.locator("h1")).to_have_text("沙箱支付")
    assert shown(page, "amount") == yuan(placed[0]["due_now"])
    assert serious_violations(page) == []
    screenshot(page, "m-provider", tmp_path)
    page.get_by_role("button", name="确认支付").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=payment_succeeded")
    expect(page.locator(".flash")).to_have_text("支付成功")
    after = shop.api.order(who, order_id)
    if after["status"] == "pending_review":
        shop.api.post(f"/v1/admin/orders/{order_id}/approve", who=shop.api.staff(Role.RISK), json={"reason": "ok"})
        after = shop.api.order(who, order_id)
        page.reload()
    assert after["status"] == "pending_contract"  # the demo's automatic review passes a 720 score
    expect(page.get_by_test_id("status")).to_have_text("待签约")
    payments = shop.api.get(f"/v1/orders/{order_id}/payments", who=who)
    assert [(p["purpose"], p["status"], p["paid_amount"]) for p in payments] == [
        ("checkout", "succeeded", after["due_now"])
    ]

    # The order's figures are the API's; the timeline has what happened and what is still to come.
    for key in ("deposit", "deposit_due", "due_now"):
        assert shown(page, key) == yuan(after[key]), key
    assert shown(page, "waiver") == f"免押 {yuan(after['waiver'])}"
    rent = sum((Decimal(item["rent"]) for item in after["installments"]), Decimal(0))
    assert shown(page, "rent_total") == money(rent)
    assert steps(page, "done") == ["OrderPlaced", "CheckoutPaid", "ReviewApproved"]
    assert steps(page, "ahead") == ["ContractSigned", "Shipped", "Delivered"]
    assert page.locator('[data-action="cancel"]').count() == 1
    assert serious_violations(page) == []
    screenshot(page, "m-order", tmp_path)

    # The contract is read to its end before it can be signed, and accepted in so many words.
    page.locator('[data-action="sign"]').tap()
    page.wait_for_url(f"**/m/orders/{order_id}/contract")
    text = page.get_by_test_id("contract")
    expect(text).to_contain_text(f"Lease agreement for order {order_id}")
    expect(text.locator("tbody tr")).to_have_count(12)
    dues = text.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert dues == [item["due_date"] for item in after["installments"]]
    # the demo's billing: 3 days' grace, 0.05% a day of what is unpaid, at most 20% of the installment
    expect(text.get_by_test_id("fee-rule")).to_contain_text(
        "宽限 3 天；之后每逾期一天，按该期未付金额的 0.05% 计收滞纳金"
    )
    expect(text.get_by_test_id("fee-rule")).to_contain_text("最多为该期金额的 20%")
    sign = page.get_by_role("button", name="签署合同")
    assert text.evaluate("e => e.scrollHeight > e.clientHeight")  # the box scrolls, so reading to the end means it
    expect(sign).to_be_disabled()
    assert serious_violations(page) == []
    screenshot(page, "m-contract", tmp_path)
    text.evaluate("e => e.scrollTo(0, e.scrollHeight)")
    expect(sign).to_be_enabled()
    sign.tap()
    expect(page.locator('[data-error="agree"]')).to_have_text("请先阅读合同并勾选同意")  # not ticked: not signed
    assert shop.api.order(who, order_id)["status"] == "pending_contract"
    page.get_by_role("checkbox", name="我已阅读并同意《租赁合同》").check()
    text.evaluate("e => e.scrollTo(0, e.scrollHeight)")
    page.get_by_role("button", name="签署合同").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=contract_signed")
    expect(page.get_by_test_id("status")).to_have_text("待发货")
    signed = shop.api.order(who, order_id)
    assert signed["status"] == "pending_shipment" and signed["contract_id"]

    # Staff ship it; the customer follows the parcel and confirms receipt.
    serial = shop.api.free_serial(shop.skus[PHONE_X])
    shipment = {"unit_serial": serial, "carrier": "SF Express", "tracking_no": "SF7001"}
    shop.api.post(f"/v1/admin/orders/{order_id}/ship", who=shop.api.staff(Role.OPERATOR), json=shipment)
    for stage, location in (("picked_up", "Shenzhen"), ("in_transit", "Shanghai hub")):
        move = {"carrier": "SF Express", "tracking_no": "SF7001", "stage": stage, "location": location}
        shop.api.post("/v1/sandbox/parcels", json=move)
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("已发货")
    expect(page.get_by_test_id("carrier")).to_have_text("SF Express")
    expect(page.get_by_test_id("tracking-no")).to_have_text("SF7001")
    tracked = shop.api.get(f"/v1/orders/{order_id}/tracking", who=who)
    events = page.get_by_test_id("parcel-events").locator("li").all_inner_texts()
    assert events == list(reversed(tracked["events"])) and "Shanghai hub" in events[0]
    assert page.locator('[data-action="cancel"]').count() == 0  # shipped: too late to cancel
    page.locator('button[data-action="receive"]').tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=receipt_confirmed")
    expect(page.get_by_test_id("status")).to_have_text("租用中")
    assert shop.api.order(who, order_id)["status"] == "leasing"
    expect(page.locator('[data-action="bills"]')).to_have_attribute("href", f"/m/orders/{order_id}/bills")
    expect(page.locator('[data-action="end"]')).to_have_attribute("href", f"/m/orders/{order_id}/end")
    assert steps(page, "done")[-3:] == ["ContractSigned", "Shipped", "Delivered"]
    page.context.close()


def test_a_payment_that_fails_at_the_provider_leaves_the_order_to_pay_again(browser: Browser, shop: Console) -> None:
    who = customer(shop.api, "李雷", phone=new_phone())
    order_id = order(shop.api, who, shop.skus[EARPHONES], paid=False)
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/orders/{order_id}/pay?purpose=checkout"))
    page.get_by_test_id("pay-now").tap()
    page.get_by_role("button", name="支付失败").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=payment_failed")
    expect(page.locator(".flash")).to_have_text("支付未完成，可以重新支付")
    expect(page.get_by_test_id("status")).to_have_text("待支付")
    payments = shop.api.get(f"/v1/orders/{order_id}/payments", who=who)
    assert [p["status"] for p in payments] == ["failed"]
    page.context.close()


def test_an_order_sent_to_review_says_why(browser: Browser, shop: Console) -> None:
    """A score under the waiver policy's minimum (600) sends a paid order to a person, and the order says so."""
    who = customer(shop.api, "周杰", score=550)
    order_id = order(shop.api, who, shop.skus[EARPHONES], deposit_mode="full")
    answer = shop.api.order(who, order_id)
    assert (answer["status"], answer["review_reasons"]) == ("pending_review", ["score 550 is under the minimum 600"])
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/orders/{order_id}"))
    expect(page.get_by_test_id("status")).to_have_text("待审核")
    review = page.get_by_test_id("review")
    expect(review).to_contain_text("您的订单正在人工审核")
    assert review.locator("li").all_inner_texts() == ["信用分 550 低于最低分 600"]  # the API's reason, in Chinese
    assert steps(page, "done") == ["OrderPlaced", "CheckoutPaid", "ReviewQueued"]
    page.context.close()


def test_outside_sandbox_mode_the_pay_page_leaves_the_provider_to_the_app(browser: Browser, shop: Console) -> None:
    """With no sandbox provider's cashier to send the customer to, the payment is asked all the same and its
    parameters are shown as what a provider's SDK would take; the sandbox cashier's page is not there."""
    who = customer(shop.api, "吴磊", phone=new_phone())
    order_id = order(shop.api, who, shop.skus[EARPHONES], paid=False)
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/orders/{order_id}/pay?purpose=checkout"))
    sandboxes, shop.service.sandboxes = shop.service.sandboxes, None
    try:
        page.get_by_test_id("pay-now").tap()
        expect(page.get_by_test_id("pay-params")).to_contain_text("JS SDK")
        payments = shop.api.get(f"/v1/orders/{order_id}/payments", who=who)
        assert [(p["purpose"], p["status"]) for p in payments] == [("checkout", "pending")]
        page.get_by_test_id("pay-params").locator("summary").tap()
        expect(page.get_by_test_id("pay-params")).to_contain_text(payments[0]["payment_id"])  # in the pay_url
        answer = page.goto(m(shop, f"/pay/{payments[0]['payment_id']}"))
        assert answer is not None and answer.status == 404
    finally:
        shop.service.sandboxes = sandboxes
    page.context.close()


def test_cancelling_asks_once_more_and_says_what_is_refunded(browser: Browser, shop: Console) -> None:
    who = customer(shop.api, "王芳", phone=new_phone())
    order_id = order(shop.api, who, shop.skus[EARPHONES])
    paid = shop.api.order(who, order_id)["due_now"]
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/orders/{order_id}"))
    page.locator('[data-action="cancel"]').tap()
    expect(page.get_by_test_id("refund")).to_contain_text(yuan(paid))
    assert shop.api.order(who, order_id)["status"] != "cancelled"  # asking is not doing
    page.get_by_role("button", name="确认取消").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=order_cancelled")
    expect(page.get_by_test_id("status")).to_have_text("已取消")
    answer = shop.api.order(who, order_id)
    assert (answer["status"], answer["reason"]) == ("cancelled", "cancelled by the customer")
    expect(page.get_by_test_id("review")).to_contain_text("原因：客户取消")  # the platform's words, in Chinese
    page.context.close()


def test_without_javascript_checkout_places_one_order_however_often_the_form_is_sent(
    browser: Browser, shop: Console
) -> None:
    who = customer(shop.api, "张伟", phone=new_phone())
    page = logged_in(browser, shop, who, javascript=False)
    page.goto(m(shop, checkout_path(shop, EARPHONES, deposit="full")))
    fill_address(page)
    form: dict[str, str | float | bool] = {
        name: page.locator(f'#checkout [name="{name}"]').input_value()
        for name in ("csrf", "key", "address.name", "address.phone", "address.line")
    }
    action = page.locator("#checkout").get_attribute("action") or ""
    page.get_by_test_id("place-order").tap()
    page.wait_for_url("**/m/orders/*/pay?purpose=checkout")
    first = page.url
    again = page.request.post(f"{shop.base}{action}", form=form)  # the same form sent a second time
    assert again.ok and again.url == first
    placed = my_orders(shop, who)
    assert len(placed) == 1 and placed[0]["deposit_mode"] == "full"
    assert placed[0]["id"] in first
    page.context.close()


def test_another_customers_order_is_not_found(browser: Browser, shop: Console) -> None:
    owner = customer(shop.api, "陈静", phone=new_phone())
    order_id = order(shop.api, owner, shop.skus[EARPHONES], paid=False)
    stranger = customer(shop.api, "刘洋", phone=new_phone())
    page = logged_in(browser, shop, stranger)
    for path in (f"/orders/{order_id}", f"/orders/{order_id}/pay?purpose=checkout", f"/orders/{order_id}/cancel"):
        answer = page.goto(m(shop, path))
        assert answer is not None and answer.status == 404, path
        expect(page.get_by_test_id("error")).to_contain_text("页面不存在")
    payment = shop.api.post(f"/v1/orders/{order_id}/payments", 201, who=owner, json={"purpose": "checkout"})
    answer = page.goto(m(shop, f"/pay/{payment['payment_id']}"))
    assert answer is not None and answer.status == 404
    page.goto(m(shop, "/me"))
    token = page.locator('input[name="csrf"]').first.input_value()  # the stranger's own, valid token
    refused = page.request.post(m(shop, f"/orders/{order_id}/cancel"), form={"csrf": token})
    assert refused.status == 404
    assert shop.api.order(owner, order_id)["status"] == "pending_payment"
    page.context.close()


def test_order_pages_are_made_for_a_thumb_and_light_on_the_network(browser: Browser, shop: Console) -> None:
    """At 360 px, logged in: nothing wider than the screen, controls 44 px at least, under 300 KB each."""
    who = customer(shop.api, "赵敏", phone=new_phone())
    order_id = order(shop.api, who, shop.skus[EARPHONES], signed=True)
    unpaid = order(shop.api, who, shop.skus[EARPHONES], paid=False)
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in_by_sms(page, shop, who.phone)
    paths = ["/orders", f"/orders/{order_id}", f"/orders/{unpaid}", f"/orders/{unpaid}/pay?purpose=checkout"]
    paths += [checkout_path(shop, EARPHONES), f"/orders/{unpaid}/cancel"]
    for path in paths:
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
    for path in paths:
        fresh = browser.new_context(
            viewport={"width": 360, "height": 740},
            is_mobile=True,
            has_touch=True,
            storage_state=context.storage_state(),
        )
        measured = fresh.new_page()
        measured.goto(m(shop, path))
        measured.wait_for_load_state("networkidle")
        assert transferred(measured) < 300_000, path
        fresh.close()
    context.close()


def test_a_preauthorized_deposit_is_frozen_at_the_sandbox_then_the_first_rent_is_paid(
    browser: Browser, shop: Console
) -> None:
    """The order's first step is the freeze, not a payment: the sandbox provider's authorization page freezes the
    deposit (part of it waived on its credit), then the first rent is paid as any checkout."""
    who = customer(shop.api, "李雷", score=600, phone=new_phone())
    order_id = order(shop.api, who, shop.skus[EARPHONES], paid=False, deposit_mode="preauth")
    page = logged_in(browser, shop, who)
    page.goto(m(shop, f"/orders/{order_id}"))
    page.get_by_role("link", name="授权冻结押金").first.tap()
    page.wait_for_url("**/pay?purpose=preauth")
    page.get_by_test_id("pay-now").tap()
    page.wait_for_url("**/m/freeze/**")
    page.get_by_label("信用免冻结").fill("10.00")
    page.get_by_role("button", name="确认授权").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=deposit_frozen")
    preauth = shop.api.order(who, order_id)["preauth"]
    assert (preauth["credit"], preauth["still_frozen"]) == ("10.00", preauth["frozen"])
    page.get_by_role("link", name="去支付").first.tap()
    page.wait_for_url("**/pay?purpose=checkout")
    page.get_by_test_id("pay-now").tap()
    page.get_by_role("button", name="确认支付").tap()
    page.wait_for_url(f"**/m/orders/{order_id}?done=payment_succeeded")
    assert shop.api.order(who, order_id)["status"] in ("pending_contract", "pending_review")
    page.context.close()

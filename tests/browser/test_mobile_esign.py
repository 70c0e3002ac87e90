"""Signing on a phone through e签宝: the app links the customer to e签宝's signing page, e签宝 sends them back to the
order, which has moved on once e签宝 called back."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from adapters.esign.esignbao import EsignConfig, EsignSignature
from leasecore.staff import Role
from tests.browser.mobile import log_in_by_sms, m, phone_context
from tests.browser.support import customer, order, serious_violations, serving
from tests.peers.esign import EsignPeer

pytestmark = pytest.mark.slow

PHONE_X = "phone-x/256-black"


def test_the_customer_signs_on_esigns_page_and_comes_back_to_the_order_signed(browser: Browser, tmp_path: Path) -> None:
    with EsignPeer() as peer, serving(tmp_path) as shop:
        config = EsignConfig(peer.app_id, peer.app_secret, peer.url, timeout=5)
        shop.service.app.esign = EsignSignature(config, clock=shop.clock)
        who = customer(shop.api, "韩梅梅")
        order_id = order(shop.api, who, shop.skus[PHONE_X])
        if shop.api.order(who, order_id)["status"] == "pending_review":
            shop.api.post(f"/v1/admin/orders/{order_id}/approve", who=shop.api.staff(Role.RISK), json={"reason": "ok"})
        context = phone_context(browser, bypass_csp=True)
        page = context.new_page()
        log_in_by_sms(page, shop, who.phone)

        page.goto(m(shop, f"/orders/{order_id}/contract"))
        text = page.get_by_test_id("contract")
        page.get_by_role("checkbox", name="我已阅读并同意《租赁合同》").check()
        text.evaluate("e => e.scrollTo(0, e.scrollHeight)")
        page.get_by_role("button", name="签署合同").tap()
        expect(page.get_by_test_id("signing")).to_contain_text("e签宝")
        assert serious_violations(page) == []
        page.locator('[data-action="esign"]').tap()
        page.wait_for_url(f"{peer.url}/sign/**")
        expect(page.locator("h1")).to_have_text(f"租赁合同 {order_id}")
        (flow_id,) = peer.state.flows
        assert shop.api.order(who, order_id)["status"] == "pending_contract"

        body, headers = peer.callback(flow_id, timestamp_ms=int(shop.clock.now().timestamp() * 1000))
        assert shop.api.post("/v1/esign/notify/esign", content=body, headers=headers)["msg"] == "success"
        page.locator("#back").click()
        page.wait_for_url(f"{m(shop, f'/orders/{order_id}')}")
        expect(page.get_by_test_id("status")).to_have_text("待发货")
        signed = shop.api.order(who, order_id)
        assert (signed["contract_id"], signed["contract_document_id"]) == (flow_id, "file0001-signed")
        context.close()
        assert peer.failures == [] and peer.state.refusals == []

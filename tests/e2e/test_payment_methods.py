"""Choosing how to pay (contract 1.1): `GET /v1/payment-methods` lists the configured providers, the default first,
to anyone; a payment names one of them, or goes to the first, and any other is 422 naming `provider`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.keys import generate_private_key, private_key_pem, public_key_pem
from api.bootstrap import Settings, build_service
from leasecore.clock import SettableClock
from tests.e2e.support import Api, running
from tests.support import START, build_world


@pytest.fixture
def sandbox(sqlite_url: str) -> Iterator[Api]:
    with running(sqlite_url) as api:
        yield api


@pytest.fixture
def production(tmp_path: Path, sqlite_url: str) -> Iterator[Api]:
    """Production mode with Alipay twice (one under its own name for customers) and WeChat Pay, keys in files."""
    (tmp_path / "app.pem").write_bytes(private_key_pem(generate_private_key()))
    (tmp_path / "alipay.pem").write_bytes(public_key_pem(generate_private_key().public_key()))
    (tmp_path / "apiv3.key").write_text("0123456789abcdefghijABCDEFGHIJ!!")
    alipay = {
        "app_id": "2021004100000001",
        "app_private_key_path": str(tmp_path / "app.pem"),
        "alipay_public_key_path": str(tmp_path / "alipay.pem"),
    }
    wechatpay = {
        "mchid": "1900009191",
        "appid": "wxd678efh567hg6787",
        "merchant_serial_no": "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        "merchant_private_key_path": str(tmp_path / "app.pem"),
        "platform_serial_no": "PUB_KEY_ID_01",
        "platform_public_key_path": str(tmp_path / "alipay.pem"),
        "apiv3_key_path": str(tmp_path / "apiv3.key"),
        "gateway_url": "http://127.0.0.1:9",
    }
    providers = {
        "payments": {
            "alipay": alipay,
            "alipay_hk": {**alipay, "kind": "alipay", "app_id": "2021004100000002", "display_name": "支付宝香港"},
            "wechatpay": wechatpay,
        }
    }
    settings = Settings(
        database_url=sqlite_url, mode="production", providers=providers, public_url="https://api.leasecore.test"
    )
    service = build_service(settings, clock=SettableClock(START))
    api = Api(service)
    try:
        yield api
    finally:
        api.close()


def pending_order(api: Api) -> tuple[str, dict[str, str]]:
    """An order awaiting its checkout, and its customer's token (built through the application: production mode
    serves no sandbox route to log in by)."""
    clock = api.service.clock
    assert isinstance(clock, SettableClock)
    world = build_world(api.service.app, clock)
    customer_id = world.customer()
    order_id = api.service.app.place_order(customer_id, world.request())
    api.service.written()
    token, _ = api.service.tokens.for_customer(customer_id)
    return str(order_id), {"Authorization": f"Bearer {token}"}


def order_string(payment: dict[str, Any]) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(payment["pay_params"]["order_string"]).items()}


def test_the_sandbox_is_the_only_way_to_pay_in_sandbox_mode(sandbox: Api) -> None:
    assert sandbox.get("/v1/payment-methods") == [{"provider": "sandbox", "name": "沙箱支付"}]
    world = sandbox.set_up_world()
    who = sandbox.customer()
    order = sandbox.place(who, sandbox.order_body(world.sku_id))
    path = f"/v1/orders/{order['id']}/payments"

    refused = sandbox.post(path, 422, who=who, json={"purpose": "checkout", "provider": "alipay"})
    assert refused["errors"] == [{"field": "provider", "message": "choose one of: sandbox"}]
    assert sandbox.get(path, who=who) == []

    chosen = sandbox.post(path, 201, who=who, json={"purpose": "checkout", "provider": "sandbox"})
    assert chosen["provider"] == "sandbox"
    assert [payment["provider"] for payment in sandbox.get(path, who=who)] == ["sandbox"]


def test_production_lists_the_configured_providers_in_order_to_anyone(production: Api) -> None:
    assert production.get("/v1/payment-methods") == [
        {"provider": "alipay", "name": "支付宝"},
        {"provider": "alipay_hk", "name": "支付宝香港"},
        {"provider": "wechatpay", "name": "微信支付"},
    ]


def test_a_payment_goes_to_the_provider_chosen_else_the_first(production: Api) -> None:
    order_id, token = pending_order(production)
    path = f"/v1/orders/{order_id}/payments"

    chosen = production.post(path, 201, who=token, json={"purpose": "checkout", "provider": "alipay_hk"})
    asked = order_string(chosen)
    assert chosen["provider"] == "alipay_hk"
    assert (asked["app_id"], asked["notify_url"]) == (
        "2021004100000002",
        "https://api.leasecore.test/v1/payments/notify/alipay_hk",
    )

    first = production.post(path, 201, who=token, json={"purpose": "checkout"})
    assert first["provider"] == "alipay" and order_string(first)["app_id"] == "2021004100000001"

    refused = production.post(path, 422, who=token, json={"purpose": "checkout", "provider": "unionpay"})
    assert refused["errors"] == [{"field": "provider", "message": "choose one of: alipay, alipay_hk, wechatpay"}]
    recorded = production.get(path, who=token)
    assert sorted(payment["provider"] for payment in recorded) == ["alipay", "alipay_hk"]

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.keys import private_key_pem, public_key_pem
from adapters.payments import (
    PROVIDER_KINDS,
    AlipayGateway,
    SandboxPayments,
    WeChatPayGateway,
    gateways_from_config,
    register_provider_kind,
)


def test_nothing_configured_means_the_sandbox_alone(clock):
    gateways = gateways_from_config({}, clock=clock)
    assert list(gateways) == ["sandbox"]
    assert isinstance(gateways["sandbox"], SandboxPayments)
    assert gateways["sandbox"].provider == "sandbox"


def test_the_sandbox_keeps_its_key_where_configured(clock, tmp_path):
    key_path = tmp_path / "sandbox.pem"
    first = gateways_from_config({"sandbox": {"key_path": str(key_path)}}, clock=clock)["sandbox"]
    second = gateways_from_config({"sandbox": {"key_path": str(key_path)}}, clock=clock)["sandbox"]
    assert isinstance(first, SandboxPayments) and isinstance(second, SandboxPayments)
    assert first.public_key_pem() == second.public_key_pem()


def test_providers_are_built_by_kind_and_named_as_configured(clock, tmp_path, merchant_key, provider_key):
    (tmp_path / "merchant.pem").write_bytes(private_key_pem(merchant_key))
    (tmp_path / "platform.pem").write_bytes(public_key_pem(provider_key.public_key()))
    (tmp_path / "apiv3.key").write_text("0123456789abcdefghijABCDEFGHIJ!!\n")
    alipay = {
        "app_id": "2021004100000001",
        "app_private_key_path": str(tmp_path / "merchant.pem"),
        "alipay_public_key_path": str(tmp_path / "platform.pem"),
    }
    wechat = {
        "mchid": "1900009191",
        "appid": "wxd678efh567hg6787",
        "merchant_serial_no": "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        "merchant_private_key_path": str(tmp_path / "merchant.pem"),
        "platform_serial_no": "PUB_KEY_ID_01",
        "platform_public_key_path": str(tmp_path / "platform.pem"),
        "apiv3_key_path": str(tmp_path / "apiv3.key"),
    }

    gateways = gateways_from_config(
        {"alipay": alipay, "alipay_hk": {**alipay, "kind": "alipay"}, "wechatpay": wechat}, clock=clock
    )

    assert {name: type(gateway) for name, gateway in gateways.items()} == {
        "alipay": AlipayGateway,
        "alipay_hk": AlipayGateway,
        "wechatpay": WeChatPayGateway,
    }
    assert [gateway.provider for gateway in gateways.values()] == ["alipay", "alipay_hk", "wechatpay"]
    request = gateways["alipay_hk"].create_payment("pay-1", D("1.00"), "x", "https://leasecore.test/notify/alipay_hk")
    assert request.provider == "alipay_hk"


def test_an_unknown_kind_or_missing_setting_is_named(clock):
    with pytest.raises(
        ValueError, match="'paypal' is of unknown kind 'paypal'; known kinds: alipay, sandbox, wechatpay"
    ):
        gateways_from_config({"paypal": {}}, clock=clock)
    with pytest.raises(ValueError, match="'app_id' is required"):
        gateways_from_config({"alipay": {}}, clock=clock)


def test_new_kinds_plug_in_without_editing_the_registry(clock):
    register_provider_kind("unionpay", lambda name, settings, context: SandboxPayments(context.clock, provider=name))
    try:
        gateways = gateways_from_config({"unionpay": {}}, clock=clock)
        assert gateways["unionpay"].provider == "unionpay"
    finally:
        PROVIDER_KINDS.pop("unionpay")

"""The check before production starts: every missing, unreadable or unknown provider setting named at once, by its
place in the configuration, with file paths but never a secret; `gateway_url` per provider; the payment methods."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.alipay_openapi import GATEWAY_URL, AlipayConfig
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments import (
    PROVIDER_KINDS,
    PaymentMethod,
    SandboxPayments,
    gateways_from_config,
    payment_methods,
    register_provider_kind,
)
from adapters.payments.wechatpay import BASE_URL, WeChatPayConfig
from adapters.providers import ProviderConfigurationError, check_providers, configuration_problems
from adapters.settings import ProviderSettings
from adapters.sms.aliyun import ENDPOINT, AliyunSmsConfig

APIV3_KEY = "0123456789abcdefghijABCDEFGHIJ!!"
ACCESS_KEY_SECRET = "aliyun-secret-Zx81"


@pytest.fixture
def keys(tmp_path: Path, merchant_key: rsa.RSAPrivateKey, provider_key: rsa.RSAPrivateKey) -> Path:
    """A directory of key files as an operator lays them out."""
    (tmp_path / "app_private.pem").write_bytes(private_key_pem(merchant_key))
    (tmp_path / "alipay_public.pem").write_bytes(public_key_pem(provider_key.public_key()))
    (tmp_path / "apiv3.key").write_text(APIV3_KEY + "\n")
    (tmp_path / "aliyun.secret").write_text(ACCESS_KEY_SECRET)
    return tmp_path


def alipay(keys: Path, **changes: Any) -> dict[str, Any]:
    settings = {
        "app_id": "2021004100000001",
        "app_private_key_path": str(keys / "app_private.pem"),
        "alipay_public_key_path": str(keys / "alipay_public.pem"),
    }
    return {name: value for name, value in {**settings, **changes}.items() if value is not None}


def wechatpay(keys: Path, **changes: Any) -> dict[str, Any]:
    settings = {
        "mchid": "1900009191",
        "appid": "wxd678efh567hg6787",
        "merchant_serial_no": "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        "merchant_private_key_path": str(keys / "app_private.pem"),
        "platform_serial_no": "PUB_KEY_ID_01",
        "platform_public_key_path": str(keys / "alipay_public.pem"),
        "apiv3_key_path": str(keys / "apiv3.key"),
    }
    return {name: value for name, value in {**settings, **changes}.items() if value is not None}


def aliyun(keys: Path, **changes: Any) -> dict[str, Any]:
    settings = {
        "access_key_id": "LTAI5t",
        "access_key_secret_path": str(keys / "aliyun.secret"),
        "sign_name": "leasecore",
        "template_code": "SMS_0",
    }
    return {name: value for name, value in {**settings, **changes}.items() if value is not None}


def test_a_complete_configuration_passes_and_builds(keys: Path) -> None:
    config = {
        "payments": {"alipay": alipay(keys), "wechatpay": wechatpay(keys)},
        "sms": aliyun(keys),
        "bureau": {"kind": "zhima", **alipay(keys)},
    }
    assert configuration_problems(config) == []
    check_providers(config)
    assert list(gateways_from_config(config["payments"])) == ["alipay", "wechatpay"]


def test_every_missing_key_is_listed_at_once_by_its_place(keys: Path) -> None:
    config = {
        "payments": {
            "alipay": alipay(keys, app_private_key_path=None, alipay_public_key_path="/etc/keys/x.pem"),
            "wechatpay": {"mchid": "1900009191", "appid": "", "merchant_serial_no": 408},
        },
        "sms": aliyun(keys, access_key_secret_path=None, sign_name=None),
    }
    with pytest.raises(ProviderConfigurationError) as refused:
        check_providers(config)
    assert refused.value.problems == [
        "payments.alipay.app_private_key_path: missing",
        "payments.alipay.alipay_public_key_path: file not found (/etc/keys/x.pem)",
        "payments.wechatpay.appid: missing",
        "payments.wechatpay.merchant_serial_no: must be text",
        "payments.wechatpay.platform_serial_no: missing",
        "payments.wechatpay.merchant_private_key_path: missing",
        "payments.wechatpay.platform_public_key_path: missing",
        "payments.wechatpay.apiv3_key_path: missing",
        "sms.sign_name: missing",
        "sms.access_key_secret_path: missing",
    ]
    message = str(refused.value)
    assert message.startswith("production mode refuses the provider configuration: payments.alipay.app_private_key")
    assert "\n" not in message and message.count("; ") == 9


def test_production_needs_a_payment_provider() -> None:
    assert configuration_problems({"sms": {}}) == ["payments: missing (production needs at least one payment provider)"]


def test_a_key_file_that_cannot_be_read_or_is_not_the_right_key_is_named(
    keys: Path, merchant_key: rsa.RSAPrivateKey
) -> None:
    (keys / "garbage.pem").write_text("not a key at all")
    (keys / "binary.der").write_bytes(b"\xff\xfe\x00\x01")
    encrypted = merchant_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    (keys / "encrypted.pem").write_bytes(encrypted)
    (keys / "short.key").write_text("too-short")
    config = {
        "payments": {
            "alipay": alipay(
                keys,
                app_private_key_path=str(keys / "alipay_public.pem"),
                alipay_public_key_path=str(keys / "app_private.pem"),
            ),
            "alipay_hk": alipay(
                keys, kind="alipay", app_private_key_path=str(keys), alipay_public_key_path=str(keys / "garbage.pem")
            ),
            "alipay_mo": alipay(
                keys,
                kind="alipay",
                app_private_key_path=str(keys / "encrypted.pem"),
                alipay_public_key_path=str(keys / "binary.der"),
            ),
            "wechatpay": wechatpay(keys, apiv3_key_path=str(keys / "short.key")),
            "wechatpay_hk": wechatpay(keys, kind="wechatpay", merchant_private_key_path="/etc/keys/\0.pem"),
        }
    }
    private = "an RSA private key (unencrypted PEM or base64)"
    public = "an RSA public key or certificate (PEM or base64)"
    assert configuration_problems(config) == [
        f"payments.alipay.app_private_key_path: not {private} ({keys / 'alipay_public.pem'})",
        f"payments.alipay.alipay_public_key_path: not {public} ({keys / 'app_private.pem'})",
        f"payments.alipay_hk.app_private_key_path: not a file ({keys})",
        f"payments.alipay_hk.alipay_public_key_path: not {public} ({keys / 'garbage.pem'})",
        f"payments.alipay_mo.app_private_key_path: not {private} ({keys / 'encrypted.pem'})",
        f"payments.alipay_mo.alipay_public_key_path: not {public} ({keys / 'binary.der'})",
        f"payments.wechatpay.apiv3_key_path: not a 32-byte APIv3 key ({keys / 'short.key'})",
        "payments.wechatpay_hk.merchant_private_key_path: must be a file path",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_a_key_file_the_service_may_not_read_is_named(keys: Path) -> None:
    locked = keys / "app_private.pem"
    locked.chmod(0)
    try:
        problems = configuration_problems({"payments": {"alipay": alipay(keys)}})
    finally:
        locked.chmod(0o600)
    assert problems == [f"payments.alipay.app_private_key_path: cannot be read ({locked}: permission denied)"]


def test_an_unknown_provider_or_kind_is_named_with_the_known_ones(keys: Path) -> None:
    config = {
        "payments": {"paypal": {}, "cash": {"kind": "cash"}, "odd": {"kind": 7}, "bad": "alipay"},
        "sms": {"kind": "twilio"},
        "bureau": {"kind": "zhima", **alipay(keys)},
        "fax": {},
    }
    assert configuration_problems(config) == [
        "payments.paypal: unknown provider 'paypal' (known: alipay, sandbox, wechatpay)",
        "payments.cash: unknown kind 'cash' (known: alipay, sandbox, wechatpay)",
        "payments.odd: unknown kind that is not text (known: alipay, sandbox, wechatpay)",
        "payments.bad: must be an object of settings",
        "sms: unknown kind 'twilio' (known: aliyun)",
        "fax: unknown capability (known: payments, sms, bureau, identity, logistics, esign)",
    ]


def test_a_misspelt_setting_is_refused_with_the_name_it_resembles(keys: Path) -> None:
    config = {"payments": {"alipay": alipay(keys, gatway_url="https://openapi.alipay.com/gateway.do", colour="red")}}
    assert configuration_problems(config) == [
        "payments.alipay.gatway_url: unknown setting (did you mean gateway_url?)",
        "payments.alipay.colour: unknown setting",
    ]


def test_secrets_never_appear_in_the_message(keys: Path, merchant_key: rsa.RSAPrivateKey) -> None:
    pem = private_key_pem(merchant_key).decode("ascii")
    body = "".join(pem.splitlines()[1:-1])
    config = {
        "payments": {
            "alipay": alipay(keys, app_private_key_path=None, app_private_key="SECRET-not-a-key-1"),
            "alipay_hk": alipay(keys, kind="alipay", app_private_key_path=pem),
            "alipay_mo": alipay(keys, kind="alipay", app_private_key_path=body),
            "alipay_sg": alipay(keys, kind="alipay", app_private_key_path=body.replace("/", "+")),
            "wechatpay": wechatpay(keys, apiv3_key_path=None, apiv3_key="SECRET-apiv3-2"),
        },
        "sms": aliyun(keys, access_key_secret_path=None, access_key_secret="   ", gateway_url="https://u:SECRET-3@"),
        "bureau": alipay(keys, app_private_key="SECRET-4", app_private_key_path=str(keys / "app_private.pem")),
    }
    with pytest.raises(ProviderConfigurationError) as refused:
        check_providers(config)
    message = str(refused.value)
    for secret in ("SECRET", body[:40], body[-40:], "BEGIN", APIV3_KEY, ACCESS_KEY_SECRET):
        assert secret not in message
    assert refused.value.problems == [
        "payments.alipay.app_private_key: not an RSA private key (unencrypted PEM or base64)",
        "payments.alipay_hk.app_private_key_path: is key material, not a path (give it as app_private_key)",
        "payments.alipay_mo.app_private_key_path: is key material, not a path (give it as app_private_key)",
        "payments.alipay_sg.app_private_key_path: is key material, not a path (give it as app_private_key)",
        "payments.wechatpay.apiv3_key: not a 32-byte APIv3 key",
        "sms.access_key_secret_path: missing",
        "sms.gateway_url: must be an http(s) URL",
        "bureau.app_private_key: give app_private_key or app_private_key_path, not both",
    ]


def test_key_material_may_be_given_inline(keys: Path, merchant_key: rsa.RSAPrivateKey) -> None:
    pem = private_key_pem(merchant_key).decode("ascii")
    config = {
        "payments": {"alipay": alipay(keys, app_private_key_path=None, app_private_key=pem)},
        "sms": aliyun(keys, access_key_secret_path=None, access_key_secret=ACCESS_KEY_SECRET),
    }
    assert configuration_problems(config) == []


def test_a_blank_inline_secret_is_no_secret_and_its_file_is_read(keys: Path) -> None:
    """What the check passes, the adapter reads: both take the file when the inline value is blank."""
    settings = aliyun(keys, access_key_secret=" ")
    assert configuration_problems({"payments": {"sandbox": {}}, "sms": settings}) == []
    assert AliyunSmsConfig.from_settings(settings).access_key_secret == ACCESS_KEY_SECRET


def test_every_provider_takes_a_gateway_url_defaulting_to_its_production_address(keys: Path) -> None:
    peer = "http://127.0.0.1:9001/gateway.do"
    assert AlipayConfig.from_settings(alipay(keys)).gateway_url == GATEWAY_URL
    assert AlipayConfig.from_settings(alipay(keys, gateway_url=peer)).gateway_url == peer
    assert WeChatPayConfig.from_settings(wechatpay(keys)).base_url == BASE_URL
    assert WeChatPayConfig.from_settings(wechatpay(keys, gateway_url=peer)).base_url == peer
    assert WeChatPayConfig.from_settings(wechatpay(keys, base_url=peer)).base_url == peer
    assert AliyunSmsConfig.from_settings(aliyun(keys)).endpoint == ENDPOINT
    assert AliyunSmsConfig.from_settings(aliyun(keys, gateway_url=peer)).endpoint == peer
    assert AliyunSmsConfig.from_settings(aliyun(keys, endpoint=peer)).endpoint == peer
    config = {
        "payments": {
            "alipay": alipay(keys, gateway_url="ftp://openapi.alipay.com"),
            "wechatpay": wechatpay(keys, gateway_url=peer, base_url=peer),
            "sandbox": {"gateway_url": peer},
        },
        "sms": aliyun(keys, endpoint="https://"),
    }
    assert configuration_problems(config) == [
        "payments.alipay.gateway_url: must be an http(s) URL",
        "payments.wechatpay.gateway_url: give one of gateway_url, base_url, not both",
        "payments.sandbox.gateway_url: unknown setting",
        "sms.endpoint: must be an http(s) URL",
    ]


def test_a_kind_registered_with_its_settings_is_checked_and_one_without_them_is_not(keys: Path) -> None:
    def unionpay(name: str, settings: Any, context: Any) -> SandboxPayments:
        return SandboxPayments(context.clock, provider=name)

    register_provider_kind("unionpay", unionpay, ProviderSettings("银联", required=("mer_id",)))
    register_provider_kind("cash", unionpay)
    try:
        assert configuration_problems({"payments": {"unionpay": {}, "cash": {"anything": "1"}}}) == [
            "payments.unionpay.mer_id: missing"
        ]
        assert payment_methods({"unionpay": {}, "cash": {}}) == [
            PaymentMethod("unionpay", "银联"),
            PaymentMethod("cash", "cash"),
        ]
    finally:
        PROVIDER_KINDS.pop("unionpay")
        PROVIDER_KINDS.pop("cash")


def test_payment_methods_are_the_configured_providers_in_order_under_the_names_customers_know(keys: Path) -> None:
    config = {
        "wechatpay": wechatpay(keys),
        "alipay": alipay(keys),
        "alipay_hk": alipay(keys, kind="alipay", display_name="支付宝香港"),
        "sandbox": {},
    }
    assert payment_methods(config) == [
        PaymentMethod("wechatpay", "微信支付"),
        PaymentMethod("alipay", "支付宝"),
        PaymentMethod("alipay_hk", "支付宝香港"),
        PaymentMethod("sandbox", "沙箱支付"),
    ]
    assert configuration_problems({"payments": config}) == []

"""Payment providers chosen by configuration; the sandbox when nothing is configured.

The configuration maps each provider's name (the `{provider}` of `/v1/payments/notify/{provider}`) to its
settings; `kind` names the implementation and defaults to the name, so one kind may serve several names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.payments.alipay import AlipayConfig, AlipayGateway
from adapters.payments.sandbox import Deliver, SandboxPayments
from adapters.payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from leasecore.clock import SystemClock
from leasecore.ports import Clock, PaymentGateway


@dataclass(frozen=True)
class GatewayContext:
    """What every gateway may share: the clock, an HTTP client, and how the sandbox delivers notifications."""

    clock: Clock
    http_client: httpx.Client | None = None
    deliver: Deliver | None = None


GatewayFactory = Callable[[str, Mapping[str, Any], GatewayContext], PaymentGateway]


def sandbox_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    return SandboxPayments(
        context.clock,
        key_path=settings.get("key_path"),
        app_id=str(settings.get("app_id", "2021000000000000")),
        deliver=context.deliver,
        http_client=context.http_client,
        provider=name,
    )


def alipay_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    config = AlipayConfig.from_settings(settings)
    return AlipayGateway(config, http_client=context.http_client, clock=context.clock, provider=name)


def wechatpay_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    config = WeChatPayConfig.from_settings(settings)
    return WeChatPayGateway(config, http_client=context.http_client, clock=context.clock, provider=name)


PROVIDER_KINDS: dict[str, GatewayFactory] = {
    "sandbox": sandbox_gateway,
    "alipay": alipay_gateway,
    "wechatpay": wechatpay_gateway,
}


def register_provider_kind(kind: str, factory: GatewayFactory) -> None:
    """A new kind of provider becomes configurable without touching this module."""
    PROVIDER_KINDS[kind] = factory


def gateways_from_config(
    config: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    clock: Clock | None = None,
    http_client: httpx.Client | None = None,
    deliver: Deliver | None = None,
) -> dict[str, PaymentGateway]:
    """One gateway per configured provider, keyed by its name; only the sandbox when nothing is configured."""
    context = GatewayContext(clock or SystemClock(), http_client, deliver)
    if not config:
        return {"sandbox": sandbox_gateway("sandbox", {}, context)}
    return {name: _factory(name, settings)(name, settings, context) for name, settings in config.items()}


def _factory(name: str, settings: Mapping[str, Any]) -> GatewayFactory:
    kind = settings.get("kind", name)
    factory = PROVIDER_KINDS.get(kind) if isinstance(kind, str) else None
    if factory is None:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ValueError(f"payment provider {name!r} is of unknown kind {kind!r}; known kinds: {known}")
    return factory


__all__ = [
    "AlipayGateway",
    "GatewayContext",
    "SandboxPayments",
    "WeChatPayGateway",
    "gateways_from_config",
    "register_provider_kind",
]

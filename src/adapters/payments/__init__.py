"""Payment providers chosen by configuration; the sandbox when nothing is configured.

The configuration maps each provider's name (the `{provider}` of `/v1/payments/notify/{provider}`) to its
settings; `kind` names the implementation and defaults to the name, so one kind may serve several names. Each kind
is registered with what its settings must hold (its module's `SETTINGS`), checked before production starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.payments import alipay, sandbox, wechatpay
from adapters.payments.alipay import AlipayConfig, AlipayGateway
from adapters.payments.sandbox import Deliver, SandboxPayments
from adapters.payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from adapters.sandbox_store import SandboxStore
from adapters.settings import ProviderSettings
from leasecore.clock import SystemClock
from leasecore.ports import Clock, PaymentGateway


@dataclass(frozen=True)
class GatewayContext:
    """What every gateway may share: the clock, an HTTP client, and how the sandbox delivers notifications."""

    clock: Clock
    http_client: httpx.Client | None = None
    deliver: Deliver | None = None
    sandbox_store: SandboxStore | None = None
    """Where a sandbox gateway keeps its payments (its own memory when None)."""


GatewayFactory = Callable[[str, Mapping[str, Any], GatewayContext], PaymentGateway]


def sandbox_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    return SandboxPayments(
        context.clock,
        key_path=settings.get("key_path"),
        app_id=str(settings.get("app_id", "2021000000000000")),
        deliver=context.deliver,
        http_client=context.http_client,
        provider=name,
        store=context.sandbox_store,
    )


def alipay_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    config = AlipayConfig.from_settings(settings)
    return AlipayGateway(config, http_client=context.http_client, clock=context.clock, provider=name)


def wechatpay_gateway(name: str, settings: Mapping[str, Any], context: GatewayContext) -> PaymentGateway:
    config = WeChatPayConfig.from_settings(settings)
    return WeChatPayGateway(config, http_client=context.http_client, clock=context.clock, provider=name)


@dataclass(frozen=True)
class ProviderKind:
    """An implementation of the payment port: how to build its gateway, and what its settings must hold."""

    build: GatewayFactory
    settings: ProviderSettings


PROVIDER_KINDS: dict[str, ProviderKind] = {
    "sandbox": ProviderKind(sandbox_gateway, sandbox.SETTINGS),
    "alipay": ProviderKind(alipay_gateway, alipay.SETTINGS),
    "wechatpay": ProviderKind(wechatpay_gateway, wechatpay.SETTINGS),
}


def register_provider_kind(kind: str, factory: GatewayFactory, settings: ProviderSettings | None = None) -> None:
    """A new kind of provider becomes configurable without touching this module; without its `settings` declared,
    the check before production accepts whatever it is given."""
    PROVIDER_KINDS[kind] = ProviderKind(factory, settings or ProviderSettings(kind, closed=False))


@dataclass(frozen=True)
class PaymentMethod:
    """A way a customer may pay: the provider's configured name and the name a customer knows it by."""

    provider: str
    name: str


def payment_methods(config: Mapping[str, Mapping[str, Any]]) -> list[PaymentMethod]:
    """The configured providers in their configured order (the first is the default), each under its
    `display_name`, else its kind's own name."""
    return [PaymentMethod(name, _display_name(name, settings)) for name, settings in config.items()]


def _display_name(name: str, settings: Mapping[str, Any]) -> str:
    given = settings.get("display_name")
    if isinstance(given, str) and given.strip():
        return given.strip()
    kind = PROVIDER_KINDS.get(str(settings.get("kind", name)))
    return kind.settings.display_name if kind is not None else name


def gateways_from_config(
    config: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    clock: Clock | None = None,
    http_client: httpx.Client | None = None,
    deliver: Deliver | None = None,
    sandbox_store: SandboxStore | None = None,
) -> dict[str, PaymentGateway]:
    """One gateway per configured provider, keyed by its name; only the sandbox when nothing is configured."""
    context = GatewayContext(clock or SystemClock(), http_client, deliver, sandbox_store)
    if not config:
        return {"sandbox": sandbox_gateway("sandbox", {}, context)}
    return {name: _kind(name, settings).build(name, settings, context) for name, settings in config.items()}


def _kind(name: str, settings: Mapping[str, Any]) -> ProviderKind:
    kind = settings.get("kind", name)
    found = PROVIDER_KINDS.get(kind) if isinstance(kind, str) else None
    if found is None:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ValueError(f"payment provider {name!r} is of unknown kind {kind!r}; known kinds: {known}")
    return found


__all__ = [
    "PROVIDER_KINDS",
    "AlipayGateway",
    "GatewayContext",
    "PaymentMethod",
    "ProviderKind",
    "SandboxPayments",
    "WeChatPayGateway",
    "gateways_from_config",
    "payment_methods",
    "register_provider_kind",
]

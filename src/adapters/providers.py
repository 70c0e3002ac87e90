"""Every provider the service can be configured with, by capability, and the check run before production starts.

The configuration (`LEASECORE_PROVIDERS`) is `{"payments": {name: settings, …}, "sms": settings, "bureau": settings}`:
payments may have several providers, each named as customers choose it (its kind defaults to its name); SMS, the
credit bureau and identity have one each, its kind defaulting to the only one there is. The check names every missing,
unreadable or unknown setting at once, by its place in the configuration (`payments.alipay.app_private_key_path`),
with file paths but never a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.credit_bureau import zhima
from adapters.esign import esignbao
from adapters.identity import tencent
from adapters.logistics import kdniao
from adapters.payments import PROVIDER_KINDS
from adapters.settings import ProviderSettings
from adapters.sms import aliyun


@dataclass(frozen=True)
class Capability:
    """An outside service the platform may reach through one of several providers, each kind with its settings.

    `default_kind` is `None` when the capability names its providers (payments): the name is then the kind."""

    kinds: Callable[[], Mapping[str, ProviderSettings]]
    default_kind: str | None = None

    @property
    def named(self) -> bool:
        return self.default_kind is None


CAPABILITIES: dict[str, Capability] = {
    "payments": Capability(lambda: {kind: entry.settings for kind, entry in PROVIDER_KINDS.items()}),
    "sms": Capability(lambda: {"aliyun": aliyun.SETTINGS}, default_kind="aliyun"),
    "bureau": Capability(lambda: {"zhima": zhima.SETTINGS}, default_kind="zhima"),
    "identity": Capability(lambda: {"tencent": tencent.SETTINGS}, default_kind="tencent"),
    "logistics": Capability(lambda: {"kdniao": kdniao.SETTINGS}, default_kind="kdniao"),
    "esign": Capability(lambda: {"esign": esignbao.SETTINGS}, default_kind="esign"),
}
"""The capabilities `LEASECORE_PROVIDERS` configures."""


class ProviderConfigurationError(ValueError):
    """The provider configuration cannot serve production: every problem found, in one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("production mode refuses the provider configuration: " + "; ".join(problems))
        self.problems = problems


def check_providers(config: Mapping[str, Any]) -> None:
    """Refuse, naming every problem at once, a configuration production cannot run on."""
    problems = configuration_problems(config)
    if problems:
        raise ProviderConfigurationError(problems)


def configuration_problems(config: Mapping[str, Any]) -> list[str]:
    """`place: reason` for each missing, unreadable or unknown setting; production needs a payment provider."""
    found: list[str] = []
    if not config.get("payments"):
        found.append("payments: missing (production needs at least one payment provider)")
    for capability, entries in config.items():
        known = CAPABILITIES.get(capability)
        if known is None:
            found.append(f"{capability}: unknown capability (known: {', '.join(CAPABILITIES)})")
        elif not isinstance(entries, Mapping):
            found.append(f"{capability}: must be an object of settings")
        elif known.named:
            for name, settings in entries.items():
                found.extend(_provider_problems(f"{capability}.{name}", known, name, settings))
        elif entries:
            found.extend(_provider_problems(capability, known, str(known.default_kind), entries))
    return found


def _provider_problems(place: str, capability: Capability, default_kind: str, settings: Any) -> list[str]:
    if not isinstance(settings, Mapping):
        return [f"{place}: must be an object of settings"]
    kinds = capability.kinds()
    kind = settings.get("kind", default_kind)
    spec = kinds.get(kind) if isinstance(kind, str) else None
    if spec is None:
        what = "kind" if "kind" in settings else "provider"
        named = repr(kind) if isinstance(kind, str) else "that is not text"
        return [f"{place}: unknown {what} {named} (known: {', '.join(sorted(kinds))})"]
    return [f"{place}.{name}: {reason}" for name, reason in spec.problems(settings)]


__all__ = ["CAPABILITIES", "Capability", "ProviderConfigurationError", "check_providers", "configuration_problems"]

"""Reading an adapter's settings from a configuration mapping, with key material inline or in files; and what each
provider declares its settings must hold, checked before production starts."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm

from adapters.keys import load_private_key, load_public_key

BASE64_RUN = re.compile(r"[A-Za-z0-9+/=\s]+")


def required(settings: Mapping[str, Any], name: str) -> str:
    """A setting that must be a non-empty string."""
    value = settings.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"setting {name!r} is required")
    return value


def optional(settings: Mapping[str, Any], name: str, default: str) -> str:
    value = settings.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"setting {name!r} must be a string")
    return value


def seconds(settings: Mapping[str, Any], name: str, default: float) -> float:
    """A duration in seconds, given as text (`"2.5"`); the default when not given."""
    text = optional(settings, name, str(default))
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"setting {name!r} is a number of seconds, not {text!r}") from None
    if not 0 < value <= 120:
        raise ValueError(f"setting {name!r} is between 0 and 120 seconds")
    return value


def secret(settings: Mapping[str, Any], name: str) -> str:
    """Key material given inline as `name`, or read from the file named by `name_path`."""
    if _given(settings.get(name)):
        return required(settings, name)
    path = settings.get(f"{name}_path")
    if not isinstance(path, str) or not path:
        raise ValueError(f"setting {name!r} or {name + '_path'!r} is required")
    return Path(path).read_text(encoding="utf-8")


Problem = tuple[str, str]
"""A setting's name and what is wrong with it, in words that name files but never quote a secret."""

UNIVERSAL = ("kind", "display_name")
"""Settings every provider takes: which implementation serves it, and how a customer sees it named."""


@dataclass(frozen=True)
class KeyMaterial:
    """A secret given inline as `name` or in a file named by `name_path`: how it is read (raising `ValueError` when
    it is not what it should be), and what is wrong then, said without quoting it."""

    wrong: str
    read: Callable[[str], object]


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("empty")
    return text


RSA_PRIVATE_KEY = KeyMaterial("not an RSA private key (unencrypted PEM or base64)", load_private_key)
RSA_PUBLIC_KEY = KeyMaterial("not an RSA public key or certificate (PEM or base64)", load_public_key)
TEXT_SECRET = KeyMaterial("empty", _nonempty)


@dataclass(frozen=True)
class ProviderSettings:
    """What one provider's settings must hold, declared beside its adapter and checked all at once before production
    starts, so a missing, unreadable or wrong key is named before the first payment rather than at it.

    `gateway_url` is the provider's production address (`None`: it calls no gateway), which `gateway_aliases`, the
    setting's older names, may also give; `closed` refuses settings it does not declare (a typo is not ignored)."""

    display_name: str
    required: tuple[str, ...] = ()
    secrets: Mapping[str, KeyMaterial] = field(default_factory=dict)
    optional: tuple[str, ...] = ()
    gateway_url: str | None = None
    gateway_aliases: tuple[str, ...] = ()
    closed: bool = True

    @property
    def known(self) -> tuple[str, ...]:
        gateway = ("gateway_url",) if self.gateway_url is not None else ()
        keys = [name for secret in self.secrets for name in (secret, f"{secret}_path")]
        return (*UNIVERSAL, *self.required, *keys, *gateway, *self.gateway_aliases, *self.optional)

    def problems(self, settings: Mapping[str, Any]) -> list[Problem]:
        """Every missing, unreadable or malformed setting, in the order they are declared."""
        found = [(name, reason) for name in self.required if (reason := _text_problem(settings, name))]
        for name, material in self.secrets.items():
            found.extend(_secret_problems(settings, name, material))
        if self.gateway_url is not None:
            found.extend(self._gateway_problems(settings))
        found.extend((name, "must be text") for name in (*UNIVERSAL, *self.optional) if _not_text(settings, name))
        if self.closed:
            known = self.known
            found.extend((name, _unknown(name, known)) for name in settings if name not in known)
        return found

    def gateway(self, settings: Mapping[str, Any]) -> str:
        """The gateway URL configured (under its name today or an older one), else the production address."""
        for name in ("gateway_url", *self.gateway_aliases):
            if settings.get(name):
                return optional(settings, name, "")
        return self.gateway_url or ""

    def _gateway_problems(self, settings: Mapping[str, Any]) -> list[Problem]:
        given = [name for name in ("gateway_url", *self.gateway_aliases) if name in settings]
        if len(given) > 1:
            return [(given[0], f"give one of {', '.join(given)}, not both")]
        if not given:
            return []
        url = settings[given[0]]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return [(given[0], "must be an http(s) URL")]
        return []


def _unknown(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"unknown setting (did you mean {close[0]}?)" if close else "unknown setting"


def _not_text(settings: Mapping[str, Any], name: str) -> bool:
    return name in settings and not isinstance(settings[name], str)


def _text_problem(settings: Mapping[str, Any], name: str) -> str:
    value = settings.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing"
    return "" if isinstance(value, str) else "must be text"


def _secret_problems(settings: Mapping[str, Any], name: str, material: KeyMaterial) -> list[Problem]:
    """Inline or in a file, never both; a file that exists, can be read, and holds the right kind of key."""
    path_name = f"{name}_path"
    inline, path = _given(settings.get(name)), settings.get(path_name)
    if inline and path:
        return [(name, f"give {name} or {path_name}, not both")]
    if inline:
        if not isinstance(inline, str):
            return [(name, "must be text")]
        return [] if _reads_as(material, inline) else [(name, material.wrong)]
    if not path:
        return [(path_name, "missing")]
    if not isinstance(path, str):
        return [(path_name, "must be a file path")]
    return [(path_name, reason)] if (reason := _file_problem(Path(path), material, name)) else []


def _file_problem(path: Path, material: KeyMaterial, inline_name: str) -> str:
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as error:
        if _looks_like_key_material(str(path)):
            return f"is key material, not a path (give it as {inline_name})"
        return _unreadable(path, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{material.wrong} ({path})"
    return "" if _reads_as(material, text) else f"{material.wrong} ({path})"


def _unreadable(path: Path, error: OSError | ValueError) -> str:
    if not isinstance(error, OSError):
        return "must be a file path"
    if isinstance(error, FileNotFoundError):
        return f"file not found ({path})"
    if isinstance(error, IsADirectoryError):
        return f"not a file ({path})"
    if isinstance(error, PermissionError):
        return f"cannot be read ({path}: permission denied)"
    return f"cannot be read ({path}: {error.strerror or type(error).__name__})"


def _given(value: Any) -> Any:
    """Blank text is no value at all."""
    return None if isinstance(value, str) and not value.strip() else value


def _reads_as(material: KeyMaterial, text: str) -> bool:
    try:
        material.read(text)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _looks_like_key_material(text: str) -> bool:
    """A PEM block or a long bare base64 run: printing it as a path would print the secret."""
    return "-----" in text or "\n" in text or (len(text) >= 64 and BASE64_RUN.fullmatch(text) is not None)

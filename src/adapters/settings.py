"""Reading an adapter's settings from a configuration mapping, with key material inline or in files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


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


def secret(settings: Mapping[str, Any], name: str) -> str:
    """Key material given inline as `name`, or read from the file named by `name_path`."""
    if settings.get(name):
        return required(settings, name)
    path = settings.get(f"{name}_path")
    if not isinstance(path, str) or not path:
        raise ValueError(f"setting {name!r} or {name + '_path'!r} is required")
    return Path(path).read_text(encoding="utf-8")

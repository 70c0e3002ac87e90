"""The README's layout is the tree: every folder and module it names exists, and every package and every
module of the layers' own code is named there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMED_MODULES_IN = (
    "src/leasecore",
    "src/leasecore/lease",
    "src/leasecore/credit",
    "src/leasecore/credit/scoring",
    "src/leasecore/catalog",
    "src/leasecore/money",
    "src/leasecore/application",
    "src/projections",
    "src/api",
    "src/api/http",
    "src/api/processes",
)
"""Folders whose every module the layout names (adapters, endpoints and schemas are named by folder)."""


def layout() -> list[tuple[str, list[str]]]:
    """The layout block's entries: each top-level path with the names on its lines."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    entries: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        names = re.findall(r"[\w.\-]+(?:/[\w.\-]+)*/?", line.split("  ", 1)[0] if not line.startswith(" ") else "")
        if not line.startswith(" "):
            entries.append((names[0], []))
        entries[-1][1].extend(re.findall(r"(?<![\w./])([\w\-]+(?:\.(?:py|json|md))|[\w\-]+/)", line))
    return entries


def test_every_name_in_the_layout_exists_in_the_tree() -> None:
    missing = []
    for top, names in layout():
        base = ROOT / top
        assert base.exists(), f"{top} is in the README's layout but not in the tree"
        for name in names:
            wanted = name.rstrip("/")
            found = [path for path in [base, *base.rglob("*")] if path.name == wanted]
            if not found and not (ROOT / name).exists():
                missing.append(f"{top} … {name}")
    assert missing == []


def test_every_package_and_module_of_the_layers_is_named_in_the_layout() -> None:
    named = {name.rstrip("/") for _, names in layout() for name in names}
    packages = {path.parent.name for path in (ROOT / "src").rglob("__init__.py") if path.parent.parent.name != "src"}
    modules = {
        path.name
        for folder in NAMED_MODULES_IN
        for path in (ROOT / folder).glob("*.py")
        if path.name != "__init__.py"
    }
    assert sorted((packages | modules) - named) == []

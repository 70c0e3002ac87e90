"""Every layer talks only downward (STYLE.md): the domain imports nothing of ours but itself, read models and
adapters import the domain and their own libraries, never each other or the API; the API alone wires; no
module imports itself back through a cycle."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
OURS = {"leasecore", "projections", "adapters", "api"}
LAYERS: dict[str, tuple[set[str], set[str]]] = {
    "leasecore": ({"leasecore"}, {"eventsourcing"}),
    "projections": ({"leasecore", "projections"}, {"eventsourcing", "sqlalchemy"}),
    "adapters": ({"leasecore", "adapters"}, {"httpx", "cryptography", "stdnum"}),
}
"""Per layer: which of our packages it may import, and which outside libraries (the standard library always)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Every module a file imports, wherever the import stands (relative imports resolved)."""
    name = module_name(path) if path.is_relative_to(SRC) else path.stem
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def sources(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in OURS for path in sources(package)}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_what_it_may(layer: str) -> None:
    ours, libraries = LAYERS[layer]
    offenders: dict[str, list[str]] = {}
    for path in sources(layer):
        wrong = sorted(
            {
                name
                for name in imports(path)
                if (root := name.split(".")[0]) not in sys.stdlib_module_names
                and root not in libraries
                and (root not in OURS or root not in ours)
            }
        )
        if wrong:
            offenders[module_name(path)] = wrong
    assert offenders == {}


def import_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports (a `from package import name` counts the package)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        graph[name] = {target for target in imports(path) if target in known and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {
        name: {target for target in targets if not name.startswith(f"{target}.")}
        for name, targets in import_graph().items()
    }
    assert cycles(graph) == []


def test_the_checks_notice_a_wrong_import_and_a_cycle(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import sqlalchemy\nfrom starlette.routing import Route\nimport json\nfrom . import sibling\n")
    assert set(imports(module)) - set(sys.stdlib_module_names) >= {"sqlalchemy", "starlette.routing"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []

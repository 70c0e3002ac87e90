"""The domain imports only the standard library and eventsourcing (STYLE.md, habit 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import leasecore

ALLOWED_THIRD_PARTY = {"eventsourcing"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_domain_imports_only_the_standard_library_and_eventsourcing() -> None:
    package = Path(leasecore.__file__).parent
    offenders = {}
    for path in sorted(package.rglob("*.py")):
        foreign = {
            root
            for root in imported_roots(path)
            if root not in sys.stdlib_module_names and root not in ALLOWED_THIRD_PARTY and root != "leasecore"
        }
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_the_check_itself_notices_a_foreign_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import sqlalchemy\nfrom starlette.routing import Route\nimport json\n")
    assert imported_roots(module) - set(sys.stdlib_module_names) == {"sqlalchemy", "starlette"}

"""The HTTP contract lives in the repository: docs/http-api.md lists exactly the routes served, each operation has
its own operationId, and the README points only at files of the repository."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import Api, running

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "http-api.md"
README = ROOT / "README.md"
NON_API = ("/openapi.json", "/docs", "/v1/health")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE = re.compile(rf"^({'|'.join(METHODS)}) (/\S+)")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
DOCUMENT_SPAN = re.compile(r"`([^`\s]+\.md)`")

Route = tuple[str, str]


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    answer: dict[str, Any] = api.get("/openapi.json")
    return answer


def cells(row: str) -> list[str]:
    """A Markdown table row's cells (a `\\|` inside a cell is not a separator)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def documented_rows(text: str) -> list[tuple[int, str]]:
    """Every table row outside code fences whose first cell starts with an HTTP method: (line number, first cell)."""
    rows, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.lstrip().startswith("|"):
            first = cells(line)[0].strip("`").strip()
            if ROUTE.match(first):
                rows.append((number, first))
    return rows


def documented_routes(text: str) -> list[Route]:
    """The (METHOD, path) of every route row of the contract, in order, duplicates kept."""
    found = [ROUTE.match(first) for _, first in documented_rows(text)]
    return [(match.group(1), match.group(2)) for match in found if match]


def served_routes(api: Api, document: dict[str, Any]) -> set[Route]:
    """Every (METHOD, path) the OpenAPI document describes, plus the service's own routes (which must answer)."""
    described = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    for path in NON_API:
        api.get(path, 200)
    return described | {("GET", path) for path in NON_API}


def listing(routes: set[Route]) -> str:
    return "\n".join(f"  {method} {path}" for method, path in sorted(routes, key=lambda route: (route[1], route[0])))


def local_references(markdown: Path) -> list[str]:
    """Every link target that is not a web URL, mail address or in-page anchor, and every `*.md` code span."""
    text = markdown.read_text(encoding="utf-8")
    targets = [*INLINE_LINK.findall(text), *REFERENCE_LINK.findall(text), *DOCUMENT_SPAN.findall(text)]
    return [target for target in targets if not re.match(r"^(https?:|mailto:|#)", target)]


def outside_the_repository(markdown: Path) -> list[str]:
    """The local references of the file that leave the repository or name no existing path in it."""
    wrong = []
    for target in local_references(markdown):
        path = target.split("#", 1)[0]
        resolved = (markdown.parent / path).resolve()
        if target.startswith("/") or not resolved.is_relative_to(ROOT):
            wrong.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            wrong.append(f"{target} (no such path in the repository)")
    return wrong


def test_every_documented_route_is_served_and_every_served_route_is_documented(
    api: Api, document: dict[str, Any]
) -> None:
    documented = set(documented_routes(CONTRACT.read_text(encoding="utf-8")))
    served = served_routes(api, document)
    not_served, undocumented = documented - served, served - documented
    assert not not_served and not undocumented, (
        f"{CONTRACT.relative_to(ROOT)} and the served OpenAPI document disagree\n"
        f"documented but not served ({len(not_served)}):\n{listing(not_served)}\n"
        f"served but not documented ({len(undocumented)}):\n{listing(undocumented)}"
    )
    assert len(documented) >= 50


def test_the_contract_lists_each_route_once_in_one_row() -> None:
    rows = documented_rows(CONTRACT.read_text(encoding="utf-8"))
    malformed = [f"line {number}: {first}" for number, first in rows if not re.fullmatch(r"[A-Z]+ /\S+", first)]
    assert not malformed, "one route per row, `METHOD /path` and nothing else in the first cell:\n" + "\n".join(
        malformed
    )
    routes = documented_routes(CONTRACT.read_text(encoding="utf-8"))
    twice = sorted({route for route in routes if routes.count(route) > 1})
    assert not twice, f"documented more than once: {twice}"


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    operations: dict[str, list[str]] = defaultdict(list)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations[operation.get("operationId", "")].append(f"{method.upper()} {path}")
    assert "" not in operations, f"operations without an operationId: {operations.get('')}"
    shared = {operation_id: where for operation_id, where in operations.items() if len(where) > 1}
    assert not shared, f"operationIds used by more than one operation: {shared}"


def test_the_readme_links_only_to_files_of_the_repository() -> None:
    assert local_references(README), "the README links to nothing in the repository (is the parser broken?)"
    wrong = outside_the_repository(README)
    assert not wrong, "README.md refers to paths outside the repository or missing from it:\n" + "\n".join(wrong)


def test_the_contract_links_only_to_files_of_the_repository() -> None:
    wrong = outside_the_repository(CONTRACT)
    assert not wrong, "docs/http-api.md refers to paths outside the repository or missing from it:\n" + "\n".join(wrong)

"""`/docs` is Swagger UI over the served OpenAPI document, its files served by this service and nothing fetched from
elsewhere; what Swagger UI does not show (roles, problem types) is in the document's descriptions; the error answers
are declared once and referred to."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.support import Api, running

CONTENT_TYPES = {".css": "text/css", ".js": "javascript", ".png": "image/png"}


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    answer: dict[str, Any] = api.get("/openapi.json")
    return answer


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


# The page.


def test_docs_is_swagger_ui_over_the_served_document(api: Api) -> None:
    response = api.get("/docs")
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle(" in page and '<div id="swagger-ui">' in page
    found = re.search(r"SwaggerUIBundle\(Object\.assign\((\{.*?\}), ", page)
    assert found, page
    settings = json.loads(found.group(1))
    assert settings["url"] == "/openapi.json" and settings["validatorUrl"] is None
    assert api.get(settings["url"])["openapi"] == "3.1.0"


def test_the_docs_page_loads_its_files_from_this_server_and_nothing_from_elsewhere(api: Api) -> None:
    page = api.get("/docs").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert {asset.rsplit(".", 1)[-1] for asset in assets} >= {"js", "css"}
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        answer = api.get(asset)
        suffix = "." + asset.rsplit(".", 1)[-1]
        assert CONTENT_TYPES[suffix] in answer.headers["content-type"], (asset, answer.headers["content-type"])
        assert len(answer.content) > 100
        if suffix == ".css":
            assert all(url.startswith(("data:", '"data:')) for url in re.findall(r"url\(([^)]*)\)", answer.text))
    assert "SwaggerUIBundle" in api.get("/docs/static/swagger-ui-bundle.js").text
    assert not re.search(r"https?://|//[a-z]", page, re.IGNORECASE)


def test_a_missing_file_is_a_problem_not_a_page(api: Api) -> None:
    assert api.get("/docs/static/nothing-here.js", 404)["type"] == "/problems/not-found"
    assert api.get("/docs/static/%2e%2e/core.py", 404)["type"] == "/problems/not-found"


def test_what_swagger_ui_does_not_show_is_in_the_descriptions(document: dict[str, Any]) -> None:
    assert "Roles: risk." in document["paths"]["/v1/admin/reviews"]["get"]["description"]
    assert "only the customer's own data" in document["paths"]["/v1/orders"]["post"]["description"]
    assert "no token" in document["paths"]["/v1/auth/otp"]["post"]["description"]
    assert "`/problems/not-found`" in document["components"]["schemas"]["Problem"]["description"]


# Errors.


def test_error_answers_are_declared_once_and_referred_to(document: dict[str, Any]) -> None:
    declared = document["components"]["responses"]
    for response in declared.values():
        assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert response["description"]
    referred = set()
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert set(response) == {"$ref"}, f"{method} {path} {status} is written out, not referred to"
                name = response["$ref"].removeprefix("#/components/responses/")
                assert name in declared, response["$ref"]
                referred.add(name)
    assert referred == set(declared)


def test_each_route_still_lists_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    def statuses(path: str, method: str) -> set[int]:
        return {int(status) for status in document["paths"][path][method]["responses"] if int(status) >= 400}

    assert statuses("/v1/orders", "post") == {400, 401, 403, 404, 409, 413, 422, 429, 502, 503}
    assert statuses("/v1/health", "get") == {422}
    assert statuses("/v1/admin/reviews", "get") >= {401, 403}
    assert document["paths"]["/v1/orders"]["post"]["responses"]["409"] == {"$ref": "#/components/responses/Conflict"}

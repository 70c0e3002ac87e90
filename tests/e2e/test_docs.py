"""`/docs` is Swagger UI over the served OpenAPI document, its files served by this service and nothing fetched from
elsewhere; what Swagger UI does not show (roles, problem types) is in the document's descriptions; the error answers
are declared once and referred to; every request body has an example its route accepts, or refuses only for the
state of things, never for its shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel

from api.http.endpoint import Endpoint, Raw
from api.http.routes import endpoints
from api.http.schemas.admin_reports import CONFIG_DOCUMENTS, ConfigDocument
from tests.e2e.support import Api, Customer, World, running

CONTENT_TYPES = {".css": "text/css", ".js": "javascript", ".png": "image/png"}
NOT_UNDERSTOOD = ("/problems/malformed-json", "/problems/validation")
"""The problem types of a body refused for its shape rather than for the state of things."""

Example = tuple[str, str, Any]
"""An example request body: its media type, its name (empty if it has none) and its value."""


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


def examples(document: dict[str, Any], operation: dict[str, Any]) -> list[Example]:
    """The request body's examples: those of each media type, else those of the schema it refers to."""
    found: list[Example] = []
    for media_type, content in operation["requestBody"]["content"].items():
        if "example" in content:
            found.append((media_type, "", content["example"]))
        found.extend((media_type, name, item["value"]) for name, item in content.get("examples", {}).items())
        ref = content["schema"].get("$ref", "")
        if ref and "example" not in content and "examples" not in content:
            schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            found.extend((media_type, "", value) for value in schema.get("examples", ()))
    return found


def served() -> dict[tuple[str, str], Endpoint]:
    return {(endpoint.method, endpoint.path): endpoint for endpoint in endpoints(sandbox=True)}


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
                # OpenAPI 3.1 lets a reference say its own description: a 422 lists the operation's rules there
                assert set(response) <= {"$ref", "description"}, f"{method} {path} {status} is written out"
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


# Examples.


def test_every_request_body_has_an_example_its_model_accepts(document: dict[str, Any]) -> None:
    routes = served()
    bodies = 0
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            assert routes[(method, path)].body is None, f"{method} {path}"
            continue
        bodies += 1
        endpoint, found = routes[(method, path)], examples(document, operation)
        assert found, f"{method} {path} has no example body"
        assert {media_type for media_type, _, _ in found} == set(operation["requestBody"]["content"]), path
        for media_type, name, value in found:
            if endpoint.body is Raw:
                assert isinstance(value, str if media_type.endswith("urlencoded") else dict), f"{method} {path}"
            elif endpoint.body is ConfigDocument:
                CONFIG_DOCUMENTS[name].model_validate_json(json.dumps(value))
            else:
                assert isinstance(endpoint.body, type) and issubclass(endpoint.body, BaseModel)
                endpoint.body.model_validate_json(json.dumps(value))
    assert bodies >= 25


def test_every_configuration_document_has_its_own_example(document: dict[str, Any]) -> None:
    put = document["paths"]["/v1/admin/config/{name}"]["put"]["requestBody"]["content"]["application/json"]
    assert set(put["examples"]) == set(CONFIG_DOCUMENTS)


def real_ids(example: Any, world: World) -> Any:
    """The example with the world's ids for the ones it makes up."""
    if not isinstance(example, dict):
        return example
    ids = {"sku_id": world.sku_id, "category_id": world.category_id}
    return {key: str(ids[key]) if key in ids and value is not None else value for key, value in example.items()}


def path_to(path: str, name: str, world: World, order_id: str) -> str:
    """The path with the ids of the world (an order for an order's `{id}`); made-up ids where none can exist."""
    ids = {"/v1/admin/products/": world.product_id, "/v1/admin/skus/": world.sku_id}
    own = next((str(value) for prefix, value in ids.items() if path.startswith(prefix)), order_id)
    values = {"id": own, "provider": "sandbox", "name": name, "payment_id": str(uuid4()), "username": "no.one"}
    values["out_request_no"] = "fz" + uuid4().hex
    values["external_agreement_no"] = "AD0000000000000000000000000001"
    return re.sub(r"{(\w+)}", lambda match: values[match.group(1)], path)


def headers_for(api: Api, endpoint: Endpoint, who: Customer) -> dict[str, str]:
    if endpoint.access.kind == "customer":
        return who.headers
    return api.staff() if endpoint.access.kind == "staff" else {}


def test_the_service_understands_every_example_body() -> None:
    """Each example is posted as a client would (the world's ids in place of made-up ones): it is accepted, or
    refused for the state of things (a wrong login code, an order not yet shipped), never as malformed or invalid."""
    with running("memory:") as api:
        world = api.set_up_world()
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        document, routes, outcomes = api.get("/openapi.json"), served(), {}
        for method, path, operation in operations(document):
            if "requestBody" not in operation:
                continue
            endpoint = routes[(method, path)]
            for media_type, name, value in examples(document, operation):
                target = path_to(path, name, world, order["id"])
                headers = {**headers_for(api, endpoint, who), "content-type": media_type}
                body = value.encode() if isinstance(value, str) else json.dumps(real_ids(value, world)).encode()
                answer = api.http.request(method, target, content=body, headers=headers)
                problem = answer.json() if answer.status_code >= 400 else {}
                outcomes[(method, target, name or media_type, json.dumps(value))] = answer.status_code
                if endpoint.body is Raw:
                    assert problem.get("type") == "/problems/invalid-signature", (target, answer.text)
                else:
                    assert problem.get("type") not in NOT_UNDERSTOOD, (method, target, value, answer.text)
    accepted = {route[:2] for route, status in outcomes.items() if status < 300}
    assert {("POST", "/v1/orders"), ("POST", "/v1/admin/products"), ("POST", "/v1/quotes")} <= accepted
    assert len(accepted) >= 15, outcomes

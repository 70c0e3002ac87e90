"""The OpenAPI document tells the truth: it describes every route served, and a property-based run (schemathesis)
over it, positive and negative cases of every operation with a customer's token, staff's or none as the route
wants, finds no server error, no undocumented status, header or content type, no answer off its schema, no
schema-valid request refused but by a rule the operation documents (`x-rules`), no invalid one accepted.
`/docs` is tested in test_docs.py."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from api.bootstrap import Settings, build_service
from api.http.app import create_app
from api.http.routes import endpoints
from leasecore.clock import SettableClock
from leasecore.staff import Role
from tests.e2e.support import Api, running
from tests.support import START

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ensure_resource_availability,
        negative_data_rejection,
        positive_data_acceptance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
        use_after_free,
    )

CASES_PER_OPERATION = int(os.environ.get("LEASECORE_FUZZ_CASES", "7"))
SLOW_CASES_PER_OPERATION = 70
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    use_after_free,
    ensure_resource_availability,
]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running("memory:") as api:
        world = api.set_up_world()
        who = api.customer()
        api.place(who, api.order_body(world.sku_id))
        yield api


def test_the_document_describes_every_route_served_and_only_those(api: Api) -> None:
    spec = api.get("/openapi.json")
    described = {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}
    served = {(route.method, route.path) for route in endpoints(sandbox=True)}
    assert described == served and len(served) >= 50
    assert ("POST", "/v1/sandbox/clock") in described


def test_schemas_are_generated_from_the_pydantic_models(api: Api) -> None:
    spec = api.get("/openapi.json")
    place = spec["paths"]["/v1/orders"]["post"]
    assert place["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PlaceOrder"}
    assert place["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderOut"
    }
    assert place["responses"]["422"]["$ref"] == "#/components/responses/UnprocessableContent"
    invalid = spec["components"]["responses"]["UnprocessableContent"]
    assert invalid["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    schemas = spec["components"]["schemas"]
    assert schemas["OrderOut"]["properties"]["due_now"]["pattern"] == "^-?[0-9]+\\.[0-9]{2}$"
    assert schemas["PlaceOrder"]["additionalProperties"] is False
    assert set(schemas["OrderOut"]["properties"]["status"]["enum"]) >= {"pending_payment", "pending_settlement"}
    assert spec["paths"]["/v1/admin/reviews"]["get"]["x-access"] == "staff: risk"
    assert {p["name"] for p in place["parameters"]} == {"Idempotency-Key"}
    buyout = schemas["SkuIn"]["properties"]["buyout_price"]
    assert buyout["patternProperties"] and buyout["additionalProperties"] is False  # pydantic refuses another key


def test_production_mode_serves_no_sandbox_route() -> None:
    settings_ = Settings(
        database_url="memory:", mode="production", providers={"payments": {"sandbox": {"kind": "sandbox"}}}
    )
    service = build_service(settings_, clock=SettableClock(START))
    try:
        production = Api(service)
        assert production.get("/v1/sandbox/clock", 404)["type"] == "/problems/not-found"
        paths = production.get("/openapi.json")["paths"]
        assert paths and not any(path.startswith("/v1/sandbox/") for path in paths)
    finally:
        service.close()


def test_a_method_a_path_does_not_serve_is_405_naming_every_method_it_does(api: Api) -> None:
    for path, methods in api.get("/openapi.json")["paths"].items():
        served = {method.upper() for method in methods} | ({"HEAD"} if "get" in methods else set())
        url = path.replace("{", "").replace("}", "")
        for method in set(METHODS) - served:
            response = api.http.request(method, url)
            assert response.status_code == 405, (method, path)
            assert set(response.headers["allow"].split(", ")) == served, (method, path)
            assert response.json()["type"] == "/problems/method-not-allowed"


def test_a_rule_the_schema_cannot_say_is_listed_on_the_operation(api: Api) -> None:
    spec = api.get("/openapi.json")
    place = spec["paths"]["/v1/orders"]["post"]
    assert {rule["field"] for rule in place["x-rules"]} == {"plan.end", "Idempotency-Key"}
    assert "`plan.end`: a short-term plan ends on or after its start" in place["responses"]["422"]["description"]
    assert "x-rules" not in spec["paths"]["/v1/orders"]["get"]


def test_a_whole_number_written_with_a_fraction_of_zero_is_an_integer(api: Api) -> None:
    """JSON Schema's `integer` admits 16.0; so does every body, though its types are strict."""
    who = api.customers[0]
    body = {**api.order_body(api.get("/v1/catalog/products")[0]["skus"][0]["id"]), "quantity": 1.0}
    del body["address"]
    body["plan"] = {"kind": "long", "months": 12.0}
    quote = api.post("/v1/quotes", json=body, who=who)
    assert len(quote["installments"]) == 12
    refused = api.post("/v1/quotes", 422, json={**body, "quantity": 1.5}, who=who)
    assert refused["errors"][0]["field"] == "quantity"
    money = api.post(f"/v1/admin/products/{uuid4()}/skus", 422, json={"deposit": 100.0}, who=api.staff())
    assert "deposit" in {error["field"] for error in money["errors"]}  # money is never a number, whole or not


def fuzz(api: Api, cases_per_operation: int) -> dict[str, int]:
    """Every operation, positive and negative cases; every answer is checked against the document."""
    document = api.get("/openapi.json")
    for methods in document["paths"].values():
        for operation in methods.values():
            operation.pop("security", None)  # each case gets a fresh token below; missing ones are tested elsewhere
    schema = schemathesis.openapi.from_dict(document)
    schema.app = create_app(api.service)
    access = {(route.method, route.path): route.access.kind for route in endpoints(sandbox=True)}
    counts: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        kind = access[(operation.method.upper(), operation.path)]
        rules = {rule["field"] for rule in document["paths"][operation.path][operation.method].get("x-rules", ())}
        for mode in schemathesis.GenerationMode:
            try:
                fuzz_operation(api, operation, kind, rules, mode, cases_per_operation, counts)
            except Unsatisfiable:
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label  # nothing to get wrong
    return counts


def fuzz_operation(
    api: Api, operation: Any, kind: str, rules: set[str], mode: Any, examples: int, counts: dict[str, int]
) -> None:
    negative = mode is schemathesis.GenerationMode.NEGATIVE

    def token() -> dict[str, str]:
        if kind == "customer":
            issued, _ = api.service.tokens.for_customer(api.customers[0].customer_id)
            return {"Authorization": f"Bearer {issued}"}
        return api.staff(*Role) if kind == "staff" else {}

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=examples,
        phases=[Phase.generate],
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = token()
        response = case.call(headers=headers)
        if negative:
            checks = [*CHECKS, negative_data_rejection]
        else:
            checks = CHECKS if refused_by_a_documented_rule(response, rules) else [*CHECKS, positive_data_acceptance]
        case.validate_response(response, checks=checks, headers=headers)
        counts[mode.value] = counts.get(mode.value, 0) + 1

    run()


def refused_by_a_documented_rule(response: Any, rules: set[str]) -> bool:
    """A 422 every field of which the operation lists in `x-rules` (or lies within one listed; any item of a list is
    `[]`): a business rule the schema cannot say, documented, so no failure to accept the request."""
    if response.status_code != 422 or not rules:
        return False
    fields = [re.sub(r"\[[0-9]+\]", "[]", error["field"]) for error in response.json().get("errors") or ()]
    return bool(fields) and all(
        any(name == rule or name.startswith((f"{rule}.", f"{rule}[")) for rule in rules) for name in fields
    )


def test_the_document_tells_the_truth(api: Api, record_property: Any) -> None:
    counts = fuzz(api, CASES_PER_OPERATION)
    record_property("cases", counts)
    print(f"schemathesis: {counts} cases over {len(endpoints(sandbox=True))} operations")
    assert sum(counts.values()) >= 1_000 * CASES_PER_OPERATION // 7


@pytest.mark.slow
def test_the_document_tells_the_truth_at_length(record_property: Any) -> None:
    with running("memory:") as api:
        world = api.set_up_world()
        api.place(api.customer(), api.order_body(world.sku_id))
        counts = fuzz(api, SLOW_CASES_PER_OPERATION)
    record_property("cases", counts)
    print(f"schemathesis (slow): {counts} cases")
    assert sum(counts.values()) >= 10_000

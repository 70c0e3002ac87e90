"""The OpenAPI 3.1 document, generated from the endpoints and their pydantic models, and `/docs`: Swagger UI
over that document, its files served by this service from the swagger-ui-py package (nothing from elsewhere)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.http.endpoint import JSON, Endpoint, Raw
from api.http.errors import PROBLEM_JSON, TITLES
from api.http.exports import FileQuery, file_content
from api.http.idempotency import HEADER
from api.http.schemas.admin_reports import CONFIG_DOCUMENTS, ConfigDocument
from api.http.schemas.common import Problem, model_rules

REF = "#/components/schemas/{model}"
ERRORS = {
    400: ("BadRequest", "Malformed JSON, or a notification that does not verify"),
    401: ("Unauthorized", "No valid token"),
    403: ("Forbidden", "A token without the role this route needs"),
    404: ("NotFound", "Unknown id, or another customer's"),
    409: ("Conflict", "Not allowed in the current state (the state is named)"),
    413: ("ContentTooLarge", "Body too large"),
    422: ("UnprocessableContent", "A field breaks the schema or a rule (each field is named)"),
    429: ("TooManyRequests", "Too many requests"),
    502: ("BadGateway", "An outside provider failed"),
    503: ("ServiceUnavailable", "Busy; retry"),
}
"""The error answers, each declared once under components/responses: status, name, when."""
RESPONSE_REF = "#/components/responses/{name}"
KEY_REUSED = "a key already used with another request is refused; use a new key for a new request"
NOTIFICATION_FORM = (
    "notify_time=2026-01-31+10%3A00%3A05&notify_type=trade_status_sync&notify_id=9c1ad6f4e0b54c8f"
    "&app_id=2021000000000000&charset=utf-8&version=1.0&trade_no=2026013122001400000000000001"
    "&out_trade_no=5b0e7d3c-2f7a-4c53-9a7e-1d2f3c4b5a69&subject=Phone+X+256G&total_amount=329.00"
    "&receipt_amount=329.00&trade_status=TRADE_SUCCESS&gmt_create=2026-01-31+09%3A58%3A41"
    "&gmt_payment=2026-01-31+10%3A00%3A04&gmt_close=&sign_type=RSA2&sign=Zm9yZ2VkIHNpZ25hdHVyZQ%3D%3D"
)
NOTIFICATION_JSON = {
    "id": "EV-2026013110000500001",
    "create_time": "2026-01-31T10:00:05+08:00",
    "resource_type": "encrypt-resource",
    "event_type": "TRANSACTION.SUCCESS",
    "summary": "payment succeeded",
    "resource": {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": "c2VhbGVkIHdpdGggdGhlIEFQSXYzIGtleQ==",
        "associated_data": "transaction",
        "nonce": "fdasflkja484",
    },
}
"""What providers post to /v1/payments/notify/{provider}: Alipay's signed form (the sandbox provider's too), WeChat
Pay's JSON envelope. Their signatures are made up, so the service answers these 400: not authentic."""
PUSH_FORM = (
    "RequestData=%7B%22EBusinessID%22%3A%221237100%22%2C%22PushTime%22%3A%222026-02-01+14%3A03%3A00%22%2C%22Count%22"
    "%3A%221%22%2C%22Data%22%3A%5B%7B%22ShipperCode%22%3A%22SF%22%2C%22LogisticCode%22%3A%22SF1234567890%22%2C"
    "%22Success%22%3Atrue%2C%22State%22%3A%223%22%2C%22StateEx%22%3A%22301%22%2C%22Traces%22%3A%5B%7B%22AcceptTime"
    "%22%3A%222026-02-01+14%3A02%3A11%22%2C%22AcceptStation%22%3A%22%E5%B7%B2%E7%AD%BE%E6%94%B6%22%7D%5D%7D%5D%7D"
    "&RequestType=101&DataSign=Zm9yZ2VkIHNpZ25hdHVyZQ%3D%3D"
)
"""What a tracking service posts to /v1/logistics/notify/{provider}: Kdniao's push of a parcel signed for. Its
signature is made up, so the service answers it 400: not authentic."""
SIGNING_CALLBACK_JSON = {
    "action": "SIGN_FLOW_COMPLETE",
    "signFlowId": "a7f4e2c1b0d94e3f8a6b5c4d3e2f1a0b",
    "signFlowTitle": "租赁合同 5b0e7d3c-2f7a-4c53-9a7e-1d2f3c4b5a69",
    "signFlowStatus": 2,
    "statusDescription": "完成",
    "signFlowCreateTime": 1769824685000,
    "signFlowFinishTime": 1769824805000,
    "timestamp": 1769824805123,
}
"""What e签宝 posts to /v1/esign/notify/esign when a sign flow ends, signed in its X-Tsign-Open-SIGNATURE header
(missing here, so the service answers it 400)."""
INTRO = """JSON in and out. Money is a decimal string in CNY with two places ("1299.00"); dates are YYYY-MM-DD and
instants RFC 3339 with an offset. Send `Authorization: Bearer <token>`: customers log in with a phone and an SMS
code (`POST /v1/auth/otp`, then `POST /v1/auth/login`), staff with a username and password
(`POST /v1/admin/login`); each back-office route names the roles it admits. Errors are RFC 9457 problem JSON
(`type`, `title`, `status`, `detail`, and `errors` naming each field in error, `state` naming a refused state).
POSTs that create something or move money take an `Idempotency-Key`: a repeat with the same key and body gets
the first answer and changes nothing; the same key with another body is 422. Retried with its key until answered,
a command takes effect once even when the service dies in between. The problem types are listed
with the `Problem` schema."""
DOCS_ASSETS = "/docs/static"
SWAGGER_UI = ("swagger_ui", "static")
"""Swagger UI's built files, as the swagger-ui-py package ships them."""


def document(endpoints: Sequence[Endpoint], *, sandbox: bool, version: str = "1.0.0") -> dict[str, Any]:
    """Every route served, with request and response schemas generated from the pydantic models."""
    generator = GenerateJsonSchema(ref_template=REF)
    inputs: list[tuple[Any, Any, Any]] = []
    for index, endpoint in enumerate(endpoints):
        if isinstance(endpoint.body, type) and endpoint.body is not Raw:
            inputs.append(((index, "body"), "validation", TypeAdapter(endpoint.body).core_schema))
        if endpoint.query is not None:
            inputs.append(((index, "query"), "validation", TypeAdapter(endpoint.query).core_schema))
        if endpoint.answer is not None and endpoint.media_type == JSON:
            inputs.append(((index, "answer"), "serialization", endpoint.adapter.core_schema))
        for status, model in endpoint.also.items():
            inputs.append(((index, status), "serialization", TypeAdapter(model).core_schema))
        for name in endpoint.parameters:
            inputs.append(((index, name), "validation", TypeAdapter(endpoint.path_type(name)).core_schema))
    inputs.append((("problem", ""), "serialization", TypeAdapter(Problem).core_schema))
    for model in CONFIG_DOCUMENTS.values():
        inputs.append(((model.__name__, ""), "validation", TypeAdapter(model).core_schema))
    mapping, definitions = generator.generate_definitions(inputs)
    _close_keyed_maps(definitions)
    found = {key: _close_keyed_maps(schema) for (key, _mode), schema in mapping.items()}
    problem = _resolve(found[("problem", "")], definitions)
    problem["description"] = f"{problem['description']}\n\n{_problem_types()}"
    paths: dict[str, dict[str, Any]] = {}
    for index, endpoint in enumerate(endpoints):
        operation = _operation(endpoint, index, found, definitions)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "leasecore: credit rental platform",
            "version": version,
            "description": INTRO + ("\n\nSandbox mode: the `/v1/sandbox/` routes are served." if sandbox else ""),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in dict.fromkeys(endpoint.tag for endpoint in endpoints)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(definitions.items())),
            "responses": {
                name: {"description": text, "content": {PROBLEM_JSON: {"schema": found[("problem", "")]}}}
                for name, text in ERRORS.values()
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(endpoint: Endpoint, index: int, found: dict[Any, Any], definitions: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "description": endpoint.description + _roles_note(endpoint),
        "x-access": endpoint.access.describe(),
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": found[(index, name)]} for name in endpoint.parameters
    ]
    if endpoint.query is not None:
        model = _resolve(found[(index, "query")], definitions)
        required = set(model.get("required", ()))
        for name, schema in model.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": _not_null(schema)}
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameters.append(parameter)
    if endpoint.idempotent:
        parameters.append(
            {
                "name": HEADER,
                "in": "header",
                "required": False,
                "description": "A repeat with the same key and body gets the first answer; another body is 422.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = _request_body(endpoint, index, found, definitions)
    if endpoint.access.kind != "public":
        operation["security"] = [{"bearer": []}]
    operation["responses"] = _responses(endpoint, index, found)
    rules = _rules(endpoint)
    if rules:
        operation["x-rules"] = [{"field": name, "rule": rule} for name, rule in rules.items()]
        listed = "\n".join(f"- `{name}`: {rule}" for name, rule in rules.items())
        operation["responses"]["422"] = {
            "$ref": RESPONSE_REF.format(name=ERRORS[422][0]),
            "description": f"{ERRORS[422][1]}; besides the schema, these rules (the field named):\n\n{listed}",
        }
    return operation


def _rules(endpoint: Endpoint) -> dict[str, str]:
    """The rules beyond the schema a 422 may name, by field: its query's and body's, the route's own, and the
    idempotency key's."""
    rules = {**model_rules(endpoint.query), **model_rules(endpoint.body), **endpoint.rules}
    if endpoint.idempotent:
        rules[HEADER] = KEY_REUSED
    return rules


def _request_body(endpoint: Endpoint, index: int, found: dict[Any, Any], definitions: dict[Any, Any]) -> dict[str, Any]:
    """The body's schema; its examples are the model's (`examples` in its schema), except where the body is not one
    model: a provider's notification, and a configuration document, one example per document named in the path."""
    if endpoint.body is Raw and endpoint.path.startswith("/v1/logistics/"):
        push = {"schema": {"type": "string"}, "example": PUSH_FORM}
        return {"required": True, "content": {"application/x-www-form-urlencoded": push}}
    if endpoint.body is Raw and endpoint.path.startswith("/v1/esign/"):
        callback = {"schema": {"type": "object"}, "example": SIGNING_CALLBACK_JSON}
        return {"required": True, "content": {"application/json": callback}}
    if endpoint.body is Raw:
        form = {"schema": {"type": "string"}, "example": NOTIFICATION_FORM}
        return {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": form,
                "application/json": {"schema": {"type": "object"}, "example": NOTIFICATION_JSON},
            },
        }
    body: dict[str, Any] = {"schema": found[(index, "body")]}
    if endpoint.body is ConfigDocument:
        examples = {name: definitions[model.__name__]["examples"][0] for name, model in CONFIG_DOCUMENTS.items()}
        body["examples"] = {
            name: {"summary": endpoint.path.replace("{name}", name), "value": value} for name, value in examples.items()
        }
        return {"required": True, "content": {JSON: body}}
    fields = endpoint.body.model_fields.values()  # type: ignore[union-attr]
    return {"required": any(field.is_required() for field in fields), "content": {JSON: body}}


def _responses(endpoint: Endpoint, index: int, found: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if endpoint.answer is None:
        responses["204"] = {"description": "Done"}
    elif endpoint.media_type != JSON:
        responses[str(endpoint.status)] = {
            "description": endpoint.summary,
            "content": {endpoint.media_type: {"schema": {"type": "string"}}},
        }
    else:
        success: dict[str, Any] = {
            "description": endpoint.summary,
            "content": {JSON: {"schema": found[(index, "answer")]}},
        }
        if isinstance(endpoint.query, type) and issubclass(endpoint.query, FileQuery):
            success["content"].update(file_content())
        if endpoint.answer is not None and str(endpoint.answer).startswith("list[") and endpoint.query is not None:
            success["headers"] = {"X-Total-Count": {"schema": {"type": "integer"}, "description": "how many in all"}}
        responses[str(endpoint.status)] = success
    for status, model in endpoint.also.items():
        description = " ".join((getattr(model, "__doc__", None) or endpoint.summary).split())
        responses[str(status)] = {"description": description, "content": {JSON: {"schema": found[(index, status)]}}}
    for status in _error_statuses(endpoint):
        responses[str(status)] = {"$ref": RESPONSE_REF.format(name=ERRORS[status][0])}
    return responses


def _error_statuses(endpoint: Endpoint) -> list[int]:
    statuses = {422, *endpoint.errors}
    writes = endpoint.method in ("POST", "PUT")
    if endpoint.body is not None:
        statuses |= {400, 413}
    if endpoint.access.kind != "public":
        statuses |= {401, 403, 404}
    if endpoint.parameters:
        statuses.add(404)
    if writes:
        statuses |= {404, 409, 429, 502, 503}
    return sorted(statuses)


def _roles_note(endpoint: Endpoint) -> str:
    access = endpoint.access
    if access.kind == "staff":
        return f"\n\nRoles: {', '.join(sorted(role.value for role in access.roles))}."
    if access.kind == "customer":
        return "\n\nA customer token; only the customer's own data."
    return "\n\nPublic: no token needed."


def _problem_types() -> str:
    rows = "\n".join(f"| `/problems/{slug}` | {title} |" for slug, title in TITLES.items())
    return f"| type | title |\n| --- | --- |\n{rows}"


def _resolve(schema: dict[str, Any], definitions: dict[Any, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = definitions[ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def _close_keyed_maps(schema: Any) -> Any:
    """A map whose keys must match a pattern (pydantic's `patternProperties`) takes no other key: pydantic refuses one,
    so the document says `additionalProperties: false` rather than JSON Schema's default of anything goes."""
    if isinstance(schema, dict):
        if "patternProperties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _close_keyed_maps(value)
    elif isinstance(schema, list):
        for value in schema:
            _close_keyed_maps(value)
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
            return {**kept[0], **rest}
    return {key: value for key, value in schema.items() if key != "default" or value is not None}


# `/docs`.


def page(title: str, document: str) -> str:
    """Swagger UI over the OpenAPI document at `document`: its script and styles from DOCS_ASSETS, its settings inline
    (no validator badge, which would ask a server elsewhere)."""
    settings = {
        "url": document,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "filter": True,
        "displayRequestDuration": True,
        "persistAuthorization": True,
        "validatorUrl": None,
        "layout": "BaseLayout",
    }
    options = json.dumps(settings).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_ASSETS}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign({options}, {{presets: [SwaggerUIBundle.presets.apis]}}));
</script>
</body>
</html>
"""


def assets() -> Mount:
    """Swagger UI's files, served from DOCS_ASSETS."""
    return Mount(DOCS_ASSETS, app=StaticFiles(packages=[SWAGGER_UI]), name="docs-assets")

"""The OpenAPI 3.1 document, generated from the endpoints and their pydantic models, and `/docs`: the same
document as one self-contained HTML page (no scripts, no CDN, works offline)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from api.http.endpoint import JSON, Endpoint, Raw
from api.http.errors import PROBLEM_JSON, TITLES
from api.http.idempotency import HEADER
from api.http.schemas.admin_reports import CONFIG_DOCUMENTS
from api.http.schemas.common import Problem

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed JSON, or a notification that does not verify",
    401: "No valid token",
    403: "A token without the role this route needs",
    404: "Unknown id, or another customer's",
    409: "Not allowed in the current state (the state is named)",
    413: "Body too large",
    422: "A field breaks the schema or a rule (each field is named)",
    429: "Too many requests",
    502: "An outside provider failed",
    503: "Busy; retry",
}
INTRO = """JSON in and out. Money is a decimal string in CNY with two places ("1299.00"); dates are YYYY-MM-DD and
instants RFC 3339 with an offset. Send `Authorization: Bearer <token>`: customers log in with a phone and an SMS
code (`POST /v1/auth/otp`, then `POST /v1/auth/login`), staff with a username and password
(`POST /v1/admin/login`); each back-office route names the roles it admits. Errors are RFC 9457 problem JSON
(`type`, `title`, `status`, `detail`, and `errors` naming each field in error, `state` naming a refused state).
POSTs that create something or move money take an `Idempotency-Key`: a repeat with the same key and body gets
the first answer and changes nothing; the same key with another body is 422."""


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
        for name in endpoint.parameters:
            inputs.append(((index, name), "validation", TypeAdapter(endpoint.path_type(name)).core_schema))
    inputs.append((("problem", ""), "serialization", TypeAdapter(Problem).core_schema))
    for model in CONFIG_DOCUMENTS.values():
        inputs.append(((model.__name__, ""), "validation", TypeAdapter(model).core_schema))
    mapping, definitions = generator.generate_definitions(inputs)
    found = {key: schema for (key, _mode), schema in mapping.items()}
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
    if endpoint.body is Raw:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    elif endpoint.body is not None:
        fields = endpoint.body.model_fields.values()  # type: ignore[union-attr]
        needed = any(field.is_required() for field in fields)
        operation["requestBody"] = {"required": needed, "content": {JSON: {"schema": found[(index, "body")]}}}
    if endpoint.access.kind != "public":
        operation["security"] = [{"bearer": []}]
    operation["responses"] = _responses(endpoint, index, found)
    return operation


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
        if endpoint.answer is not None and str(endpoint.answer).startswith("list[") and endpoint.query is not None:
            success["headers"] = {"X-Total-Count": {"schema": {"type": "integer"}, "description": "how many in all"}}
        responses[str(endpoint.status)] = success
    problem = {PROBLEM_JSON: {"schema": found[("problem", "")]}}
    for status in _error_statuses(endpoint):
        responses[str(status)] = {"description": ERROR_TEXT[status], "content": problem}
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
    return ""


def _resolve(schema: dict[str, Any], definitions: dict[Any, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = definitions[ref.rsplit("/", 1)[-1]]
        return resolved
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


# The human-readable page.

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f7f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 8px}h2{border-bottom:2px solid #d7dce3;padding-bottom:4px;margin-top:40px}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#fff;border:1px solid #e1e5ea;padding:10px;overflow:auto;border-radius:6px}
.op{background:#fff;border:1px solid #e1e5ea;border-radius:8px;margin:14px 0;padding:4px 14px}
.op summary{cursor:pointer;padding:8px 0;list-style:none}
.m{display:inline-block;min-width:52px;text-align:center;border-radius:4px;color:#fff;font-weight:600;
padding:1px 6px;margin-right:8px;font-size:13px}
.GET{background:#2f7d32}.POST{background:#1565c0}.PUT{background:#8e44ad}
.access{float:right;color:#5b6573;font-size:13px}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border-bottom:1px solid #edf0f3;text-align:left;
padding:4px 6px;vertical-align:top}th{color:#5b6573;font-weight:600}
nav a{margin-right:12px}.muted{color:#5b6573}
"""


def page(spec: dict[str, Any]) -> str:
    """The OpenAPI document as one HTML page: operations by tag, then every schema."""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_e(spec['info']['title'])}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{_e(spec['info']['title'])}</h1>",
        f"<p class=muted>OpenAPI {spec['openapi']} · version {_e(spec['info']['version'])} · "
        "<a href='/openapi.json'>/openapi.json</a></p>",
        "".join(f"<p>{_e(paragraph)}</p>" for paragraph in spec["info"]["description"].split("\n\n")),
        "<nav>" + "".join(f"<a href='#tag-{_slug(t['name'])}'>{_e(t['name'])}</a>" for t in spec["tags"]),
        "<a href='#schemas'>schemas</a><a href='#problems'>problems</a></nav>",
    ]
    for tag in spec["tags"]:
        parts.append(f"<h2 id='tag-{_slug(tag['name'])}'>{_e(tag['name'])}</h2>")
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                if tag["name"] in operation["tags"]:
                    parts.append(_operation_html(path, method.upper(), operation))
    parts.append("<h2 id=problems>Problems</h2><table><tr><th>type</th><th>title</th></tr>")
    parts.extend(
        f"<tr><td><code>/problems/{_e(slug)}</code></td><td>{_e(title)}</td></tr>" for slug, title in TITLES.items()
    )
    parts.append("</table><h2 id=schemas>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(f"<div class=op id='schema-{_e(name)}'><h3>{_e(name)}</h3>")
        if schema.get("description"):
            parts.append(f"<p>{_e(schema['description'])}</p>")
        parts.append(_schema_html(schema))
        parts.append("</div>")
    parts.append("</main></body></html>")
    return "".join(parts)


def _operation_html(path: str, method: str, operation: dict[str, Any]) -> str:
    rows = [
        f"<details class=op id='op-{_e(operation['operationId'])}'><summary><span class='m {method}'>{method}</span>",
        f"<code>{_e(path)}</code> — {_e(operation['summary'])}<span class=access>{_e(operation['x-access'])}</span>",
        "</summary>",
        "".join(f"<p>{_e(p)}</p>" for p in operation["description"].split("\n\n") if p),
    ]
    if operation.get("parameters"):
        rows.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th></tr>")
        for parameter in operation["parameters"]:
            rows.append(
                f"<tr><td><code>{_e(parameter['name'])}</code></td><td>{parameter['in']}</td>"
                f"<td>{_type(parameter['schema'])}</td><td>{'yes' if parameter['required'] else ''}</td></tr>"
            )
        rows.append("</table>")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            rows.append(f"<p><b>Body</b> <span class=muted>{_e(media)}</span>: {_type(content['schema'])}</p>")
    rows.append("<table><tr><th>status</th><th>answer</th></tr>")
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        answer = " ".join(
            f"{_type(item['schema'])} <span class=muted>{_e(media)}</span>" for media, item in content.items()
        )
        rows.append(f"<tr><td>{status}</td><td>{_e(response['description'])} {answer}</td></tr>")
    rows.append("</table></details>")
    return "".join(rows)


def _schema_html(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<p>{_type(schema)}</p>"
    required = set(schema.get("required", ()))
    rows = ["<table><tr><th>field</th><th>type</th><th>required</th><th></th></tr>"]
    for name, item in properties.items():
        rows.append(
            f"<tr><td><code>{_e(name)}</code></td><td>{_type(item)}</td><td>{'yes' if name in required else ''}</td>"
            f"<td class=muted>{_e(item.get('description', ''))}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _type(schema: Any) -> str:
    """A schema in a few words, linking to named schemas."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"<a href='#schema-{_e(name)}'>{_e(name)}</a>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(option) for option in schema[key])
    if "const" in schema:
        return f"<code>{_e(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return " | ".join(f"<code>{_e(json.dumps(value))}</code>" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type(schema['additionalProperties'])}"
    details = [schema[key] for key in ("format", "pattern") if key in schema]
    extra = f" <span class=muted>{_e(' '.join(map(str, details)))}</span>" if details else ""
    return f"{_e(str(kind))}{extra}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())

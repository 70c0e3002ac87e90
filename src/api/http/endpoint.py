"""Endpoints as data: method, path, who may call, what goes in and out; and the one code path every
request takes (authenticate, parse, idempotency, the handler in a worker thread, the answer or a problem).

The same records generate the OpenAPI document, so what is served and what is described cannot drift.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response

from api.http.auth import Principal, refuse_disabled
from api.http.errors import ApiError, from_validation, invalid, problem_for
from api.http.guard import client_address
from api.http.idempotency import HEADER, Stored, check_key, derived_id, fingerprint, lasting
from leasecore.staff import Role

if TYPE_CHECKING:
    from api.bootstrap import Service
    from leasecore.application import LeaseApplication
    from projections.store import ViewStore

log = logging.getLogger(__name__)

B = TypeVar("B")
Q = TypeVar("Q")
IMAGE_BODY = 16 * 1024 * 1024
"""The largest body of a route carrying images (an identity submission: two base64 photos of up to 6 MB)."""
JSON = "application/json"
READ_POSITION = "X-Read-Position"
READ_AFTER = "X-Read-After"


@dataclass(frozen=True)
class Access:
    """Who may call: anyone, a customer, or staff holding one of `roles`."""

    kind: str
    roles: frozenset[Role] = frozenset()

    def describe(self) -> str:
        if self.kind == "staff":
            return "staff: " + ", ".join(sorted(role.value for role in self.roles))
        return self.kind


PUBLIC = Access("public")
CUSTOMER = Access("customer")


def staff(*roles: Role) -> Access:
    return Access("staff", frozenset(roles))


class Raw:
    """The body as bytes, unparsed (provider callbacks, verified by signature)."""


@dataclass(frozen=True)
class Answered:
    """A handler's answer with extra headers (Location, X-Total-Count)."""

    value: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Call(Generic[B, Q]):
    """One request as a handler sees it: parsed, authenticated, with the service to call and the app's state."""

    service: Service
    principal: Principal | None
    path: dict[str, Any]
    query: Q
    body: B
    raw: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    state: State = field(default_factory=State)
    keyed: tuple[str, str, str] | None = None
    """The caller's scope, the request's `Idempotency-Key` and its fingerprint, when the route took a key."""
    address: str | None = None
    """The client's IP address (`guard.client_address`), None when it has none."""

    @property
    def app(self) -> LeaseApplication:
        return self.service.app

    @property
    def views(self) -> ViewStore:
        return self.service.views

    @property
    def id(self) -> UUID:
        value: UUID = self.path["id"]
        return value

    @property
    def customer_id(self) -> UUID:
        assert self.principal is not None and self.principal.kind == "customer"
        return self.principal.customer_id

    @property
    def username(self) -> str:
        assert self.principal is not None and self.principal.kind == "staff"
        return self.principal.subject

    def written(self) -> None:
        """After a command: wait until the read models show it (read your writes)."""
        self.service.written()

    def derived_id(self, kind: str) -> UUID | None:
        """The id of the `kind` of thing the command creates, derived from the request's `Idempotency-Key` (None
        without one): a retry after a crash finds what the first attempt made instead of making another."""
        return None if self.keyed is None else derived_id(kind, *self.keyed)


Handler = Callable[[Call[Any, Any]], Any]


@dataclass(frozen=True)
class Endpoint:
    """A route: its method and path, access, body, query, answer and status, and its handler."""

    method: str
    path: str
    handler: Handler
    tag: str
    access: Access
    summary: str
    body: type[BaseModel] | type[Raw] | None = None
    query: type[BaseModel] | None = None
    answer: Any = None
    status: int = 200
    idempotent: bool = False
    rerun_safe: bool = False
    """Its command finds its own earlier effect (an id derived from the key, or the provider's own key), so a key
    left pending by a crash is run again at once rather than answered 409 until abandoned."""
    sandbox: bool = False
    path_types: Mapping[str, Any] = field(default_factory=dict)
    media_type: str = JSON
    errors: tuple[int, ...] = ()
    also: Mapping[int, Any] = field(default_factory=dict)
    """Other success answers the handler may give, by status (it returns them as a `Response`), for the document."""
    max_body: int | None = None
    """The largest body this route reads, when it carries more than the service's `max_body_bytes` (images)."""
    rules: Mapping[str, str] = field(default_factory=dict)
    """The rules a request can break that its schema cannot say (one field against another, a check digit, a
    reference to something that must exist), by the field a 422 names: documented on the operation's 422."""

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def description(self) -> str:
        return (self.handler.__doc__ or "").strip()

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def path_type(self, name: str) -> Any:
        return self.path_types.get(name, UUID)

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.answer)

    @cached_property
    def path_adapters(self) -> dict[str, TypeAdapter[Any]]:
        return {name: TypeAdapter(self.path_type(name)) for name in self.parameters}


class Endpoints:
    """A resource's endpoints, declared with decorators."""

    def __init__(self, tag: str, *, sandbox: bool = False) -> None:
        self.tag, self.sandbox = tag, sandbox
        self.items: list[Endpoint] = []

    def route(
        self, method: str, path: str, *, access: Access, summary: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(
                Endpoint(method, path, handler, self.tag, access, summary, sandbox=self.sandbox, **options)
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)


# Serving.


def asgi(endpoint: Endpoint) -> Callable[[Request], Any]:
    """The Starlette endpoint of a route. The body is read first (refused past the size limit, and cut off by the
    server's slow-body timeout), so that the rest of the request, from the caller's token to the stored answer of an
    `Idempotency-Key`, is one trip to a worker thread: each trip between the event loop and a thread cost about a
    tenth of a place-order's CPU."""

    async def respond(request: Request) -> Response:
        service: Service = request.app.state.service
        try:
            raw = await _read(request, endpoint.max_body or service.settings.max_body_bytes)
        except Exception as error:
            return problem_response(error)
        return await run_in_threadpool(_respond, endpoint, service, request, raw)

    respond.__name__ = endpoint.name
    return respond


def _respond(endpoint: Endpoint, service: Service, request: Request, raw: bytes) -> Response:
    """The answer to a request whose body is read: 401/403 before the path, query and body are looked at."""
    try:
        principal = authenticate(endpoint.access, service, request.headers.get("authorization"))
        path = _path(endpoint, request.path_params)
        query = _query(endpoint, request)
        body = _body(endpoint, raw)
        address = client_address(request.scope, service.settings.trusted_proxies)
        call: Call[Any, Any] = Call(
            service, principal, path, query, body, raw, request.headers, request.app.state, address=address
        )
        key = request.headers.get(HEADER)
        if endpoint.idempotent and key is not None:
            return _idempotently(endpoint, call, check_key(key), request.url.path)
        return answer(endpoint, call)
    except Exception as error:
        return problem_response(error)


def authenticate(access: Access, service: Service, authorization: str | None) -> Principal | None:
    """The caller, if the route needs one: 401 without a valid token or with a disabled account's, 403 for the wrong
    kind or roles."""
    if access.kind == "public":
        return None
    principal = refuse_disabled(service.views, service.tokens.principal(authorization))
    if access.kind == "customer" and principal.kind != "customer":
        raise ApiError(403, "forbidden", "this route is for customers; log in with POST /v1/auth/login")
    if access.kind == "staff":
        if principal.kind != "staff":
            raise ApiError(403, "forbidden", "this route is for back-office staff")
        if not principal.roles & access.roles:
            needed = ", ".join(sorted(role.value for role in access.roles))
            raise ApiError(403, "forbidden", f"this route needs one of the roles: {needed}")
    return principal


def answer(endpoint: Endpoint, call: Call[Any, Any]) -> Response:
    """Run the handler and serialise what it returns; a read waits for `X-Read-After`, and a command's answer
    says in `X-Read-Position` where in the log what it saved landed."""
    if endpoint.method == "GET":
        wait_for_position(call)
    saved_before = call.app.saved_position()
    result = endpoint.handler(call)
    saved = call.app.saved_position()
    position = {READ_POSITION: str(saved)} if saved is not None and saved != saved_before else {}
    if isinstance(result, Response):
        result.headers.update(position)
        return result
    headers: dict[str, str] = {}
    if isinstance(result, Answered):
        result, headers = result.value, dict(result.headers)
    headers.update(position)
    if endpoint.answer is None:
        return Response(status_code=204, headers=headers)
    return Response(endpoint.adapter.dump_json(result), endpoint.status, headers, media_type=JSON)


def wait_for_position(call: Call[Any, Any]) -> None:
    """Read your writes across processes: a client that passes back the `X-Read-Position` of its command as
    `X-Read-After` reads nothing older, whichever process answers (503 if the read models stay behind)."""
    wanted = call.headers.get(READ_AFTER)
    if wanted is None:
        return
    if not wanted.isdigit() or len(wanted) > 18:
        raise invalid(READ_AFTER, "a position is a whole number, as X-Read-Position gave it")
    if not call.service.platform.runner.wait_until(int(wanted), call.service.read_timeout):
        raise ApiError(
            503, "busy", f"the read models have not reached position {wanted} yet; retry", headers={"Retry-After": "1"}
        )


def problem_response(error: Exception) -> Response:
    problem = problem_for(error)
    if problem is None:
        log.exception("unexpected error", exc_info=error)
        problem = ApiError(500, "internal", "an unexpected error; it has been logged")
    return problem.response()


def _idempotently(endpoint: Endpoint, call: Call[Any, Any], key: str, url_path: str) -> Response:
    keys = call.service.idempotency
    scope = call.principal.scope if call.principal else "public"
    print_ = fingerprint(endpoint.method, url_path, call.raw)
    stored = keys.claim(scope, key, print_, rerun=endpoint.rerun_safe)
    if stored is not None:
        replayed = {"Idempotent-Replayed": "true"}
        head = call.app.recorder.max_notification_id()
        if head:  # at least the first answer's position, which was not kept: a read after it sees that answer's write
            replayed[READ_POSITION] = str(head)
        return Response(stored.body, stored.status, replayed, media_type=stored.content_type)
    call.keyed = (scope, key, print_)
    try:
        response = answer(endpoint, call)
    except Exception as error:
        response = problem_response(error)
    if not lasting(response.status_code):
        keys.release(scope, key)
    else:
        media_type = response.headers.get("content-type", JSON)
        keys.keep(scope, key, Stored(response.status_code, bytes(response.body), media_type))
    return response


def _path(endpoint: Endpoint, values: Mapping[str, Any]) -> dict[str, Any]:
    parsed = {}
    for name in endpoint.parameters:
        try:
            parsed[name] = endpoint.path_adapters[name].validate_python(values[name])
        except ValidationError as error:
            raise from_validation(error, (name,)) from None
    return parsed


def _query(endpoint: Endpoint, request: Request) -> Any:
    if endpoint.query is None:
        return None
    values = {key: request.query_params.getlist(key)[-1] for key in request.query_params}
    try:
        return endpoint.query.model_validate(values)
    except ValidationError as error:
        raise from_validation(error) from None


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused (413, and the connection closed rather than the rest read) once it is announced or
    found to be over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload-too-large", f"a body is at most {limit} bytes", headers={"Connection": "close"})


def _body(endpoint: Endpoint, raw: bytes) -> Any:
    if endpoint.body is None:
        return None
    if endpoint.body is Raw:
        return raw
    model = endpoint.body
    assert issubclass(model, BaseModel)
    data = raw or b"{}"
    try:
        parsed = json.loads(data, parse_constant=_not_json, parse_float=_number)
        if _holds_integral(parsed):
            data = json.dumps(parsed).encode()
    except ValueError as error:
        raise ApiError(400, "malformed-json", f"the body is not JSON: {error}") from None
    except RecursionError:
        raise ApiError(400, "malformed-json", "the body nests arrays or objects too deeply") from None
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise ApiError(400, "malformed-json", "the body is not JSON") from None
        raise from_validation(error) from None


class _Integral(int):
    """A JSON number written with a fraction of zero (`16.0`)."""


def _number(text: str) -> float | int:
    """`16.0` is a whole number, which JSON Schema's `integer` admits and strict pydantic would refuse as a float: read
    as an integer (one a float holds exactly), so that the body is validated as the document says."""
    value = float(text)
    return _Integral(value) if value.is_integer() and abs(value) <= 2**53 else value


def _holds_integral(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_integral(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_integral(item) for item in value)
    return isinstance(value, _Integral)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def require(condition: bool, field_name: str, message: str) -> None:
    """A 422 naming the field unless the condition holds."""
    if not condition:
        raise invalid(field_name, message)

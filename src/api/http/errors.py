"""Every error as RFC 9457 problem JSON, and the one mapping from the domain's and adapters' errors to HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from adapters.errors import (
    AdapterError,
    ParcelStateConflict,
    PaymentStateConflict,
    ProviderError,
    SigningRefused,
    UnknownPayment,
)
from api.http.schemas.common import ID_NUMBER_PATTERN, LINE_PATTERN, NOTES_PATTERN, SERIAL_PATTERN, SLUG_PATTERN
from leasecore.errors import (
    Busy,
    InvalidDocument,
    InvalidInput,
    InvalidState,
    NotFound,
    Overdue,
    QuotaExceeded,
    Refused,
    Unavailable,
)
from leasecore.ports import InvalidSignature

PROBLEM_JSON = "application/problem+json"
PLAN_TAGS = {"long", "short"}

TITLES: dict[str, str] = {
    "malformed-json": "The body is not valid JSON",
    "invalid-signature": "The notification is not authentic",
    "unauthorized": "Authentication required",
    "forbidden": "Not allowed for this account",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "invalid-state": "Not allowed in the current state",
    "refused": "Refused by a business rule",
    "overdue": "Something is overdue",
    "quota-exceeded": "The credit line's quota is exceeded",
    "unavailable": "No stock for that",
    "in-progress": "A request with this Idempotency-Key is still in progress",
    "payload-too-large": "The body is too large",
    "request-timeout": "The body did not arrive in time",
    "validation": "The request does not fit the schema",
    "idempotency-key-reused": "Idempotency-Key reused with another request",
    "too-many-requests": "Too many requests",
    "provider-error": "An outside provider failed",
    "busy": "Busy; try again",
    "internal": "Internal error",
}


class ApiError(Exception):
    """A problem to answer: its status, its type's slug, a human detail and what it names."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        errors: Sequence[tuple[str, str]] = (),
        state: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.errors, self.state = list(errors), state
        self.headers = dict(headers or {})

    def document(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": TITLES.get(self.slug, self.slug.replace("-", " ").capitalize()),
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": field, "message": message} for field, message in self.errors]
        if self.state is not None:
            body["state"] = self.state
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.document(), self.status, headers=self.headers, media_type=PROBLEM_JSON)


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming one field."""
    return ApiError(422, "validation", f"{field}: {message}", errors=[(field, message)])


def problem_for(error: BaseException) -> ApiError | None:
    """The problem an error answers as, or None for a bug (answered 500)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ValidationError):
        return from_validation(error)
    if isinstance(error, InvalidInput):
        return ApiError(422, "validation", str(error), errors=[(error.field, error.message)])
    if isinstance(error, InvalidDocument):
        return ApiError(422, "validation", str(error), errors=error.errors)
    if isinstance(error, NotFound | UnknownPayment):
        return ApiError(404, "not-found", str(error))
    if isinstance(error, InvalidState):
        return ApiError(409, "invalid-state", str(error), state=error.state)
    if isinstance(error, Refused):
        return _refusal(error)
    if isinstance(error, Busy):
        return ApiError(503, "busy", str(error), headers={"Retry-After": "1"})
    if isinstance(error, InvalidSignature):
        return ApiError(400, "invalid-signature", str(error) or "the signature does not verify")
    if isinstance(error, PaymentStateConflict | ParcelStateConflict | SigningRefused):
        return ApiError(409, "refused", str(error))
    if isinstance(error, ProviderError | AdapterError):
        return ApiError(502, "provider-error", str(error) or type(error).__name__)
    return None


def _refusal(error: Refused) -> ApiError:
    if isinstance(error, Overdue):
        return ApiError(409, "overdue", str(error), state="overdue")
    if isinstance(error, QuotaExceeded):
        return ApiError(409, "quota-exceeded", str(error))
    if isinstance(error, Unavailable):
        return ApiError(409, "unavailable", str(error))
    return ApiError(409, "refused", str(error))


def from_validation(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> ApiError:
    """A 422 naming every field pydantic found in error, as `plan.months` or `skus[0].deposit`."""
    errors = [(field_path((*prefix, *item["loc"])), _message(item)) for item in error.errors(include_url=False)]
    listed = "; ".join(f"{field}: {message}" for field, message in errors)
    return ApiError(422, "validation", listed, errors=errors)


def field_path(loc: Sequence[str | int]) -> str:
    """A pydantic location as a dotted path; a union's tag (`plan.long.months`) is left out."""
    path = ""
    previous: str | int | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif previous == "plan" and part in PLAN_TAGS:
            continue
        else:
            path = f"{path}.{part}" if path else part
        previous = part
    return path or "body"


PATTERN_WORDS = {
    LINE_PATTERN: "must not be blank, nor hold control characters or bidirectional overrides",
    NOTES_PATTERN: "must not hold control characters or bidirectional overrides",
    SERIAL_PATTERN: "is 1 to 64 letters, digits or . _ : / -, starting with a letter or digit",
    SLUG_PATTERN: "is 1 to 32 lower-case letters, digits, _ or -, starting with a letter or digit",
    ID_NUMBER_PATTERN: "is 17 digits followed by a digit or X",
}
"""What each pattern a field must match says in words."""


def _message(item: Any) -> str:
    if item.get("type") == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(str(item.get("ctx", {}).get("pattern")))
        if words is not None:
            return words
    message = str(item.get("msg", "invalid"))
    return message.removeprefix("Value error, ")

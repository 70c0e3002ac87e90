"""What every resource's bodies and answers share: money, phones, names, dates, the base models and problems.

Money is a decimal string with at most two places in ("1299", "1299.5", "1299.00") and exactly two
out ("1299.00"); a JSON number is refused, so money never passes through a float. Dates are
`YYYY-MM-DD`, instants RFC 3339 with an offset. Request bodies refuse fields they do not know.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

CENT = Decimal("0.01")
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
MONEY_OUT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
PHONE_PATTERN = r"^\+?[0-9]{6,15}$"
UNPRINTABLE = r"\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"
"""Control characters and bidirectional overrides: never part of a name, an address or a tracking number."""
LINE_PATTERN = rf"^[^{UNPRINTABLE}]*[^\s{UNPRINTABLE}][^{UNPRINTABLE}]*$"
NOTES_PATTERN = r"^[^\u0000\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,31}$"
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}$"


def _money_in(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("an amount of money is finite")
        return value.quantize(CENT)
    if isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value):
        return Decimal(value).quantize(CENT)
    if isinstance(value, str) and re.fullmatch(r"-[0-9]{1,12}(\.[0-9]{1,2})?", value) and Decimal(value) < 0:
        raise ValueError("must not be below 0.00: an amount of money is never negative")
    raise ValueError('an amount of money is a string with at most two decimal places, like "1299.00"')


def _money_out(value: Decimal) -> str:
    return str(value.quantize(CENT))


Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(_money_out, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1299.00"]}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": MONEY_OUT_PATTERN, "examples": ["1299.00"]}, mode="serialization"),
]
"""CNY as a decimal string: at most two places in, exactly two out."""


def _phone(value: str) -> str:
    cleaned = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(PHONE_PATTERN, cleaned):
        raise ValueError("a phone number is 6 to 15 digits, optionally after a +")
    return cleaned


Phone = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_phone),
    WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN, "examples": ["13800138000"]}),
]


Line = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE_PATTERN, strip_whitespace=False)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
Notes = Annotated[str, StringConstraints(max_length=2000, pattern=NOTES_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Serial = Annotated[str, StringConstraints(pattern=SERIAL_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


def _base64(value: str) -> bytes:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    if not decoded:
        raise ValueError("must not be empty")
    return decoded


Image = Annotated[
    bytes,
    BeforeValidator(lambda value: _base64(value) if isinstance(value, str) else value),
    WithJsonSchema(
        {"type": "string", "contentEncoding": "base64", "minLength": 4, "maxLength": 6_000_000, "format": "byte"}
    ),
]


def not_before(end: date | None, start: date | None) -> date | None:
    """An end on or after its start."""
    if end is not None and start is not None and end < start:
        raise ValueError("must be on or after start")
    return end


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    return value


def _rfc3339(value: Any) -> Any:
    pattern = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
    if isinstance(value, str) and not re.fullmatch(pattern, value):
        raise ValueError("an instant is RFC 3339 with an offset, like 2026-01-31T10:00:00+08:00")
    return value


QueryDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in a query string: only YYYY-MM-DD (not a number of seconds)."""


QueryInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""An instant in a query string: only RFC 3339 with an offset."""


def rules(by_field: dict[str, str]) -> Mapping[str, str]:
    """A model's `RULES`: what a 422 may say beyond the schema, by the field it names (read-only, shared by every
    instance)."""
    return MappingProxyType(by_field)


def model_rules(model: Any, seen: frozenset[type] = frozenset()) -> dict[str, str]:
    """A model's `RULES` and those of the models in its fields, by the path a 422 names, an item of a list as `[]`
    (`skus[].buyout_price` for the error of `skus[2].buyout_price`)."""
    found = dict(getattr(model, "RULES", {}))
    for name, field in getattr(model, "model_fields", {}).items():
        for inner, suffix in _models_in(field.annotation):
            if inner not in seen:
                for path, rule in model_rules(inner, seen | {model}).items():
                    found.setdefault(f"{field.alias or name}{suffix}.{path}", rule)
    return found


def _models_in(annotation: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix
        return
    if get_origin(annotation) is dict:
        return
    in_list = get_origin(annotation) in (list, tuple, set, frozenset)
    for argument in get_args(annotation):
        yield from _models_in(argument, f"{suffix}[]" if in_list else suffix)


class Body(BaseModel):
    """A request body: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    RULES: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """The rules between fields its schema cannot say, by the field a 422 names (the document lists them)."""


class Answer(BaseModel):
    """A response body."""

    model_config = ConfigDict(frozen=True)


class Query(BaseModel):
    """Query parameters (strings on the wire, converted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    RULES: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """The rules between parameters the document's parameters cannot say, by the parameter a 422 names."""


class Row:
    """A read model's row with the values an answer needs that it does not hold, for `from_attributes` validation."""

    def __init__(self, row: object, **more: Any) -> None:
        self._row, self._more = row, more

    def __getattr__(self, name: str) -> Any:
        return self._more[name] if name in self._more else getattr(self._row, name)


class Empty(Body):
    """No fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class FieldError(Answer):
    field: str
    message: str


class Problem(Answer):
    """An error as RFC 9457 problem JSON; `errors` names each field in error, `state` the state refused."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    state: str | None = None

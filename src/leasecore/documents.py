"""Reading operator-written documents field by field, collecting every error with its path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from leasecore.errors import InvalidDocument

T = TypeVar("T")


class Reader:
    """Collects the errors of one document so all of them are reported at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def check(self) -> None:
        if self.errors:
            raise InvalidDocument(self.name, self.errors)

    def field(self, doc: Any, key: str, path: str, parse: Callable[[Any, str], T], default: Any = ...) -> T | None:
        """The parsed value of doc[key]; None (and an error) when missing or invalid."""
        where = f"{path}.{key}" if path else key
        if not isinstance(doc, Mapping):
            self.error(path or "$", "must be an object")
            return None
        if key not in doc:
            if default is not ...:
                return default  # type: ignore[no-any-return]
            self.error(where, "is required")
            return None
        try:
            return parse(doc[key], where)
        except _Invalid as invalid:
            self.error(invalid.path, invalid.message)
            return None

    def items(self, doc: Any, key: str, path: str) -> list[tuple[str, Any]]:
        """The elements of the list doc[key], each with its path."""
        value = self.field(doc, key, path, as_list)
        if value is None:
            return []
        where = f"{path}.{key}" if path else key
        return [(f"{where}[{index}]", item) for index, item in enumerate(value)]


class _Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def invalid(path: str, message: str) -> _Invalid:
    return _Invalid(path, message)


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(path, "must be a list")
    return value


def as_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(path, "must be a whole number")
    return value


def as_str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(path, "must be a non-empty string")
    return value


def as_decimal(value: Any, path: str) -> Decimal:
    """A decimal given as a string or an integer (never a float: money is exact)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(path, 'must be a decimal string such as "12.50"')
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise invalid(path, f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise invalid(path, "must be a finite number")
    return number


def as_amount(value: Any, path: str) -> Decimal:
    """An amount of money ≥ 0 with at most two decimal places."""
    number = as_decimal(value, path)
    if number < 0:
        raise invalid(path, "must be ≥ 0")
    if number != number.quantize(Decimal("0.01")):
        raise invalid(path, "has more than two decimal places")
    return number.quantize(Decimal("0.01"))


def as_share(value: Any, path: str) -> Decimal:
    """A fraction from 0 to 1."""
    number = as_decimal(value, path)
    if not Decimal(0) <= number <= Decimal(1):
        raise invalid(path, "must lie between 0 and 1")
    return number


def as_non_negative_int(value: Any, path: str) -> int:
    number = as_int(value, path)
    if number < 0:
        raise invalid(path, "must be ≥ 0")
    return number

"""Replays for audits as JSON: an aggregate's events and state, money and ids as strings, dates ISO."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from leasecore.audit import Replay


def replay_document(found: Replay) -> dict[str, Any]:
    """The replay as `leasecore audit --json` prints it and `GET /v1/admin/audit/{id}` answers it."""
    return {
        "aggregate_id": str(found.aggregate_id),
        "aggregate_type": found.aggregate_type,
        "version": found.version,
        "as_of": found.as_of.isoformat(),
        "events": [
            {
                "version": e.version,
                "type": e.type,
                "timestamp": e.timestamp.isoformat(),
                "fields": jsonable(e.fields),
            }
            for e in found.events
        ],
        "state": jsonable(found.state),
    }


def jsonable(value: Any) -> Any:
    """Event fields and state as JSON: money and ids as strings, dates ISO, enums by value."""
    converters: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
        ((str, int, float, bool, type(None)), lambda v: v),
        (Decimal, str),
        (UUID, str),
        ((datetime, date), lambda v: v.isoformat()),
        (Enum, lambda v: jsonable(v.value)),
        (dict, lambda v: {str(jsonable(k)): jsonable(item) for k, item in v.items()}),
        ((list, tuple), lambda v: [jsonable(item) for item in v]),
        ((set, frozenset), lambda v: sorted((jsonable(item) for item in v), key=str)),
    )
    for kinds, convert in converters:
        if isinstance(value, kinds):
            return convert(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)

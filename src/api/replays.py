"""Replays for audits as JSON: an aggregate's events and state, money and ids as strings, dates ISO; and the
aggregates it relates to, its own state's and (an order's payments) the read models'."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

import projections.refunds
from leasecore.audit import Related, Replay, related
from leasecore.lease import Lease
from projections.store import ViewStore


def related_to(app: Application[UUID], views: ViewStore, found: Replay) -> list[Related]:
    """What the replayed aggregate's state names, with an order's payments (requested by then) after its customer."""
    named = list(related(app, found.aggregate))
    if isinstance(found.aggregate, Lease):
        payments = [
            Related(payment.payment_id, "payment")
            for payment in projections.refunds.payments(views, found.aggregate_id)
            if payment.requested_at <= found.as_of
        ]
        at = next((index + 1 for index, item in enumerate(named) if item.kind == "customer"), len(named))
        named[at:at] = payments
    return named


def replay_document(found: Replay, related: Sequence[Related] = ()) -> dict[str, Any]:
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
        "related": [{"aggregate_id": str(item.aggregate_id), "kind": item.kind} for item in related],
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

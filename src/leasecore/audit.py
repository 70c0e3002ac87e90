"""Replay for audits: any aggregate as it was at a version or an instant, with its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from leasecore.errors import InvalidInput, NotFound

BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic"}


@dataclass(frozen=True)
class RecordedEvent:
    version: int
    type: str
    timestamp: datetime
    fields: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """An aggregate replayed up to a version, and the events that made it so."""

    aggregate_id: UUID
    aggregate_type: str
    version: int
    as_of: datetime
    events: tuple[RecordedEvent, ...]
    aggregate: Aggregate

    @property
    def state(self) -> dict[str, Any]:
        return state_of(self.aggregate)


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """The aggregate's business state: its public attributes, with its id and version."""
    state: dict[str, Any] = {"id": aggregate.id, "version": aggregate.version}
    state.update({key: value for key, value in vars(aggregate).items() if not key.startswith("_")})
    return state


def replay(
    app: Application[UUID], aggregate_id: UUID, *, version: int | None = None, at: datetime | None = None
) -> Replay:
    """The aggregate at `version`, or as it stood at instant `at` (the latest event not after it)."""
    if version is not None and at is not None:
        raise InvalidInput("version", "give a version or an instant, not both")
    if version is not None and version < 1:
        raise InvalidInput("version", "versions start at 1")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at", "give the instant with its UTC offset")
    events: list[Any] = list(app.events.get(aggregate_id))
    if not events:
        raise NotFound("aggregate", aggregate_id)
    if at is not None:
        events = [e for e in events if e.timestamp <= at]
        if not events:
            raise NotFound("aggregate", f"{aggregate_id} at {at.isoformat()}")
    if version is not None:
        if version > events[-1].originator_version:
            raise NotFound("aggregate", f"{aggregate_id} version {version}")
        events = events[:version]
    try:
        aggregate: Aggregate = app.repository.get(aggregate_id, version=events[-1].originator_version)
    except AggregateNotFoundError:
        raise NotFound("aggregate", aggregate_id) from None
    recorded = tuple(
        RecordedEvent(
            version=e.originator_version,
            type=type(e).__qualname__,
            timestamp=e.timestamp,
            fields={k: v for k, v in vars(e).items() if k not in BOOKKEEPING},
        )
        for e in events
    )
    return Replay(aggregate_id, type(aggregate).__name__, aggregate.version, events[-1].timestamp, recorded, aggregate)

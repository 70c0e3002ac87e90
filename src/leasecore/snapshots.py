"""Snapshots: an aggregate's state kept every so many events, so that loading it replays only the
events after the latest snapshot instead of its whole history.

JSON has no tuples, sets or dictionaries keyed by anything but strings, while aggregates keep all
three; a snapshot writes them tagged and reads them back as they were, so an aggregate loaded from a
snapshot equals the same aggregate replayed from its first event.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate, Snapshot

TUPLE, SET, FROZENSET, DICT = "__tuple__", "__set__", "__frozenset__", "__dict__"


class TaggedSnapshot(Snapshot):
    """A snapshot whose state keeps tuples, sets and non-string keys through JSON."""

    @classmethod
    def take(cls, aggregate: Any) -> TaggedSnapshot:
        snapshot = super().take(aggregate)
        return dataclasses.replace(snapshot, state=tagged(snapshot.state))

    def mutate(self, _: None) -> BaseAggregate[UUID]:
        return Snapshot.mutate(dataclasses.replace(self, state=untagged(self.state)), None)


def tagged(value: Any) -> Any:
    """The value with its tuples, sets and dictionaries written as tagged lists."""
    if isinstance(value, tuple):
        return {TUPLE: [tagged(item) for item in value]}
    if isinstance(value, frozenset):
        return {FROZENSET: [tagged(item) for item in value]}
    if isinstance(value, set):
        return {SET: [tagged(item) for item in value]}
    if isinstance(value, dict):
        return {DICT: [[tagged(key), tagged(item)] for key, item in value.items()]}
    if isinstance(value, list):
        return [tagged(item) for item in value]
    return value


def untagged(value: Any) -> Any:
    """The value as it was before `tagged` wrote it."""
    if isinstance(value, list):
        return [untagged(item) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, items), = value.items()
        if tag == TUPLE:
            return tuple(untagged(item) for item in items)
        if tag == FROZENSET:
            return frozenset(untagged(item) for item in items)
        if tag == SET:
            return {untagged(item) for item in items}
        if tag == DICT:
            return {untagged(key): untagged(item) for key, item in items}
    if isinstance(value, dict):
        return {key: untagged(item) for key, item in value.items()}
    return value

"""Aggregates load from snapshots: loaded from its latest snapshot, an aggregate equals the same aggregate
replayed from its first event, whatever history it went through, on memory and SQLite. A snapshot is taken of
the aggregate the command just saved, as it holds it, without loading it again."""

from __future__ import annotations

from functools import reduce
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bootstrap import persistence_env
from leasecore.application import LeaseApplication
from leasecore.audit import state_of
from leasecore.clock import SettableClock
from leasecore.snapshots import tagged, untagged
from tests.integration.test_projections import History, steps
from tests.support import START, build_world, close


class SnapshotEveryFewEvents(LeaseApplication):
    """The platform with a snapshot every third event of every aggregate that takes them."""

    snapshotting_intervals: ClassVar[dict[Any, int]] = dict.fromkeys(LeaseApplication.snapshotting_intervals, 3)


def replayed(app: LeaseApplication, aggregate_id: UUID) -> Any:
    """The aggregate rebuilt from its first event, no snapshot involved."""
    return reduce(lambda aggregate, event: event.mutate(aggregate), app.events.get(aggregate_id), None)


def from_latest_snapshot(app: LeaseApplication, aggregate_id: UUID) -> Any:
    """The aggregate loaded as a cold process loads it: its latest snapshot, then the events after it (not the
    copy the application keeps in memory)."""
    assert app.snapshots is not None
    (snapshot,) = app.snapshots.get(aggregate_id, desc=True, limit=1)
    later = app.events.get(aggregate_id, gt=snapshot.originator_version)
    return reduce(lambda aggregate, event: event.mutate(aggregate), later, snapshot.mutate(None))


def check_snapshots_equal_replays(database_url: str, history_steps: list[tuple[str, int, int]]) -> None:
    clock = SettableClock(START)
    app = SnapshotEveryFewEvents(persistence_env(database_url), clock=clock)
    try:
        history = History.start(build_world(app, clock, units=8), lambda: None)
        for action, pick, amount in history_steps:
            history.run(action, pick, amount)
        ids = {notification.originator_id for notification in app.recorder.select_notifications(1, 100_000)}
        snapshotted = [aggregate_id for aggregate_id in ids if list(app.snapshots.get(aggregate_id))]  # type: ignore[union-attr]
        assert snapshotted, "no aggregate was snapshotted: the check would prove nothing"
        for aggregate_id in sorted(ids, key=str):
            assert state_of(app.repository.get(aggregate_id)) == state_of(replayed(app, aggregate_id))
        for aggregate_id in snapshotted:
            assert state_of(from_latest_snapshot(app, aggregate_id)) == state_of(replayed(app, aggregate_id))
    finally:
        close(app)


@settings(max_examples=8, deadline=None)
@given(history_steps=steps)
def test_an_aggregate_from_its_snapshot_equals_it_replayed_from_the_start(
    history_steps: list[tuple[str, int, int]],
) -> None:
    check_snapshots_equal_replays("memory:", history_steps)


@settings(max_examples=4, deadline=None)
@given(history_steps=steps)
def test_the_same_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, history_steps: list[tuple[str, int, int]]
) -> None:
    check_snapshots_equal_replays(f"sqlite:///{tmp_path_factory.mktemp('snapshots')}/leasecore.db", history_steps)


def test_a_snapshot_is_taken_of_the_aggregate_as_saved_without_loading_it_again() -> None:
    clock = SettableClock(START)
    app = SnapshotEveryFewEvents(persistence_env("memory:"), clock=clock)
    loads: list[tuple[UUID, int | None]] = []

    def loaded(aggregate_id: UUID, version: int | None = None, **_: Any) -> None:
        loads.append((aggregate_id, version))

    try:
        world = build_world(app, clock)
        app.take_snapshot = loaded  # type: ignore[method-assign]
        customer_id = world.customer()  # registered, verified, evaluated: its third event is due a snapshot
        assert app.snapshots is not None
        (snapshot,) = app.snapshots.get(customer_id)
        assert snapshot.originator_version == 3
        assert state_of(snapshot.mutate(None)) == state_of(replayed(app, customer_id))
        assert (customer_id, 3) not in loads
    finally:
        close(app)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.uuids(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers(), max_size=3)
        | st.sets(st.text(max_size=3), max_size=3)
        | st.dictionaries(st.uuids() | st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(values)
def test_tagging_gives_back_tuples_sets_and_keys_as_they_were(value: Any) -> None:
    assert untagged(tagged(value)) == value
    assert type(untagged(tagged(value))) is type(value)

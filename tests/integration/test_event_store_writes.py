"""A save's transaction on a driver connection (`api.eventstore.Writing`), on SQLite and PostgreSQL: what a save
wrote is committed with it or not at all, a version taken meanwhile is the library's `IntegrityError` (so the
command runs again) and leaves nothing of the save, and the application's checks around the insert share its
transaction. Aggregates loaded many at once load as each alone does."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from eventsourcing import persistence
from eventsourcing.persistence import StoredEvent

from api.bootstrap import persistence_env
from api.eventstore import ApplicationRecorder
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock
from leasecore.values import DepositMode
from tests.integration.test_snapshots import SnapshotEveryFewEvents
from tests.support import START, build_world, close


def stored(originator_id: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="tests:Noted", state=b"{}")


def versions(recorder: ApplicationRecorder, originator_id: UUID) -> list[int]:
    return [event.originator_version for event in recorder.select_events(originator_id)]


class WritingBehaviour:
    @pytest.fixture
    def recorder(self, database_url: str) -> Iterator[ApplicationRecorder]:
        app = LeaseApplication(persistence_env(database_url))
        assert isinstance(app.recorder, ApplicationRecorder)
        yield app.recorder
        close(app)

    def test_a_save_commits_its_rows_and_answers_their_positions(self, recorder: ApplicationRecorder) -> None:
        first, second = uuid4(), uuid4()
        positions = recorder.insert_events([stored(first, 1), stored(second, 1), stored(first, 2)])
        assert positions is not None and len(positions) == 3 and list(positions) == sorted(set(positions))
        assert (versions(recorder, first), versions(recorder, second)) == ([1, 2], [1])
        logged = recorder.select_notifications(positions[0], 3)
        assert [(n.originator_id, n.originator_version) for n in logged] == [(first, 1), (second, 1), (first, 2)]

    def test_a_version_taken_meanwhile_is_a_conflict_and_stores_nothing_of_the_save(
        self, recorder: ApplicationRecorder
    ) -> None:
        taken, other = uuid4(), uuid4()
        recorder.insert_events([stored(taken, 1)])
        with pytest.raises(persistence.IntegrityError):
            recorder.insert_events([stored(other, 1), stored(taken, 1)])
        assert versions(recorder, other) == []
        recorder.insert_events([stored(other, 1)])  # the lock and the connection were given back
        assert versions(recorder, other) == [1]

    def test_a_check_that_fails_after_the_insert_rolls_the_save_back(self, recorder: ApplicationRecorder) -> None:
        originator_id = uuid4()
        with pytest.raises(persistence.IntegrityError), recorder.transaction(commit=True):
            recorder.insert_events([stored(originator_id, 1)])
            assert versions(recorder, originator_id) == [1]  # the check reads through the save's transaction
            raise persistence.IntegrityError("an aggregate the command read changed before its save")
        assert versions(recorder, originator_id) == []
        recorder.insert_events([stored(originator_id, 1)])
        assert versions(recorder, originator_id) == [1]


    def test_aggregates_loaded_many_at_once_load_their_latest_snapshots_and_the_events_after(
        self, database_url: str
    ) -> None:
        clock = SettableClock(START)
        app = SnapshotEveryFewEvents(persistence_env(database_url), clock=clock)
        try:
            world = build_world(app, clock, units=6)
            customer = world.customer()
            for _ in range(3):
                app.cancel(app.place_order(customer, world.request(mode=DepositMode.FULL)), "changed my mind")
            recorder, snapshots = app.recorder, app.snapshots
            assert isinstance(recorder, ApplicationRecorder) and snapshots is not None
            ids = [*sorted({n.originator_id for n in recorder.select_notifications(1, 1000)}, key=str), uuid4()]
            alone = {i: recorder.select_with_snapshot(i, snapshots.recorder) for i in ids}
            assert any(snapshot is not None for snapshot, _ in alone.values())
            assert recorder.select_many_with_snapshots(ids, snapshots.recorder) == {
                i: loaded for i, loaded in alone.items() if loaded != (None, [])
            }
        finally:
            close(app)


class TestOnSQLite(WritingBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(WritingBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

"""The event store's lean reads and inserts (`api.eventstore`) answer exactly as `eventsourcing-sqlalchemy`'s own
recorder on the same table, on SQLite and PostgreSQL, inside and outside a transaction; a conflicting insert is
still a conflict and leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.eventstore import ApplicationRecorder, EventStore

TOPICS = ("shop:Opened", "shop:Sold", "shop:Closed")
ORIGINATORS = [uuid4() for _ in range(3)]
READS_ONLY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
"""The examples only read, so they share the fixture's table."""


@pytest.fixture(params=["sqlite", "postgresql"])
def recorders(
    request: pytest.FixtureRequest, tmp_path: object
) -> Iterator[tuple[ApplicationRecorder, SQLAlchemyApplicationRecorder]]:
    """Ours and the library's recorder on one table holding 3 aggregates' events, interleaved in the log."""
    if request.param == "sqlite":
        yield from _recorders(f"sqlite:///{tmp_path}/events.db")
    else:
        postgres_url = request.getfixturevalue("postgres_url")
        yield from _recorders(postgres_url)


def _recorders(url: str) -> Iterator[tuple[ApplicationRecorder, SQLAlchemyApplicationRecorder]]:
    env = {"SQLALCHEMY_URL": url, "CREATE_TABLE": "y"}
    ours, theirs = EventStore(env), SQLAlchemyFactory(env)  # type: ignore[arg-type]
    try:
        lean = ours.application_recorder()
        library = theirs.application_recorder()
        assert isinstance(library, SQLAlchemyApplicationRecorder)
        for version in range(1, 8):
            lean.insert_events(
                [
                    StoredEvent(originator, version, TOPICS[(version + n) % 3], f"{n}:{version}".encode())
                    for n, originator in enumerate(ORIGINATORS)
                ]
            )
        yield lean, library
    finally:
        ours.close()
        theirs.close()


def _same(events: list[StoredEvent]) -> list[tuple[UUID, int, str, bytes]]:
    return [(UUID(str(e.originator_id)), e.originator_version, e.topic, e.state) for e in events]


@READS_ONLY
@given(
    originator=st.sampled_from(ORIGINATORS),
    gt=st.none() | st.integers(0, 8),
    lte=st.none() | st.integers(0, 8),
    desc=st.booleans(),
    limit=st.none() | st.integers(1, 9),
)
def test_select_events_answers_as_the_library_does(
    recorders: tuple[ApplicationRecorder, SQLAlchemyApplicationRecorder],
    originator: UUID,
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> None:
    lean, library = recorders
    ours = lean.select_events(originator, gt=gt, lte=lte, desc=desc, limit=limit)
    assert _same(ours) == _same(library.select_events(originator, gt=gt, lte=lte, desc=desc, limit=limit))
    with lean.transaction(commit=False):  # the same read inside a transaction goes through its connection
        assert _same(lean.select_events(originator, gt=gt, lte=lte, desc=desc, limit=limit)) == _same(ours)


@READS_ONLY
@given(
    start=st.none() | st.integers(0, 22),
    limit=st.integers(1, 25),
    stop=st.none() | st.integers(0, 22),
    topics=st.lists(st.sampled_from(TOPICS), max_size=2, unique=True),
    inclusive=st.booleans(),
)
def test_select_notifications_answers_as_the_library_does(
    recorders: tuple[ApplicationRecorder, SQLAlchemyApplicationRecorder],
    start: int | None,
    limit: int,
    stop: int | None,
    topics: list[str],
    inclusive: bool,
) -> None:
    lean, library = recorders
    asked = {"stop": stop, "topics": topics, "inclusive_of_start": inclusive}
    ours = lean.select_notifications(start, limit, **asked)  # type: ignore[arg-type]
    theirs = library.select_notifications(start, limit, **asked)  # type: ignore[arg-type]
    assert [(n.id, *_same([n])[0]) for n in ours] == [(n.id, *_same([n])[0]) for n in theirs]
    assert all(isinstance(n.originator_id, UUID) for n in ours)
    assert lean.max_notification_id() == library.max_notification_id() == 21


def test_an_insert_answers_the_positions_in_order_and_a_conflict_stores_nothing(
    recorders: tuple[ApplicationRecorder, SQLAlchemyApplicationRecorder],
) -> None:
    lean, library = recorders
    new = uuid4()
    positions = lean.insert_events([StoredEvent(new, 1, TOPICS[0], b"a"), StoredEvent(new, 2, TOPICS[1], b"b")])
    assert positions == [22, 23]
    assert lean.insert_events([]) == []
    with pytest.raises(IntegrityError):
        lean.insert_events([StoredEvent(new, 3, TOPICS[2], b"c"), StoredEvent(ORIGINATORS[0], 7, TOPICS[0], b"x")])
    assert lean.max_notification_id() == 23
    assert [e.originator_version for e in library.select_events(new)] == [1, 2]

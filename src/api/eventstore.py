"""The event store on SQLite or PostgreSQL: `eventsourcing-sqlalchemy`, with a lean path for loading an aggregate.

Every command loads a few aggregates, each with one `select_events` (the aggregate cache asks only for the
events after the version it keeps), and saves once. The library runs each read through an ORM session in a
transaction it then rolls back: on PostgreSQL three round trips (BEGIN, SELECT, ROLLBACK) and the ORM's
statement building for one indexed read; and it saves through the ORM's unit of work. A single SELECT is
atomic on its own, so outside a transaction these recorders run it on a connection in autocommit mode, as one
plain string per shape of query: one round trip, no ORM; inside a transaction (a save that reads what it
checks) they read through that transaction. A save inserts its rows in one statement returning their
positions, still under the library's table lock (PostgreSQL) or write lock (SQLite), in a transaction run on a
driver connection (`Writing`) rather than an ORM session: the session's begin, commit and close were a third of a
SQLite save's CPU, and on PostgreSQL the driver's own `BEGIN` was a round trip of its own.

Select it with `PERSISTENCE_MODULE=api.eventstore:EventStore` (what `api.bootstrap.persistence_env` sets).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from threading import Semaphore
from types import TracebackType
from typing import Any
from uuid import UUID

import sqlalchemy.exc
from eventsourcing import persistence
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore, transactions
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyAggregateRecorder, SQLAlchemyApplicationRecorder
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError

NEWER_CHUNK = 200
"""Aggregates checked a statement by `select_newer`."""


class Reads:
    """Autocommit connections for single-statement reads, beside the library's engine for writes; inside an
    open transaction, that transaction's connection."""

    def __init__(self, datastore: SQLAlchemyDatastore) -> None:
        assert isinstance(datastore.engine, Engine), "the event store needs an engine of its own"
        writes = datastore.engine
        self.engine = create_engine(writes.url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=16)
        self.sqlite = writes.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"

    def parameter(self, originator_id: UUID | str) -> object:
        """An originator id as the column stores it: 16 bytes on SQLite, the uuid type on PostgreSQL."""
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        return uuid.bytes if self.sqlite else str(uuid)

    def originator_id(self, stored: UUID | bytes | str) -> UUID:
        if isinstance(stored, UUID):
            return stored
        return UUID(bytes=bytes(stored)) if isinstance(stored, bytes | memoryview) else UUID(stored)

    def rows(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        writing = _writing.get()
        if writing is not None:
            return writing.rows(sql, parameters)
        transaction = transactions.get(None)
        if transaction is not None:
            return executed(transaction.session.connection(), sql, parameters)
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, parameters)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        finally:
            connection.close()

    def close(self) -> None:
        self.engine.dispose()


def executed(connection: Connection, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
    """The rows of one statement run on the driver's cursor of a connection in a transaction."""
    return _executed(connection.connection, connection.dialect.loaded_dbapi, sql, parameters)


def _executed(
    driver: Any, dbapi: Any, sql: str, parameters: tuple[object, ...], *, fetch: bool = True
) -> list[tuple[Any, ...]]:
    """The rows of one statement run on a driver connection's cursor. `exec_driver_sql` built a result object and
    read the cursor's description for every insert (a tenth of a SQLite save); a driver's error is raised as
    SQLAlchemy raises it (`IntegrityError` for a version taken meanwhile, which `Writing` turns into the
    library's own, and the command runs again)."""
    cursor = driver.cursor()
    try:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall()) if fetch else []
    except dbapi.Error as error:
        raise DBAPIError.instance(sql, parameters, error, dbapi.Error) from error
    finally:
        cursor.close()


_writing: ContextVar[Writing | None] = ContextVar("writing", default=None)

_RAISED_AS = (
    (sqlalchemy.exc.InterfaceError, persistence.InterfaceError),
    (sqlalchemy.exc.DataError, persistence.DataError),
    (sqlalchemy.exc.OperationalError, persistence.OperationalError),
    (sqlalchemy.exc.IntegrityError, persistence.IntegrityError),
    (sqlalchemy.exc.InternalError, persistence.InternalError),
    (sqlalchemy.exc.ProgrammingError, persistence.ProgrammingError),
    (sqlalchemy.exc.NotSupportedError, persistence.NotSupportedError),
    (sqlalchemy.exc.DatabaseError, persistence.DatabaseError),
    (sqlalchemy.exc.SQLAlchemyError, persistence.PersistenceError),
)
"""SQLAlchemy's errors as the library's transactions raise them (a conflict is `persistence.IntegrityError`)."""


def _raised_as(error: BaseException) -> BaseException:
    for theirs, ours in _RAISED_AS:
        if isinstance(error, theirs):
            return ours(error)
    return error


class Writing:
    """A save's transaction on a driver connection from the autocommit pool, begun by its first statement and
    ended with `COMMIT` (or `ROLLBACK` if the body raised). On PostgreSQL `BEGIN` goes in the first statement's
    own round trip; on SQLite it is `BEGIN IMMEDIATE`, the write lock taken at once. Within the process, saves
    take the library's write lock as its transactions do. Nested uses (the application's checks around the
    recorder's insert) share the outer transaction. Errors are raised as the library's transactions raise them."""

    def __init__(self, reads: Reads, lock: Semaphore | None) -> None:
        self.reads, self.lock = reads, lock
        self.depth, self.begun = 0, False
        self.driver: Any = None
        self.token: Token[Writing | None] | None = None

    def __enter__(self) -> Writing:
        if self.depth == 0:
            if self.lock is not None:
                self.lock.acquire()
            try:
                self.driver = self.reads.engine.raw_connection()
            except BaseException as error:
                if self.lock is not None:
                    self.lock.release()
                raise _raised_as(error) from error
            self.token = _writing.set(self)
        self.depth += 1
        return self

    def rows(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        dbapi = self.reads.engine.dialect.loaded_dbapi
        if not self.begun:
            self.begun = True
            if self.reads.sqlite:
                _executed(self.driver, dbapi, "BEGIN IMMEDIATE", (), fetch=False)
            else:
                sql = f"BEGIN; {sql}"
        return _executed(self.driver, dbapi, sql, parameters)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.depth -= 1
        if self.depth:
            return
        assert self.token is not None
        try:
            if self.begun:
                self.begun = False
                end = "ROLLBACK" if error else "COMMIT"
                _executed(self.driver, self.reads.engine.dialect.loaded_dbapi, end, (), fetch=False)
        except sqlalchemy.exc.SQLAlchemyError as failed:
            if error is None:
                raise _raised_as(failed) from failed
        finally:
            _writing.reset(self.token)
            self.driver.close()
            if self.lock is not None:
                self.lock.release()
        if isinstance(error, sqlalchemy.exc.SQLAlchemyError):
            raise _raised_as(error) from error


def _bytes(state: bytes | memoryview) -> bytes:
    return bytes(state) if isinstance(state, memoryview) else state


class LeanReads(SQLAlchemyAggregateRecorder):
    """`select_events` as one prepared string per shape of query, in one autocommit round trip when no
    transaction is open."""

    reads: Reads

    @functools.cached_property
    def table(self) -> str:
        return str(self.events_record_cls.__table__.fullname)

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        parameters: tuple[object, ...] = (self.reads.parameter(originator_id),)
        if gt is not None:
            parameters += (gt,)
        if lte is not None:
            parameters += (lte,)
        sql = self._select_events_sql(gt is not None, lte is not None, desc, limit)
        return [
            StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=_bytes(state))
            for version, topic, state in self.reads.rows(sql, parameters)
        ]

    def select_newer(self, versions: Mapping[UUID, int]) -> list[UUID]:
        """Which of these aggregates have an event stored after the version given: one statement (a range
        of the unique index an aggregate), whatever their histories' lengths."""
        mark, found = self.reads.mark, []
        ids = list(versions)
        for start in range(0, len(ids), NEWER_CHUNK):
            chunk = ids[start : start + NEWER_CHUNK]
            where = " OR ".join(f"(originator_id = {mark} AND originator_version > {mark})" for _ in chunk)
            parameters = tuple(value for i in chunk for value in (self.reads.parameter(i), versions[i]))
            sql = f"SELECT DISTINCT originator_id FROM {self.table} WHERE {where}"
            found += [self.reads.originator_id(stored) for (stored,) in self.reads.rows(sql, parameters)]
        return found

    def select_with_snapshot(
        self, originator_id: UUID | str, snapshots: LeanReads
    ) -> tuple[StoredEvent | None, list[StoredEvent]]:
        """An aggregate's latest snapshot, if any, and its events after it, in one statement."""
        mark = self.reads.mark
        sql = (
            f"WITH latest AS (SELECT originator_version, topic, state FROM {snapshots.table}"
            f" WHERE originator_id = {mark} ORDER BY originator_version DESC LIMIT 1)"
            " SELECT 0, originator_version, topic, state FROM latest UNION ALL"
            f" SELECT 1, originator_version, topic, state FROM {self.table} WHERE originator_id = {mark}"
            " AND originator_version > COALESCE((SELECT originator_version FROM latest), 0) ORDER BY 1, 2"
        )
        parameter = self.reads.parameter(originator_id)
        snapshot: StoredEvent | None = None
        events: list[StoredEvent] = []
        for kind, version, topic, state in self.reads.rows(sql, (parameter, parameter)):
            stored = StoredEvent(
                originator_id=originator_id, originator_version=version, topic=topic, state=_bytes(state)
            )
            if kind == 0:
                snapshot = stored
            else:
                events.append(stored)
        return snapshot, events

    def select_many_with_snapshots(
        self, originator_ids: Sequence[UUID], snapshots: LeanReads
    ) -> dict[UUID, tuple[StoredEvent | None, list[StoredEvent]]]:
        """For each of these aggregates that has events, its latest snapshot, if any, and its events after it: one
        statement for them all (`NEWER_CHUNK` at most a statement)."""
        mark = self.reads.mark
        snapshots_of: dict[UUID, StoredEvent] = {}
        events_of: dict[UUID, list[StoredEvent]] = {}
        for start in range(0, len(originator_ids), NEWER_CHUNK):
            chunk = originator_ids[start : start + NEWER_CHUNK]
            ids = ", ".join(mark for _ in chunk)
            sql = (
                f"WITH latest AS (SELECT originator_id, MAX(originator_version) AS version FROM {snapshots.table}"
                f" WHERE originator_id IN ({ids}) GROUP BY originator_id)"
                f" SELECT 0, s.originator_id, s.originator_version, s.topic, s.state FROM {snapshots.table} s"
                " JOIN latest ON s.originator_id = latest.originator_id AND s.originator_version = latest.version"
                f" UNION ALL SELECT 1, e.originator_id, e.originator_version, e.topic, e.state FROM {self.table} e"
                " LEFT JOIN latest ON e.originator_id = latest.originator_id"
                f" WHERE e.originator_id IN ({ids}) AND e.originator_version > COALESCE(latest.version, 0)"
                " ORDER BY 2, 1, 3"
            )
            parameters = tuple(self.reads.parameter(i) for i in chunk) * 2
            for kind, stored_id, version, topic, state in self.reads.rows(sql, parameters):
                originator_id = self.reads.originator_id(stored_id)
                stored = StoredEvent(
                    originator_id=originator_id, originator_version=version, topic=topic, state=_bytes(state)
                )
                if kind == 0:
                    snapshots_of[originator_id] = stored
                else:
                    events_of.setdefault(originator_id, []).append(stored)
        return {i: (snapshots_of.get(i), events_of.get(i, [])) for i in {*snapshots_of, *events_of}}

    def select_changes(
        self, after: int, topics: Sequence[str], limit: int, versions: Mapping[UUID, int]
    ) -> tuple[list[tuple[int, UUID]], list[UUID]]:
        """In one statement, the first `limit` events of these topics after position `after` (position and
        originator), and which of these aggregates have an event stored after the version given."""
        mark = self.reads.mark
        ids = list(versions)[:NEWER_CHUNK]
        newer = " OR ".join(f"(originator_id = {mark} AND originator_version > {mark})" for _ in ids)
        sql = (
            f"SELECT id, originator_id FROM (SELECT id, originator_id FROM {self.table} WHERE id > {mark}"
            f" AND topic IN ({', '.join(mark for _ in topics)}) ORDER BY id LIMIT {int(limit)}) AS changes"
            f" UNION ALL SELECT DISTINCT 0, originator_id FROM {self.table} WHERE {newer}"
        )
        parameters = (after, *topics, *(value for i in ids for value in (self.reads.parameter(i), versions[i])))
        changes: list[tuple[int, UUID]] = []
        stale: list[UUID] = []
        for position, stored in self.reads.rows(sql, parameters):
            if position:
                changes.append((position, self.reads.originator_id(stored)))
            else:
                stale.append(self.reads.originator_id(stored))
        if len(versions) > NEWER_CHUNK:
            stale += self.select_newer({i: versions[i] for i in list(versions)[NEWER_CHUNK:]})
        return changes, stale

    @functools.cache  # noqa: B019 — a handful of shapes per recorder, for the recorder's life
    def _select_events_sql(self, gt: bool, lte: bool, desc: bool, limit: int | None) -> str:
        mark = self.reads.mark
        sql = f"SELECT originator_version, topic, state FROM {self.table} WHERE originator_id = {mark}"
        if gt:
            sql += f" AND originator_version > {mark}"
        if lte:
            sql += f" AND originator_version <= {mark}"
        sql += " ORDER BY originator_version" + (" DESC" if desc else "")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql


class AggregateRecorder(LeanReads):
    """Snapshots (and any aggregate-only table)."""


class ApplicationRecorder(LeanReads, SQLAlchemyApplicationRecorder):
    """The events and their notification log: reads as above; a save inserts its rows in one statement that
    returns their positions, without the ORM's unit of work."""

    def transaction(self, commit: bool = True) -> Writing:  # type: ignore[override]
        """A save's transaction, or the one this context has open (the library's is an ORM session's)."""
        open_ = _writing.get()
        if open_ is not None:
            return open_
        datastore = self.datastore
        if not datastore._tried_init_sqlite_wal_mode:
            datastore.init_sqlite_wal_mode()
        return Writing(self.reads, datastore.access_lock or (datastore.write_lock if commit else None))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.transaction(commit=True) as writing:
            return self._insert_stored_events(writing, stored_events, **kwargs)

    def _insert_stored_events(  # type: ignore[override]
        self, writing: Writing, stored_events: Sequence[StoredEvent], *, checks: Any = None, **_: Any
    ) -> list[int]:
        """The rows in one `INSERT … RETURNING` written as a plain string (no statement to compile). On
        PostgreSQL the table lock and the NOTIFY (sent at commit) go in the same round trip, and so do the save's
        checks (`SaveChecks`: configuration events since the copy, aggregates read that have newer events),
        answered by the statement that inserts, whose snapshot is taken once the lock is held. On SQLite the insert
        takes the write lock itself, and the application runs the checks after it."""
        if not stored_events:
            return []
        mark = self.reads.mark
        values = ", ".join(f"({mark}, {mark}, {mark}, {mark})" for _ in stored_events)
        insert = (
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, state) VALUES {values} "
            "RETURNING id, originator_id, originator_version"
        )
        parameters: tuple[object, ...] = tuple(
            value
            for event in stored_events
            for value in (self.reads.parameter(event.originator_id), event.originator_version, event.topic, event.state)
        )
        if self.reads.sqlite:
            return self._positions(stored_events, writing.rows(insert, parameters))
        sql, kinds = insert, False
        if checks is not None and (checks.since is not None or checks.versions):
            sql, kinds = f"WITH saved AS ({insert}) SELECT 0, id, originator_id, originator_version FROM saved", True
            if checks.since is not None:
                sql += (
                    f" UNION ALL SELECT 1, id, originator_id, 0 FROM (SELECT id, originator_id FROM {self.table}"
                    f" WHERE id > %s AND topic IN ({', '.join('%s' for _ in checks.topics)})"
                    f" ORDER BY id LIMIT {int(checks.limit)}) AS changes"
                )
                parameters += (checks.since, *checks.topics)
            if checks.versions:
                newer = " OR ".join("(originator_id = %s AND originator_version > %s)" for _ in checks.versions)
                sql += f" UNION ALL SELECT DISTINCT 2, 0, originator_id, 0 FROM {self.table} WHERE {newer}"
                parameters += tuple(
                    value for i, version in checks.versions.items() for value in (self.reads.parameter(i), version)
                )
        lock = f"LOCK TABLE {self.table} IN EXCLUSIVE MODE; NOTIFY {self.channel_name}"
        rows = writing.rows(f"{lock}; {sql}", parameters)
        if not kinds:
            return self._positions(stored_events, rows)
        originator = self.reads.originator_id
        checks.changes = [(position, originator(stored)) for kind, position, stored, _ in rows if kind == 1]
        checks.stale = [originator(stored) for kind, _, stored, _ in rows if kind == 2]
        checks.answered = True
        return self._positions(stored_events, [row[1:] for row in rows if row[0] == 0])

    def _positions(self, stored_events: Sequence[StoredEvent], rows: Sequence[Any]) -> list[int]:
        positions = {(self.reads.originator_id(stored), version): position for position, stored, version in rows}
        return [positions[self.reads.originator_id(e.originator_id), e.originator_version] for e in stored_events]

    def max_notification_id(self) -> int | None:
        rows = self.reads.rows(f"SELECT MAX(id) FROM {self.table}", ())
        return rows[0][0] if rows else None

    def select_originators(self, after: int, limit: int) -> list[tuple[int, UUID, int]]:
        """The position, originator and version of the first `limit` events after position `after` (no states)."""
        mark = self.reads.mark
        sql = f"SELECT id, originator_id, originator_version FROM {self.table} WHERE id > {mark}"
        sql += f" ORDER BY id LIMIT {mark}"
        return [
            (position, self.reads.originator_id(stored), version)
            for position, stored, version in self.reads.rows(sql, (after, limit))
        ]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        mark = self.reads.mark
        clauses: list[str] = []
        parameters: tuple[object, ...] = ()
        if start is not None:
            clauses.append(f"id >= {mark}" if inclusive_of_start else f"id > {mark}")
            parameters += (start,)
        if stop is not None:
            clauses.append(f"id <= {mark}")
            parameters += (stop,)
        if topics:
            clauses.append(f"topic IN ({', '.join(mark for _ in topics)})")
            parameters += tuple(topics)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT id, originator_id, originator_version, topic, state FROM {self.table}{where}"
            f" ORDER BY id LIMIT {int(limit)}"
        )
        return [
            Notification(
                id=position,
                originator_id=self.reads.originator_id(originator_id),
                originator_version=version,
                topic=topic,
                state=_bytes(state),
            )
            for position, originator_id, version, topic, state in self.reads.rows(sql, parameters)
        ]


class EventStore(SQLAlchemyFactory):
    """`eventsourcing-sqlalchemy` with the recorders above, sharing one pool of read connections."""

    aggregate_recorder_class = AggregateRecorder
    application_recorder_class = ApplicationRecorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        self.reads = Reads(self.datastore)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = super().aggregate_recorder(purpose)
        assert isinstance(recorder, AggregateRecorder)
        recorder.reads = self.reads
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        assert isinstance(recorder, ApplicationRecorder)
        recorder.reads = self.reads
        return recorder

    def close(self) -> None:
        self.reads.close()
        super().close()

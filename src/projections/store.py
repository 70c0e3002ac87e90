"""Where the read models live: the events' own database (an in-memory SQLite for `memory:`).

Writes on SQLite begin `IMMEDIATE`, so a batch takes the database's write lock up front and
waits its turn instead of failing half-way; an in-memory SQLite has one connection, shared
under a lock. A write that may be lost in a crash (a read models' batch: its rows and its position
commit together, and the runner resumes from the position it finds) commits without waiting for
the disk (SQLite: `synchronous = NORMAL` in WAL mode; PostgreSQL: `synchronous_commit = off`; the
database stays consistent). Whatever a background process does on those rows is keyed by the event
that caused it (a refund by its event's id), so a batch applied again repeats nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Numeric,
    cast,
    create_engine,
    event,
    func,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

MEMORY_URLS = ("memory", "memory:", "memory://")
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0


class ViewStore:
    """An engine for the read models' tables, opened on a `leasecore` database URL."""

    def __init__(self, engine: Engine, *, reader: Engine | None = None, shared_connection: bool = False) -> None:
        self.engine = engine
        self.reader = reader or engine
        self._lock: threading.RLock | None = threading.RLock() if shared_connection else None
        self._reading = threading.local()
        self._writes: threading.Semaphore | None = None

    @classmethod
    def for_database(cls, database_url: str) -> ViewStore:
        if database_url in MEMORY_URLS:
            engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
            _begin_explicitly(engine)
            return cls(engine, shared_connection=True)
        if database_url.startswith("sqlite:"):
            engine = create_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            _begin_explicitly(engine)
            return cls(engine)
        if database_url.startswith("postgresql"):
            engine = create_engine(database_url, executemany_mode="values_plus_batch")
            _forget_loading_tables_on_rollback(engine)
            reader = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
            return cls(engine, reader=reader)
        raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///path or postgresql+psycopg2://…")

    def share_writes(self, lock: threading.Semaphore) -> None:
        """Take `lock` around every write transaction: on a SQLite file, the event store's in-process write lock.
        SQLite lets one connection write at a time and makes the others wait in its busy handler, which sleeps in
        steps of up to 50 ms: a save behind a batch of the read models waited up to 180 ms for a lock held 60. On
        the one lock both wait in the process, and the next writer goes as soon as the last one commits."""
        self._writes = lock

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def begin(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises; not `durable`, a commit
        a crash may undo, which then does not wait for the disk (SQLite in WAL mode: `synchronous = NORMAL`;
        PostgreSQL: `synchronous_commit = off` for this transaction). The database stays consistent either way:
        a read models' batch moves its positions with its rows, so a batch a crash undoes is applied again."""
        with self._locked(), self._writing(), self.engine.connect() as connection:
            connection.execution_options(leasecore_immediate=True)
            relaxed = None if durable else _relax(connection)
            try:
                with connection.begin():
                    if not durable and self.is_postgres:
                        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield connection
            finally:
                if relaxed is not None:
                    _pragma(connection, f"synchronous = {relaxed}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries, each statement on its own (no BEGIN, no ROLLBACK, no lock held between
        statements; on PostgreSQL no liveness ping on checkout either). Reads nested in one (a page asking a dozen
        questions) share its connection: one checkout for all of them."""
        current: Connection | None = getattr(self._reading, "connection", None)
        if current is not None:
            yield current
            return
        with self._locked(), self.reader.connect() as connection:
            connection.execution_options(leasecore_autocommit=True)
            self._reading.connection = connection
            try:
                yield connection
            finally:
                self._reading.connection = None

    def reading(self) -> AbstractContextManager[object]:
        """A span whose reads share one connection (a page's many questions): `read()` held open. Not for the
        in-memory store, whose one connection is shared by lock: holding it would stall the read models' writer."""
        return nullcontext() if self._lock is not None else self.read()

    def close(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The shared write lock (`share_writes`) for a transaction's span; a lock not let go within SQLite's own
        busy timeout is an error, as SQLite's lock would have been."""
        lock = self._writes
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            raise TimeoutError(f"the database's write lock was held longer than {SQLITE_BUSY_TIMEOUT_SECONDS:.0f} s")
        try:
            yield
        finally:
            lock.release()

    def _locked(self) -> threading.RLock | nullcontext[None]:
        return self._lock if self._lock is not None else nullcontext()


def _relax(connection: Connection) -> int | None:
    """On SQLite in WAL mode, commits stop waiting for the disk; what they did before, to put back."""
    if connection.dialect.name != "sqlite" or _pragma(connection, "journal_mode") != "wal":
        return None
    before = _pragma(connection, "synchronous")
    _pragma(connection, "synchronous = NORMAL")
    return int(before)


def _pragma(connection: Connection, pragma: str) -> Any:
    """A pragma on the driver's connection, outside any transaction (SQLite refuses some inside one)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
        found = cursor.fetchone()
        return found[0] if found else None
    finally:
        cursor.close()


LOADING_TABLES = "leasecore_loading_tables"
"""Where a PostgreSQL connection's `info` names the temporary tables it created to copy rows into
(`projection._TableSQL.upsert`)."""


def _forget_loading_tables_on_rollback(engine: Engine) -> None:
    """A temporary table lasts as long as its connection once the transaction that created it commits; a rollback
    may have taken it back, so after one the connection creates its loading tables again (if they do not exist)."""

    @event.listens_for(engine, "rollback")
    def _rolled_back(connection: Connection) -> None:
        connection.connection.info.pop(LOADING_TABLES, None)


def _begin_explicitly(engine: Engine) -> None:
    """pysqlite's own transaction handling is switched off; we say BEGIN (IMMEDIATE for writes), and nothing for
    reads."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("leasecore_autocommit", False):
            return  # a read: each statement its own transaction, so no lock outlives a statement
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("leasecore_immediate", False) else "BEGIN")


metadata = MetaData()


class Instant(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC (SQLite keeps no offset, PostgreSQL `timestamptz`)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"an instant needs its UTC offset: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def money(name: str, **kwargs: Any) -> Column[Any]:
    return Column(name, Numeric(14, 2), nullable=False, **kwargs)


def fen_total(column: ColumnElement[Any]) -> ColumnElement[int]:
    """The exact sum of a money column in integer fen, summed by the database. SQLite keeps `Numeric` as binary
    floating point, so summing yuan there drifts over many rows; each amount is turned into whole fen first."""
    return func.coalesce(func.sum(cast(func.round(column * 100), BigInteger)), 0)


def money_of(stored: Decimal | float | None) -> Decimal:
    """A money column's value read back exact to the fen (SQLite keeps `Numeric` as binary floating point)."""
    return Decimal(str(stored or 0)).quantize(Decimal("0.01"))


def from_fen(fen: int | None) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))

"""What a projection is: a name, the topics it reads, a dispatch on event type; and the batch,
the rows one transaction reads and writes back as idempotent upserts."""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Dialect, Table, TypeDecorator, and_, bindparam
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from leasecore.lease.ledger import Ledger
from leasecore.topics import stored_topics
from projections.store import LOADING_TABLES

Event: TypeAlias = Any
Row: TypeAlias = dict[str, Any]
Processor: TypeAlias = Callable[[Any], Any] | None
F = TypeVar("F", bound=Callable[..., None])

CHUNK = 500
MAX_PARAMETERS = 65_535
"""PostgreSQL's limit on a statement's parameters."""


def on(*event_classes: type) -> Callable[[F], F]:
    """Mark a projection method as the handler of these event types."""

    def mark(method: F) -> F:
        method.__handles__ = (*getattr(method, "__handles__", ()), *event_classes)  # type: ignore[attr-defined]
        return method

    return mark


class Projection:
    """A read model built from events: `process` dispatches each event to its handler, which
    reads and writes rows through the batch; handlers skip an event their rows have already seen."""

    name: ClassVar[str]
    needs_ledgers: ClassVar[bool] = False
    """Its handlers read the rent ledger after a lease event (`Batch.ledger`): the runner then folds every
    lease event in order, whatever topics the projection handles."""
    assessments_overtaken: ClassVar[bool] = False
    """What its handlers do for a lease's daily assessment (`Lease.OverdueAssessed`) the lease's next event does again
    when that is the daily assessment of a later day (`projections.ledgers.overtaken`): a rebuild may then leave the
    earlier one out, with its ledger."""
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[Table, ...]]
    _handlers: ClassVar[dict[type, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                for event_class in getattr(value, "__handles__", ()):
                    handlers[event_class] = attribute
        cls._handlers = handlers

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics of the events it handles, including those they were stored under before a move."""
        return _topics_of(type(self))

    def process(self, batch: Batch, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            getattr(self, handler)(batch, event)

    def dispatch(self) -> dict[type, Callable[[Batch, Event], None]]:
        """Each event type it handles with its bound handler (a runner looks them up once)."""
        return {event_class: getattr(self, name) for event_class, name in self._handlers.items()}

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        """Load, in a few queries, the rows these events will touch (an optimisation only)."""

    @property
    def fingerprint(self) -> str:
        """Changes when the tables, the handlers' version or the projection's settings change."""
        digest = hashlib.sha256(f"{self.name}:{self.version}:{sorted(vars(self).items())!r}".encode())
        for table in self.tables:
            digest.update(str(CreateTable(table).compile(dialect=sqlite.dialect())).encode())
            for index in sorted(table.indexes, key=lambda index: str(index.name)):
                digest.update(str(CreateIndex(index).compile(dialect=sqlite.dialect())).encode())
        return digest.hexdigest()[:32]


def _topics_of(kind: type[Projection]) -> tuple[str, ...]:
    """A projection class's topics, worked out once: the runner asks for them on every batch."""
    found = _TOPICS.get(kind)
    if found is None:
        found = _TOPICS[kind] = tuple(sorted(topic for handled in kind._handlers for topic in stored_topics(handled)))
    return found


_TOPICS: dict[type, tuple[str, ...]] = {}


def is_new(row: Row | None, event: Event, column: str = "version") -> bool:
    """An event is applied once: only if it is later than what the row has seen."""
    return row is None or event.originator_version > row[column]


def blank(table: Table, **values: Any) -> Row:
    """A full row of `table`: the given values, None elsewhere."""
    empty = _EMPTY_ROWS.get(table.name)
    if empty is None:
        empty = _EMPTY_ROWS[table.name] = dict.fromkeys(column.name for column in table.columns)
    if not values.keys() <= empty.keys():
        raise KeyError(f"{table.name} has no column {', '.join(sorted(values.keys() - empty.keys()))}")
    return {**empty, **values}


_EMPTY_ROWS: dict[str, Row] = {}


class Rows:
    """The rows of one table that a batch touches, grouped by the value of one column (or of a
    tuple of columns); handlers change them in place or `put` new ones, and `flush` upserts what
    changed and deletes what went."""

    def __init__(self, connection: Connection, table: Table, key: str | tuple[str, ...]) -> None:
        self.connection, self.table = connection, table
        self._columns = (key,) if isinstance(key, str) else key
        self._composite = not isinstance(key, str)
        self._primary_key = tuple(column.name for column in table.primary_key)
        self._sql = _TableSQL.of(table, connection.dialect)
        self._stored: dict[Any, list[Row]] = {}
        self._current: dict[Any, list[Row]] = {}
        self.notes: dict[Any, Any] = {}
        """What handlers remember of the rows of a key they put (what those rows show), valid while `get` still
        gives that very list: for this batch only."""

    def prefetch(self, keys: Iterable[Any]) -> None:
        stored = self._stored
        missing = {key for key in keys if key is not None and key not in stored}
        if not missing:
            return
        for chunk in _chunks(sorted(missing, key=str), CHUNK):
            found: dict[Any, list[Row]] = defaultdict(list)
            for row in self._sql.select(self.connection, self._columns, chunk):
                found[self._key(row)].append(row)
            for key in chunk:
                stored[key] = found.get(key, [])

    def get(self, key: Any) -> list[Row]:
        current = self._current.get(key)
        if current is None:
            if key not in self._stored:
                self.prefetch([key])
            current = self._current[key] = [dict(row) for row in self._stored[key]]
        return current

    def one(self, key: Any) -> Row | None:
        rows = self.get(key)
        return rows[0] if rows else None

    def put(self, key: Any, rows: list[Row]) -> None:
        self.get(key)
        self._current[key] = rows

    def flush(self) -> None:
        upserts: list[Row] = []
        deletes: list[Row] = []
        identity = self._identity
        for key, rows in self._current.items():
            before = self._stored[key]
            if len(rows) == 1 and len(before) <= 1:
                if not before or before[0] != rows[0]:
                    upserts.append(rows[0])
                    if before and identity(before[0]) != identity(rows[0]):
                        deletes.append(before[0])
                continue
            stored = {identity(row): row for row in before}
            current = {identity(row): row for row in rows}
            upserts.extend(row for name, row in current.items() if stored.get(name) != row)
            deletes.extend(row for name, row in stored.items() if name not in current)
        if deletes:
            condition = and_(*(self.table.c[name] == bindparam(f"pk_{name}") for name in self._primary_key))
            parameters = [{f"pk_{name}": row[name] for name in self._primary_key} for row in deletes]
            for chunk in _chunks(parameters, CHUNK):
                self.connection.execute(self.table.delete().where(condition), chunk)
        if upserts:
            self._sql.upsert(self.connection, upserts)
        self._stored.update(self._current)
        self._current = {}

    def _identity(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[name] for name in self._primary_key)

    def _key(self, row: Any) -> Any:
        if self._composite:
            return tuple(row[name] for name in self._columns)
        return row[self._columns[0]]


Reads: TypeAlias = Callable[[], AbstractContextManager[Connection]]
"""Where a rebuild reads back rows it let go (`ViewStore.read`)."""


class Held:
    """The rows of one table a rebuild holds in memory from batch to batch, by key, and writes once a chunk of the
    log is applied: the keys touched since are inserted afresh (those it wrote before deleted first). The table was
    empty when the rebuild began and nobody else writes it meanwhile (the runner checks its position when it
    writes), so the keys it wrote are all the table holds: a key it no longer holds in memory (past a bound it lets
    a table's rows go once written) is read back only if it wrote it."""

    def __init__(self, table: Table, key: str | tuple[str, ...], reads: Reads) -> None:
        self.table, self.key, self._reads = table, key, reads
        self._columns = (key,) if isinstance(key, str) else key
        self._composite = not isinstance(key, str)
        self.rows: dict[Any, list[Row]] = {}
        self.complete = True
        """Every row of the table is held (until rows are let go): a key not held has none."""
        self.written: set[Any] = set()
        self.touched: set[Any] = set()
        self.notes: dict[Any, Any] = {}
        """What handlers remember of the rows of a key they put, as `Rows.notes`: valid while `get` still gives
        that very list (the rows held are the same objects from batch to batch)."""

    def prefetch(self, keys: Iterable[Any]) -> None:
        if self.complete:
            return
        held, written = self.rows, self.written
        missing = {key for key in keys if key not in held and key in written}
        for key in {key for key in keys if key not in held} - missing:
            held[key] = []
        if not missing:
            return
        with self._reads() as connection:
            sql = _TableSQL.of(self.table, connection.dialect)
            for chunk in _chunks(sorted(missing, key=str), CHUNK):
                found: dict[Any, list[Row]] = defaultdict(list)
                for row in sql.select(connection, self._columns, chunk):
                    found[self._key(row)].append(row)
                for key in chunk:
                    held[key] = found.get(key, [])

    def get(self, key: Any) -> list[Row]:
        found = self.rows.get(key)
        if found is None:
            if self.complete or key not in self.written:
                found = self.rows[key] = []
            else:
                self.prefetch([key])
                found = self.rows[key]
        self.touched.add(key)
        return found

    def one(self, key: Any) -> Row | None:
        rows = self.get(key)
        return rows[0] if rows else None

    def put(self, key: Any, rows: list[Row]) -> None:
        self.rows[key] = rows
        self.touched.add(key)

    def write(self, connection: Connection) -> None:
        """Write what was touched since the last write (in the transaction that also moves the position)."""
        touched, written, held = self.touched, self.written, self.rows
        if not touched:
            return
        sql = _TableSQL.of(self.table, connection.dialect)
        again = [key for key in touched if key in written]
        if again:
            sql.delete(connection, self._columns, again)
        sql.insert(connection, [row for key in touched for row in held[key]])
        for key in touched:
            if held[key]:
                written.add(key)
            else:
                written.discard(key)
        self.touched = set()

    def let_go(self) -> None:
        """Drop the rows held (all written): later batches read back those they touch."""
        self.rows, self.notes = {}, {}
        self.complete = False

    def _key(self, row: Row) -> Any:
        if self._composite:
            return tuple(row[name] for name in self._columns)
        return row[self._columns[0]]


class Batch:
    """What one transaction of a runner reads and writes, table by table; or, in a rebuild, what a batch of events
    changes in the rows the rebuild holds (`held`, by table name)."""

    def __init__(
        self,
        connection: Connection | None,
        ledgers: Mapping[tuple[UUID, int], Ledger] | None = None,
        held: dict[str, Held] | None = None,
        reads: Reads | None = None,
    ) -> None:
        self.connection = connection
        self._rows: dict[tuple[str, str | tuple[str, ...]], Rows] = {}
        self._ledgers = ledgers or {}
        self._held = held
        self._reads = reads

    def ledger(self, event: Event) -> Ledger:
        """The rent ledger of the event's lease right after it, as the lease's own rules assess it."""
        return self._ledgers[(event.originator_id, event.originator_version)]

    def rows(self, table: Table, key: str | tuple[str, ...]) -> Rows | Held:
        if self._held is not None:
            held = self._held.get(table.name)
            if held is None:
                assert self._reads is not None
                held = self._held[table.name] = Held(table, key, self._reads)
            elif held.key != key:
                raise ValueError(f"{table.name} is read by {held.key!r}, not by {key!r}")
            return held
        rows = self._rows.get((table.name, key))
        if rows is None:
            assert self.connection is not None
            rows = self._rows[(table.name, key)] = Rows(self.connection, table, key)
        return rows

    def flush(self) -> None:
        for rows in self._rows.values():
            rows.flush()


def replay(projection: Projection, events: Iterable[Event], ledgers: Mapping[tuple[UUID, int], Ledger]) -> Batch:
    """The rows `projection` writes for these events alone, from empty tables, held in memory: given every event of
    an aggregate, what its read model shows of it once applied there, by the very handlers that apply it (an answer
    built from what a command just saved, without waiting for the read model). `ledgers` as `Batch` takes them."""
    batch = Batch(None, ledgers, held={}, reads=_no_reads)
    for event in events:
        projection.process(batch, event)
    return batch


def _no_reads() -> AbstractContextManager[Connection]:
    raise AssertionError("rows replayed in memory start from empty tables and are never read back")


def as_read(table: Table, row: Row) -> Row:
    """A row as the database hands it back: each value through its column type's own conversions (an instant in
    UTC), for rows that never left memory (`replay`)."""
    read = dict(row)
    for column in table.columns:
        kind, value = column.type, row[column.name]
        if value is not None and isinstance(kind, TypeDecorator):
            read[column.name] = kind.process_result_value(kind.process_bind_param(value, _DIALECT), _DIALECT)
    return read


_DIALECT = sqlite.dialect()


class _TableSQL:
    """One table's reads by key and its upsert, compiled once per dialect and run on the driver's cursor with
    the columns' own types binding and reading the values (as `prepared.Prepared` does for queries)."""

    _compiled: ClassVar[dict[tuple[str, str], _TableSQL]] = {}

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table, self.dialect = table, dialect
        self.names = tuple(column.name for column in table.columns)
        self._binders = tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns)
        self._keeping_none = {bind for bind in self._binders if bind is not None and bind(None) is None}
        """The binders that give None for None (most): a column of them is bound with `map`, None values and all."""
        self._readers: tuple[Processor, ...] | None = None
        preparer = dialect.identifier_preparer
        self._quoted = {name: preparer.quote(name) for name in self.names}
        self._table = preparer.format_table(table)
        self._from = f"SELECT {', '.join(self._quoted.values())} FROM {self._table}"
        self._mark = "?" if dialect.paramstyle == "qmark" else "%s"
        key = [column.name for column in table.primary_key]
        columns = ", ".join(self._quoted.values())
        conflict = ", ".join(self._quoted[name] for name in key)
        changes = ", ".join(f"{self._quoted[n]} = excluded.{self._quoted[n]}" for n in self.names if n not in key)
        action = f"DO UPDATE SET {changes}" if changes else "DO NOTHING"
        self._insert = f"INSERT INTO {preparer.format_table(table)} ({columns}) VALUES "
        self._insert_from = f"INSERT INTO {preparer.format_table(table)} ({columns}) SELECT {columns} FROM"
        self._row = f"({', '.join(self._mark for _ in self.names)})"
        self._on_conflict = f" ON CONFLICT ({conflict}) {action}"
        self._rows_per_statement = min(CHUNK, MAX_PARAMETERS // len(self.names)) if self.is_postgres else 1
        self._upsert = self._upsert_of(1)
        self._full_upsert = self._upsert_of(self._rows_per_statement)

    @classmethod
    def of(cls, table: Table, dialect: Dialect) -> _TableSQL:
        found = cls._compiled.get((table.name, dialect.name))
        if found is None or found.table is not table:
            found = cls._compiled[(table.name, dialect.name)] = cls(table, dialect)
        return found

    @property
    def is_postgres(self) -> bool:
        return self.dialect.name == "postgresql"

    def select(self, connection: Connection, columns: Sequence[str], keys: Sequence[Any]) -> list[Row]:
        """Every row whose key columns hold one of `keys` (each a value, or a tuple of values for several)."""
        where, parameters = self._where(columns, keys)
        cursor = _cursor(connection)
        try:
            cursor.execute(f"{self._from} WHERE {where}", parameters)
            readers = self._readers or self._reader(cursor.description)
            names = self.names
            return [
                {
                    name: value if read is None or value is None else read(value)
                    for name, read, value in zip(names, readers, found, strict=True)
                }
                for found in cursor.fetchall()
            ]
        finally:
            cursor.close()

    def upsert(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Insert the rows, or update them where their primary key is already there. On PostgreSQL the rows are
        copied into a temporary table of the same columns and upserted from it in one statement: the driver quoting
        every value of a page of rows into one statement was a sixth of the service's CPU under load, and writing
        them in `COPY`'s text format costs it a third of that."""
        values = self._bound(rows)
        cursor = _cursor(connection)
        try:
            if not self.is_postgres:
                cursor.executemany(self._upsert, values)
                return
            if len(values) < COPIED_FROM:
                cursor.execute(self._upsert_of(len(values)), [value for found in values for value in found])
                return
            loading = self._loading_table(connection, cursor)
            cursor.copy_expert(f"COPY {loading} FROM STDIN", io.StringIO(_copy_text(values)))
            cursor.execute(f"{self._insert_from} {loading}{self._on_conflict}; DELETE FROM {loading}")
        finally:
            cursor.close()

    def _loading_table(self, connection: Connection, cursor: Any) -> str:
        """The temporary table of this table's columns that this connection's rows are copied into, emptied at
        every commit (created the first time the connection needs it, and again after a rollback: see
        `store.LOADING_TABLES`)."""
        name = f"load_{self.table.name}"
        created: set[str] = connection.connection.info.setdefault(LOADING_TABLES, set())
        if name not in created:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} (LIKE {self._table}) ON COMMIT DELETE ROWS")
            created.add(name)
        return name

    def insert(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Insert the rows (none of whose keys the table holds): a rebuild's writes into its empty tables."""
        if not rows:
            return
        values = self._bound(rows)
        cursor = _cursor(connection)
        try:
            if not self.is_postgres:
                cursor.executemany(f"{self._insert}{self._row}", values)
                return
            per = self._rows_per_statement
            for start in range(0, len(values), per):
                page = values[start : start + per]
                cursor.execute(
                    f"{self._insert}{', '.join([self._row] * len(page))}", [value for found in page for value in found]
                )
        finally:
            cursor.close()

    def delete(self, connection: Connection, columns: Sequence[str], keys: Sequence[Any]) -> None:
        """Delete every row whose key columns hold one of `keys` (as `select` finds them)."""
        cursor = _cursor(connection)
        try:
            for chunk in _chunks(keys, CHUNK):
                where, parameters = self._where(columns, chunk)
                cursor.execute(f"DELETE FROM {self._table} WHERE {where}", parameters)
        finally:
            cursor.close()

    def _bound(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        """Each row's values in column order, bound through the columns' types (a column at a time)."""
        columns: list[list[Any]] = []
        for name, bind in zip(self.names, self._binders, strict=True):
            column = [row[name] for row in rows]
            if bind in self._keeping_none:
                column = list(map(bind, column))
            elif bind is not None:
                column = [value if value is None else bind(value) for value in column]
            columns.append(column)
        return list(zip(*columns, strict=True))

    def _where(self, columns: Sequence[str], keys: Sequence[Any]) -> tuple[str, list[Any]]:
        positions = [self.names.index(name) for name in columns]
        binders = [self._binders[position] for position in positions]
        marks = [self._mark] * len(columns)
        if len(columns) == 1:
            where = f"{self._quoted[columns[0]]} IN ({', '.join(marks[0] for _ in keys)})"
            parameters = [value if (bind := binders[0]) is None else bind(value) for value in keys]
        else:
            one = f"({', '.join(marks)})"
            where = f"({', '.join(self._quoted[name] for name in columns)}) IN ({', '.join(one for _ in keys)})"
            parameters = [
                value if bind is None else bind(value) for key in keys for bind, value in zip(binders, key, strict=True)
            ]
        return where, parameters

    def _upsert_of(self, count: int) -> str:
        """The upsert of `count` rows: PostgreSQL takes a page of rows a statement (one round trip, as psycopg2's
        `execute_values` would, without the driver's helper in this layer); SQLite one a statement through
        `executemany`, which runs in-process."""
        return f"{self._insert}{', '.join([self._row] * count)}{self._on_conflict}"

    def _reader(self, description: Sequence[Sequence[Any]]) -> tuple[Processor, ...]:
        readers = tuple(
            column.type.dialect_impl(self.dialect).result_processor(self.dialect, described[1])
            for column, described in zip(self.table.columns, description, strict=True)
        )
        self._readers = readers
        return readers


COPIED_FROM = 8
"""Rows an upsert on PostgreSQL copies in (below, one statement quoting each value costs less)."""


def _copy_text(rows: Sequence[tuple[Any, ...]]) -> str:
    """Rows of bound values in `COPY`'s text format: tab-separated, `\\N` for NULL, a backslash before any
    backslash, tab, newline or carriage return in a text. Each value is written by its type's entry in
    `_COPIED_AS` (formatting them was a quarter of the read models' runner's time under load, and the `isinstance`
    tests of `_copied` a third of that); a value of another type (a subclass) by `_copied`."""
    copied = _COPIED_AS.get
    return "".join(["\t".join([copied(type(value), _copied)(value) for value in row]) + "\n" for row in rows])


_ESCAPED = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copied_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPED)
    return value


_COPIED_AS: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: "\\N",
    bool: lambda value: "t" if value else "f",
    str: _copied_text,
    int: str,
    Decimal: str,
    UUID: str,
    date: str,
    datetime: str,
}


def _copied(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return _copied_text(value)
    if isinstance(value, int | Decimal | UUID | date):  # a datetime is a date: ISO with its offset
        return str(value)
    raise TypeError(f"no COPY text for {type(value).__name__} {value!r}")


def _cursor(connection: Connection) -> Any:
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Reading: what every read model's queries share.

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with how many there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int


def field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def build(cls: type[T], row: Any, **overrides: Any) -> T:
    """A query's dataclass from a row: its fields by name, some given instead."""
    values = {name: row[name] for name in field_names(cls) if name not in overrides}
    return cls(**values, **overrides)


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
    if offset < 0:
        raise ValueError("offset must be ≥ 0")

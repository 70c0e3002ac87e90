"""What a projection is: a name, the topics it reads, a dispatch on event type; and the batch,
the rows one transaction reads and writes back as idempotent upserts."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Table, and_, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from leasecore.lease.ledger import Ledger
from leasecore.topics import stored_topics

Event: TypeAlias = Any
Row: TypeAlias = dict[str, Any]
F = TypeVar("F", bound=Callable[..., None])

CHUNK = 500


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
        return tuple(sorted(topic for event_class in self._handlers for topic in stored_topics(event_class)))

    def process(self, batch: Batch, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            getattr(self, handler)(batch, event)

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
        self._stored: dict[Any, list[Row]] = {}
        self._current: dict[Any, list[Row]] = {}

    def prefetch(self, keys: Iterable[Any]) -> None:
        missing = sorted({key for key in keys if key is not None and key not in self._current}, key=str)
        if self._composite:
            column: Any = tuple_(*(self.table.c[name] for name in self._columns))
        else:
            column = self.table.c[self._columns[0]]
        names = [c.name for c in self.table.columns]
        for chunk in _chunks(missing, CHUNK):
            found: dict[Any, list[Row]] = defaultdict(list)
            for values in self.connection.execute(select(self.table).where(column.in_(chunk))).tuples():
                row = dict(zip(names, values, strict=True))
                found[self._key(row)].append(row)
            for key in chunk:
                self._stored[key] = found.get(key, [])
                self._current[key] = [dict(row) for row in self._stored[key]]

    def get(self, key: Any) -> list[Row]:
        if key not in self._current:
            self.prefetch([key])
        return self._current[key]

    def one(self, key: Any) -> Row | None:
        rows = self.get(key)
        return rows[0] if rows else None

    def put(self, key: Any, rows: list[Row]) -> None:
        self.get(key)
        self._current[key] = rows

    def flush(self) -> None:
        upserts: list[Row] = []
        deletes: list[Row] = []
        for key, rows in self._current.items():
            stored = {self._identity(row): row for row in self._stored[key]}
            current = {self._identity(row): row for row in rows}
            upserts.extend(row for identity, row in current.items() if stored.get(identity) != row)
            deletes.extend(row for identity, row in stored.items() if identity not in current)
        if deletes:
            condition = and_(*(self.table.c[name] == bindparam(f"pk_{name}") for name in self._primary_key))
            parameters = [{f"pk_{name}": row[name] for name in self._primary_key} for row in deletes]
            for chunk in _chunks(parameters, CHUNK):
                self.connection.execute(self.table.delete().where(condition), chunk)
        for chunk in _chunks(upserts, CHUNK):
            upsert(self.connection, self.table, chunk)
        self._stored = {key: [dict(row) for row in rows] for key, rows in self._current.items()}

    def _identity(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[name] for name in self._primary_key)

    def _key(self, row: Any) -> Any:
        if self._composite:
            return tuple(row[name] for name in self._columns)
        return row[self._columns[0]]


class Batch:
    """What one transaction of a runner reads and writes, table by table."""

    def __init__(self, connection: Connection, ledgers: Mapping[tuple[UUID, int], Ledger] | None = None) -> None:
        self.connection = connection
        self._rows: dict[tuple[str, str | tuple[str, ...]], Rows] = {}
        self._ledgers = ledgers or {}

    def ledger(self, event: Event) -> Ledger:
        """The rent ledger of the event's lease right after it, as the lease's own rules assess it."""
        return self._ledgers[(event.originator_id, event.originator_version)]

    def rows(self, table: Table, key: str | tuple[str, ...]) -> Rows:
        rows = self._rows.get((table.name, key))
        if rows is None:
            rows = self._rows[(table.name, key)] = Rows(self.connection, table, key)
        return rows

    def flush(self) -> None:
        for rows in self._rows.values():
            rows.flush()


def upsert(connection: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert the rows, or update them where their primary key is already there."""
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    key = [column.name for column in table.primary_key]
    changes = {column.name: statement.excluded[column.name] for column in table.columns if column.name not in key}
    statement = (
        statement.on_conflict_do_update(index_elements=key, set_=changes)
        if changes
        else statement.on_conflict_do_nothing(index_elements=key)
    )
    connection.execute(statement, list(rows))


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

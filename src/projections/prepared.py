"""Questions a screen asks on every request, compiled once and run on the driver's cursor.

A page asks a dozen small questions of the read models (the order, its customer, its installments, its refunds,
the session behind the request). Each takes the database some ten microseconds; through SQLAlchemy Core it took
two hundred, spent building the statement, its cache key, an execution context and the result's metadata anew
on every call. A `Prepared` statement is a Core `select` written as any other (the tables' columns, their
types, `bindparam`s for what varies), compiled once per dialect; each call binds its parameters through the
columns' types, runs the SQL on the connection `ViewStore.read()` gives, and turns each row back through the
same types: the same values SQLAlchemy would give, without the work it repeats.

Only for reads on the connection of `ViewStore.read()` (autocommit: each statement its own transaction) and for
statements whose parameters are all named values (no expanding `IN` lists: their SQL varies with the list).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


class Reads(Protocol):
    """Where reads get their connection: the `ViewStore`, or a store of tables beside it."""

    def read(self) -> AbstractContextManager[Connection]: ...


@dataclass(frozen=True)
class _Plan:
    """The statement compiled for one dialect: its SQL, how to bind, and (once seen) how to read its rows."""

    sql: str
    positional: Sequence[str] | None
    """The parameters' names in the order of the SQL's `?` marks; None for a driver taking them by name."""
    literals: Mapping[str, Any]
    """The values written into the statement (`scope == "all"`): part of it, as its SQL is."""
    named: frozenset[str]
    """The `bindparam`s: given at every call, so a value from another call can never be reused."""
    binders: Mapping[str, Processor]


class Prepared:
    """A `select` compiled once per dialect, run on the driver's cursor; rows come back as mappings by column
    name, with the values the columns' types give."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._types = [column.type for column in statement.selected_columns]
        self._plans: dict[str, _Plan] = {}
        self._readers: dict[str, tuple[tuple[str, ...], tuple[Processor, ...]]] = {}
        self._lock = threading.Lock()

    def all(self, views: Reads, **parameters: Any) -> list[dict[str, Any]]:
        """Every row as a mapping by column name (the label, where the statement gives one)."""
        with views.read() as connection:
            return self.rows(connection, **parameters)

    def first(self, views: Reads, **parameters: Any) -> dict[str, Any] | None:
        found = self.all(views, **parameters)
        return found[0] if found else None

    def tuples(self, views: Reads, **parameters: Any) -> list[tuple[Any, ...]]:
        """Every row as a tuple in the statement's column order: for aggregates, whose columns have no name."""
        with views.read() as connection:
            return self.values(connection, **parameters)[1]

    def rows(self, connection: Connection, **parameters: Any) -> list[dict[str, Any]]:
        names, rows = self.values(connection, **parameters)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def values(self, connection: Connection, **parameters: Any) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """The columns' names and every row's values, on a connection `read()` opened."""
        dialect = connection.dialect
        plan = self._plans.get(dialect.name) or self._plan(dialect)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, self._bound(plan, parameters))
            names, readers = self._readers.get(dialect.name) or self._reader(dialect, cursor.description)
            return names, [
                tuple(value if read is None else read(value) for read, value in zip(readers, row, strict=True))
                for row in cursor.fetchall()
            ]
        finally:
            cursor.close()

    def _bound(self, plan: _Plan, parameters: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if missing := plan.named - parameters.keys():
            raise TypeError(f"the prepared statement needs {', '.join(sorted(missing))}")
        values = {**plan.literals, **parameters}
        bound = {
            name: value if (bind := plan.binders.get(name)) is None else bind(value) for name, value in values.items()
        }
        if plan.positional is None:
            return bound
        return [bound[name] for name in plan.positional]

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a prepared statement takes named values, not expanding lists: its SQL would vary")
        plan = _Plan(
            sql=compiled.string,
            positional=list(compiled.positiontup or ()) if compiled.positional else None,
            literals={name: bind.effective_value for bind, name in compiled.bind_names.items() if bind.unique},
            named=frozenset(name for bind, name in compiled.bind_names.items() if not bind.unique),
            binders={
                name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                for bind, name in compiled.bind_names.items()
            },
        )
        with self._lock:
            self._plans[dialect.name] = plan
        return plan

    def _reader(
        self, dialect: Dialect, description: Sequence[Sequence[Any]]
    ) -> tuple[tuple[str, ...], tuple[Processor, ...]]:
        """Column names as the driver describes them, each read through its column's type (the driver's type
        code decides some, such as PostgreSQL's numerics)."""
        names = tuple(str(column[0]) for column in description)
        readers = tuple(
            type_.dialect_impl(dialect).result_processor(dialect, column[1])
            for type_, column in zip(self._types, description, strict=True)
        )
        with self._lock:
            self._readers[dialect.name] = (names, readers)
        return names, readers


def _binder(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    return type_.dialect_impl(dialect).bind_processor(dialect)


__all__ = ["Prepared", "Reads"]

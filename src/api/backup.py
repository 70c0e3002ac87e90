"""Backups of the one database the service keeps everything in, taken while it runs, and their restore.

The event store, the read models and the HTTP layer's own tables (`api_*`: idempotency records, sessions, refund
outcomes, payment checks, the outbox, reconciliation runs, the parcel watch…) share one SQLite file or one
PostgreSQL schema, and a backup copies all of it as of one instant: the events are the truth, the `api_*` rows are
state no event holds, and the read models come along though `leasecore projections rebuild` makes them again.

SQLite is copied by its online backup API in one step: one read transaction, so a consistent snapshot, while the
service goes on writing (in WAL mode it is not even held up). PostgreSQL is dumped by `pg_dump --format=custom` of
the service's schema (the URL's `search_path`, else `public`) in a snapshot exported from a transaction that also
reads the last event's notification id, so the backup says exactly which event it ends at. A restore goes only into
an empty database (SQLite: a new file; PostgreSQL: a schema with no tables), by the same API or by `pg_restore` in
one transaction, renaming the dumped schema to the target URL's. docs/operations.md says how to run and check them.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import URL, Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

EVENTS_TABLE = "leasecore_events"
"""Where eventsourcing-sqlalchemy keeps the application's events (its name, lowercased, then `_events`)."""

DEFAULT_SCHEMA = "public"
PG_TIMEOUT_SECONDS = 3600.0
SCHEMA_ENTRY = re.compile(r"^\s*\d+;\s*\d+\s+\d+\s+SCHEMA\s+-\s+(\S+)\s")
SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LIBPQ_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}
"""The URL's connection options pg_dump and pg_restore must be told too, as libpq's variables."""


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class Backup:
    """A backup file and what it holds: its database's kind, its events and the last one's notification id."""

    path: Path
    dialect: str
    events: int
    last_notification_id: int

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def back_up(database_url: str, target: Path) -> Backup:
    """Copy the database at `database_url` into a new file `target`, consistent as of one instant, while the
    service runs; an existing file is never overwritten (a backup is kept, not replaced)."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup goes to a new file, never over another")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent} to write the backup in")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if _dialect(database_url) == "sqlite":
            events, last = _back_up_sqlite(_sqlite_path(database_url), partial)
        else:
            events, last = _back_up_postgres(make_url(database_url), partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, _dialect(database_url), events, last)


def restore(source: Path, database_url: str) -> Backup:
    """Restore a backup into the empty database at `database_url`, whole or not at all; afterwards rebuild the
    read models there (`leasecore projections rebuild`) and start the service on it."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if _dialect(database_url) == "sqlite":
        events, last = _restore_sqlite(source, _sqlite_path(database_url))
    else:
        events, last = _restore_postgres(source, make_url(database_url))
    return Backup(source, _dialect(database_url), events, last)


def _dialect(database_url: str) -> str:
    if database_url.startswith("sqlite:"):
        return "sqlite"
    if database_url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"cannot back up {database_url!r}: only sqlite:///path and postgresql+psycopg2://… are kept")


# SQLite.


def _sqlite_path(database_url: str) -> Path:
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up or restore into")
    return Path(name)


def _back_up_sqlite(path: Path, target: Path) -> tuple[int, int]:
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    with closing(sqlite3.connect(path, timeout=30.0)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    return _check_sqlite(target)


def _restore_sqlite(source: Path, path: Path) -> tuple[int, int]:
    if path.exists() and path.stat().st_size > 0:
        raise BackupError(f"{path} exists: restore into a new file, never over a database")
    counted = _check_sqlite(source)
    partial = path.with_name(path.name + ".partial")
    try:
        with closing(sqlite3.connect(source)) as backup, closing(sqlite3.connect(partial)) as copy:
            backup.backup(copy)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return counted


def _check_sqlite(path: Path) -> tuple[int, int]:
    """The file's integrity checked by SQLite, and its events counted: (how many, the last notification id)."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")
            count, last = connection.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {EVENTS_TABLE}").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a leasecore SQLite database: {error}") from None
    return int(count), int(last)


# PostgreSQL.


def _schema(url: URL) -> str:
    """The schema the service's tables live in: the URL's `options=-csearch_path=…` (first name), else public."""
    options = url.query.get("options", "")
    found = SEARCH_PATH.search(unquote(options if isinstance(options, str) else " ".join(options)))
    schema = found.group(1).strip('"') if found else DEFAULT_SCHEMA
    if not NAME.fullmatch(schema):
        raise BackupError(f"the search_path schema {schema!r} is not a plain name")
    return schema


def _libpq_env(url: URL) -> dict[str, str]:
    """How pg_dump and pg_restore reach the database: libpq's variables (the password never on a command line)."""
    env = {**os.environ}
    given = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for option, name in LIBPQ_OPTIONS.items():
        value = url.query.get(option)
        given[name] = value if isinstance(value, str) else None
    env.update({name: value for name, value in given.items() if value})
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client (the server's major version)")
    return found


def _run(argv: list[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS)
    if done.returncode != 0:
        reason = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise BackupError(f"{Path(argv[0]).name} failed: {reason}")
    return done.stdout


@contextmanager
def _connected(url: URL) -> Iterator[Connection]:
    engine = create_engine(url.set(drivername="postgresql+psycopg2"), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _back_up_postgres(url: URL, target: Path) -> tuple[int, int]:
    schema = _schema(url)
    with _connected(url) as connection:
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        connection.begin()
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        count, last = _count_events(connection, schema)
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                f"--schema={schema}",
                f"--snapshot={snapshot}",
                f"--file={target}",
                "--no-password",
            ],
            _libpq_env(url),
        )
        connection.rollback()
    return count, last


def _count_events(connection: Connection, schema: str) -> tuple[int, int]:
    found = connection.execute(
        text("SELECT 1 FROM pg_tables WHERE schemaname = :schema AND tablename = :table"),
        {"schema": schema, "table": EVENTS_TABLE},
    ).first()
    if found is None:
        raise BackupError(f"schema {schema} holds no event store ({EVENTS_TABLE}): is the URL's search_path right?")
    row = connection.exec_driver_sql(f'SELECT COUNT(*), COALESCE(MAX(id), 0) FROM "{schema}".{EVENTS_TABLE}').one()
    return int(row[0]), int(row[1])


def _restore_postgres(source: Path, url: URL) -> tuple[int, int]:
    target = _schema(url)
    env = _libpq_env(url)
    listing = _run([_tool("pg_restore"), "--list", str(source)], env)
    dumped = _dumped_schema(listing, source)
    with _connected(url) as connection:
        if _has_tables(connection, target):
            raise BackupError(f"schema {target} already holds tables: restore into an empty schema or database")
        if dumped != target and _schema_exists(connection, dumped):
            raise BackupError(
                f"the backup's schema {dumped} exists in database {url.database}: restore into another database"
            )
        target_exists = _schema_exists(connection, target)
    entries = _restore_list(listing, keep_schema=not (dumped == target and target_exists))
    with tempfile.TemporaryDirectory(prefix="leasecore-restore-") as work:
        list_file = Path(work) / "restore.list"
        list_file.write_text(entries, encoding="utf-8")
        _run(
            [
                _tool("pg_restore"),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--no-password",
                f"--use-list={list_file}",
                f"--dbname={url.database}",
                str(source),
            ],
            env,
        )
    with _connected(url) as connection, connection.begin():
        if dumped != target:
            if target_exists:
                connection.exec_driver_sql(f'DROP SCHEMA "{target}"')
            connection.exec_driver_sql(f'ALTER SCHEMA "{dumped}" RENAME TO "{target}"')
        return _count_events(connection, target)


def _dumped_schema(listing: str, source: Path) -> str:
    """The schema a dump holds: its one SCHEMA entry, or public (which pg_dump does not create)."""
    names = {found.group(1) for line in listing.splitlines() if (found := SCHEMA_ENTRY.match(line))}
    if len(names) > 1:
        raise BackupError(f"{source} holds several schemas ({', '.join(sorted(names))}): not a leasecore backup")
    return names.pop() if names else DEFAULT_SCHEMA


def _restore_list(listing: str, *, keep_schema: bool) -> str:
    """The dump's table of contents, less its CREATE SCHEMA when the schema is there already."""
    if keep_schema:
        return listing
    return "".join(f";{line}\n" if SCHEMA_ENTRY.match(line) else f"{line}\n" for line in listing.splitlines())


def _has_tables(connection: Connection, schema: str) -> bool:
    found = connection.execute(text("SELECT 1 FROM pg_tables WHERE schemaname = :schema LIMIT 1"), {"schema": schema})
    return found.first() is not None


def _schema_exists(connection: Connection, schema: str) -> bool:
    found = connection.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema})
    return found.first() is not None

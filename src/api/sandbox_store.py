"""The sandboxes' documents in the database, beside the HTTP layer's tables (`api_sandbox_state`): every service
process sharing the database sees the same sandbox payments, texts, parcels and scores, and a restart keeps them.

A change is one write transaction holding the sandbox's lock (an advisory lock on PostgreSQL; SQLite's IMMEDIATE
transactions are serialised already), so two processes completing the same payment cannot both move it: the second
reads what the first wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Connection, delete, select

from adapters.sandbox_store import Document, dumps, loads
from api.store import ApiStore, api_sandbox_state, upsert

LOCK = "leasecore-sandbox"


class DatabaseSandboxStore:
    """A `SandboxStore` in the HTTP layer's database, usable once `attach` has given it that database (the
    sandboxes are made before the database is opened)."""

    def __init__(self, store: ApiStore | None = None) -> None:
        self._store = store

    def attach(self, store: ApiStore) -> None:
        self._store = store

    def get(self, kind: str, key: str) -> Document | None:
        with self._api.read() as connection:
            return _Documents(connection).get(kind, key)

    def documents(self, kind: str) -> list[Document]:
        with self._api.read() as connection:
            return _Documents(connection).documents(kind)

    def version(self, kind: str, key: str) -> int:
        """How many times the document was written (0: never)."""
        with self._api.read() as connection:
            found = connection.execute(
                select(api_sandbox_state.c.version).where(_place(kind, key))
            ).scalar_one_or_none()
        return int(found or 0)

    @contextmanager
    def transaction(self) -> Iterator[_Documents]:
        with self._api.begin() as connection:
            self._api.lock(connection, LOCK)
            yield _Documents(connection)

    @property
    def _api(self) -> ApiStore:
        if self._store is None:
            raise RuntimeError("the sandbox store is used before its database is open")
        return self._store


class _Documents:
    """The documents as one connection sees them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, kind: str, key: str) -> Document | None:
        text = self.connection.execute(select(api_sandbox_state.c.document).where(_place(kind, key))).scalar()
        return None if text is None else loads(text)

    def documents(self, kind: str) -> list[Document]:
        table = api_sandbox_state.c
        texts = self.connection.execute(select(table.document).where(table.kind == kind).order_by(table.key))
        return [loads(text) for text in texts.scalars()]

    def put(self, kind: str, key: str, document: Document) -> None:
        version = self.connection.execute(
            select(api_sandbox_state.c.version).where(_place(kind, key))
        ).scalar_one_or_none()
        row = {"kind": kind, "key": key, "document": dumps(document), "version": (version or 0) + 1}
        upsert(self.connection, api_sandbox_state, row, ("kind", "key"))

    def delete(self, kind: str, key: str) -> None:
        self.connection.execute(delete(api_sandbox_state).where(_place(kind, key)))


def _place(kind: str, key: str) -> ColumnElement[bool]:
    return (api_sandbox_state.c.kind == kind) & (api_sandbox_state.c.key == key)

"""Where the sandboxes keep what they know (payments, freezes, agreements, texts sent, parcels, scores, contracts):
JSON documents by (kind, key), changed only inside a transaction that no other changes interleave with, so every
service process sharing one store sees, and moves, the same sandbox world.

The memory store serves unit tests and the `memory:` database; `api.sandbox_store` keeps the documents in the
database beside the HTTP layer's own tables."""

from __future__ import annotations

import dataclasses
import json
import threading
import types
import typing
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, TypeVar
from uuid import UUID

Document = dict[str, Any]
"""What a JSON object decodes to."""

T = TypeVar("T")


class SandboxDocuments(Protocol):
    """The documents as one transaction sees them: its own puts included, nobody else's until it ends."""

    def get(self, kind: str, key: str) -> Document | None: ...

    def put(self, kind: str, key: str, document: Document) -> None: ...

    def delete(self, kind: str, key: str) -> None: ...

    def documents(self, kind: str) -> list[Document]:
        """Every document of a kind, by key."""
        ...


class SandboxStore(Protocol):
    """Documents read on their own, or changed in a transaction serialised against every other (in any process
    sharing the store): what it read stays true until it commits, and nothing is written if it raises."""

    def get(self, kind: str, key: str) -> Document | None: ...

    def documents(self, kind: str) -> list[Document]: ...

    def transaction(self) -> AbstractContextManager[SandboxDocuments]: ...


class MemorySandboxStore:
    """A `SandboxStore` in this process's memory; documents are kept as JSON text, as the database keeps them."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._lock = threading.RLock()

    def get(self, kind: str, key: str) -> Document | None:
        with self._lock:
            text = self._texts.get((kind, key))
        return None if text is None else loads(text)

    def documents(self, kind: str) -> list[Document]:
        with self._lock:
            texts = [text for (k, _), text in sorted(self._texts.items()) if k == kind]
        return [loads(text) for text in texts]

    def version(self, kind: str, key: str) -> int:
        """How many times the document was written (0: never)."""
        with self._lock:
            return self._versions.get((kind, key), 0)

    @contextmanager
    def transaction(self) -> Iterator[SandboxDocuments]:
        with self._lock:
            staged = _Staged(self)
            yield staged
            for place, text in staged.writes.items():
                if text is None:
                    self._texts.pop(place, None)
                else:
                    self._texts[place] = text
                self._versions[place] = self._versions.get(place, 0) + 1


class _Staged:
    """A memory transaction: puts are held back until it ends without raising."""

    def __init__(self, store: MemorySandboxStore) -> None:
        self.store = store
        self.writes: dict[tuple[str, str], str | None] = {}
        """What the transaction wrote (None: deleted)."""

    def get(self, kind: str, key: str) -> Document | None:
        if (kind, key) not in self.writes:
            return self.store.get(kind, key)
        text = self.writes[(kind, key)]
        return None if text is None else loads(text)

    def put(self, kind: str, key: str, document: Document) -> None:
        self.writes[(kind, key)] = dumps(document)

    def delete(self, kind: str, key: str) -> None:
        self.writes[(kind, key)] = None

    def documents(self, kind: str) -> list[Document]:
        keys = {key for (k, key) in [*self.store._texts, *self.writes] if k == kind}
        found = (self.get(kind, key) for key in sorted(keys))
        return [document for document in found if document is not None]


def dumps(document: Document) -> str:
    """A document as stored: compact JSON, keys sorted; anything JSON cannot say is refused."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Document:
    loaded: Document = json.loads(text)
    return loaded


# The sandboxes' records are frozen dataclasses: each goes into a document field by field (money and instants as
# text), and comes back by its type hints.


def to_document(record: Any) -> Document:
    """A dataclass record as a JSON object."""
    return {field.name: _plain(getattr(record, field.name)) for field in dataclasses.fields(record)}


def from_document(cls: type[T], document: Document) -> T:
    """The record of type `cls` a document holds (fields it does not mention keep their defaults)."""
    hints = typing.get_type_hints(cls)
    values = {
        field.name: _typed(hints[field.name], document[field.name])
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name in document
    }
    return cls(**values)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_document(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _typed(next(arg for arg in typing.get_args(hint) if arg is not type(None)), value)
    if origin is not None or hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return from_document(hint, value)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint in (Decimal, UUID):
        return hint(value)
    return value

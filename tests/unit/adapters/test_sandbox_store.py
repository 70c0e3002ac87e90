"""The sandboxes' memory store: documents by kind and key, changed in transactions that do not interleave and leave
nothing behind when they raise; records go in and come back whole."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.sandbox_store import MemorySandboxStore, from_document, to_document


class Stage(Enum):
    ONE = 1
    TWO = 2


@dataclass(frozen=True)
class Inner:
    amount: Decimal
    params: dict[str, str]


@dataclass(frozen=True)
class Record:
    name: str
    at: datetime
    day: date
    order: UUID
    stage: Stage
    inner: Inner
    settled: datetime | None = None
    refunded: Decimal = Decimal("0.00")


def test_a_transaction_writes_nothing_when_it_raises() -> None:
    store = MemorySandboxStore()
    with store.transaction() as documents:
        documents.put("payment", "p1", {"status": "pending"})
    with pytest.raises(RuntimeError), store.transaction() as documents:
        documents.put("payment", "p1", {"status": "paid"})
        documents.put("payment", "p2", {"status": "paid"})
        assert documents.get("payment", "p1") == {"status": "paid"}
        raise RuntimeError("refused")
    assert store.get("payment", "p1") == {"status": "pending"}
    assert store.get("payment", "p2") is None
    assert store.version("payment", "p1") == 1


def test_documents_of_a_kind_come_by_key_a_delete_included() -> None:
    store = MemorySandboxStore()
    with store.transaction() as documents:
        for key in ("b", "a", "c"):
            documents.put("sms", key, {"key": key})
        documents.put("parcel", "a", {"key": "parcel"})
        documents.delete("sms", "c")
        assert [d["key"] for d in documents.documents("sms")] == ["a", "b"]
    assert [d["key"] for d in store.documents("sms")] == ["a", "b"]


def test_a_document_read_is_a_copy() -> None:
    store = MemorySandboxStore()
    with store.transaction() as documents:
        documents.put("sms-failures", "next", {"reasons": ["busy"]})
    store.get("sms-failures", "next")["reasons"].append("changed")  # type: ignore[index]
    assert store.get("sms-failures", "next") == {"reasons": ["busy"]}


def test_concurrent_changes_are_never_lost() -> None:
    store = MemorySandboxStore()

    def add(times: int) -> None:
        for _ in range(times):
            with store.transaction() as documents:
                count = (documents.get("counter", "all") or {"count": 0})["count"]
                documents.put("counter", "all", {"count": count + 1})

    threads = [threading.Thread(target=add, args=(200,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter", "all") == {"count": 800}
    assert store.version("counter", "all") == 800


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
    name=st.text(),
    day=st.dates(),
    settled=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_a_record_comes_back_whole(amount: Decimal, name: str, day: date, settled: datetime | None) -> None:
    record = Record(
        name,
        datetime(2026, 1, 31, 9, tzinfo=UTC),
        day,
        UUID(int=7),
        Stage.TWO,
        Inner(amount, {"pay_url": "https://sandbox/1"}),
        settled,
    )
    store = MemorySandboxStore()
    with store.transaction() as documents:
        documents.put("record", "r", to_document(record))
    kept = store.get("record", "r")
    assert kept is not None
    assert from_document(Record, kept) == record

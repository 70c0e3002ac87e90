"""On PostgreSQL a read model's upsert of many rows copies them into a temporary table in `COPY`'s text format and
upserts from it: every value reads back as it was written (texts with tabs, newlines and backslashes, NULLs,
booleans, money, dates, instants, UUIDs, JSON), rows already there are updated, and a rolled-back transaction
that created the loading table does not leave the connection without it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Boolean, Column, Date, Integer, MetaData, String, Table, Text, Uuid, select

from projections.projection import COPIED_FROM, _TableSQL
from projections.store import Instant, ViewStore, money

metadata = MetaData()
copied = Table(
    "copied_rows_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("label", String(200)),
    Column("note", Text),
    Column("flag", Boolean, nullable=False),
    Column("day", Date),
    Column("at", Instant),
    money("amount"),
    Column("details", JSON),
)

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "label": st.none() | texts,
            "note": st.none() | texts | st.sampled_from(["\\N", "a\tb", "line\nnext", "back\\slash", "cr\r"]),
            "flag": st.booleans(),
            "day": st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
            "at": st.none()
            | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
            "amount": st.integers(min_value=0, max_value=10**9).map(lambda fen: Decimal(fen) / 100),
            "details": st.none() | st.dictionaries(texts, st.integers() | texts, max_size=3),
        }
    ),
    min_size=COPIED_FROM,
    max_size=3 * COPIED_FROM,
)


@pytest.fixture
def views(postgres_url: str) -> Iterator[ViewStore]:
    store = ViewStore.for_database(postgres_url)
    metadata.create_all(store.engine)
    yield store
    store.close()


def keyed(found: list[dict[str, Any]], key: UUID) -> list[dict[str, Any]]:
    return [{**row, "id": key, "n": n} for n, row in enumerate(found)]


def stored(views: ViewStore, key: UUID) -> list[dict[str, Any]]:
    with views.read() as connection:
        return [dict(row._mapping) for row in connection.execute(select(copied).where(copied.c.id == key))]


@pytest.mark.postgres
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=rows, then=rows)
def test_rows_copied_in_read_back_as_written_and_update_those_already_there(
    views: ViewStore, first: list[dict[str, Any]], then: list[dict[str, Any]]
) -> None:
    key = uuid4()
    for written in (keyed(first, key), keyed(then, key)):
        with views.begin() as connection:
            _TableSQL.of(copied, connection.dialect).upsert(connection, written)
        expected = {row["n"]: row for row in keyed(first, key)} | {row["n"]: row for row in written}
        assert sorted(stored(views, key), key=lambda row: row["n"]) == [expected[n] for n in sorted(expected)]


@pytest.mark.postgres
def test_a_rolled_back_transaction_that_created_the_loading_table_leaves_the_connection_able_to_copy(
    views: ViewStore,
) -> None:
    key = uuid4()
    written = keyed(
        [
            {
                "label": None,
                "note": None,
                "flag": True,
                "day": None,
                "at": None,
                "amount": Decimal("1.00"),
                "details": None,
            }
        ]
        * COPIED_FROM,
        key,
    )
    with pytest.raises(RuntimeError), views.begin() as connection:
        _TableSQL.of(copied, connection.dialect).upsert(connection, written)
        raise RuntimeError("the batch failed after the upsert")
    assert stored(views, key) == []
    for _ in range(2):
        with views.begin() as connection:
            _TableSQL.of(copied, connection.dialect).upsert(connection, written)
    assert len(stored(views, key)) == COPIED_FROM

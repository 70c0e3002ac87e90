"""A prepared statement answers what SQLAlchemy Core answers for the same `select`, value for value and type for
type, on every store: the screens that ask through one show the same figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Boolean, Column, Date, Integer, MetaData, String, Table, Uuid, bindparam, func, select

from projections.prepared import Prepared
from projections.store import Instant, ViewStore, money

tables = MetaData()
things = Table(
    "prepared_things",
    tables,
    Column("id", Uuid, primary_key=True),
    Column("owner", Uuid, nullable=True),
    Column("name", String(40), nullable=True),
    Column("seq", Integer, nullable=False),
    money("amount"),
    Column("due", Date, nullable=True),
    Column("at", Instant, nullable=False),
    Column("open", Boolean, nullable=False),
    Column("document", JSON, nullable=False),
)

OWNER = UUID("5d1e3a52-9a3f-4a55-8a0f-3b8a6a1b2c3d")
BY_OWNER = select(things).where(things.c.owner == bindparam("owner")).order_by(things.c.seq)
FIRST_OPEN = select(things.c.id, things.c.amount.label("money")).where(things.c.open.is_(True)).order_by(things.c.seq)
COUNTS = select(things.c.open, func.count().label("n")).group_by(things.c.open).order_by(things.c.open)
PAGE = select(things).order_by(things.c.seq).limit(bindparam("limit")).offset(bindparam("offset"))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def views(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[ViewStore]:
    url = {"memory": "memory:", "sqlite": f"sqlite:///{tmp_path}/prepared.db"}.get(request.param)
    if url is None:
        url = request.getfixturevalue("postgres_url")
    store = ViewStore.for_database(url)
    tables.create_all(store.engine)
    try:
        yield store
    finally:
        store.close()


def stock(views: ViewStore, rows: list[dict[str, Any]]) -> None:
    with views.begin() as connection:
        connection.execute(things.delete())
        if rows:
            connection.execute(things.insert(), rows)


def core(views: ViewStore, statement: Any, **parameters: Any) -> list[dict[str, Any]]:
    with views.read() as connection:
        return [dict(row) for row in connection.execute(statement, parameters).mappings()]


def thing(seq: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "owner": OWNER,
        "name": f"thing {seq}",
        "seq": seq,
        "amount": Decimal("1299.00"),
        "due": date(2026, 12, 1) + timedelta(days=seq),
        "at": datetime(2026, 12, 1, 8, 30, tzinfo=UTC) + timedelta(hours=seq),
        "open": seq % 2 == 0,
        "document": {"terms": [3, 6, 12], "name": "手机", "nested": {"monthly": "99.00"}},
        **overrides,
    }


def test_rows_come_back_as_core_reads_them_every_type_and_null(views: ViewStore) -> None:
    stock(views, [thing(1), thing(2, name=None, due=None, amount=Decimal("0.10")), thing(3, owner=None)])

    mine = Prepared(BY_OWNER).all(views, owner=OWNER)

    assert mine == core(views, BY_OWNER, owner=OWNER)
    assert [row["seq"] for row in mine] == [1, 2]
    first, second = mine
    assert isinstance(first["id"], UUID) and first["owner"] == OWNER
    assert first["amount"] == Decimal("1299.00") and second["amount"] == Decimal("0.10")
    assert first["due"] == date(2026, 12, 2) and second["due"] is None and second["name"] is None
    assert first["at"] == datetime(2026, 12, 1, 9, 30, tzinfo=UTC) and first["at"].tzinfo is not None
    assert first["open"] is False and second["open"] is True
    assert first["document"]["nested"] == {"monthly": "99.00"} and first["document"]["name"] == "手机"


def test_labels_aggregates_limits_and_nothing_found(views: ViewStore) -> None:
    stock(views, [thing(seq) for seq in range(1, 8)])

    assert Prepared(FIRST_OPEN).all(views) == core(views, FIRST_OPEN)
    assert Prepared(COUNTS).all(views) == core(views, COUNTS) == [{"open": False, "n": 4}, {"open": True, "n": 3}]
    page = Prepared(PAGE)
    assert [row["seq"] for row in page.all(views, limit=2, offset=3)] == [4, 5]
    assert page.all(views, limit=2, offset=3) == core(views, PAGE, limit=2, offset=3)
    assert Prepared(BY_OWNER).first(views, owner=uuid4()) is None


def test_a_statement_with_an_expanding_list_is_refused_rather_than_run_with_the_wrong_sql(views: ViewStore) -> None:
    with pytest.raises(ValueError, match="expanding"):
        Prepared(select(things).where(things.c.seq.in_([1, 2]))).all(views)


amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999999999.99"), places=2)


@given(st.lists(amounts, min_size=1, max_size=6))
def test_money_comes_back_exact_to_the_fen(amounts: list[Decimal]) -> None:
    store = ViewStore.for_database("memory:")
    tables.create_all(store.engine)
    try:
        stock(store, [thing(seq, amount=amount) for seq, amount in enumerate(amounts)])
        read = Prepared(BY_OWNER).all(store, owner=OWNER)
        assert [row["amount"] for row in read] == [row["amount"] for row in core(store, BY_OWNER, owner=OWNER)]
        assert [row["amount"].quantize(Decimal("0.01")) for row in read] == amounts
    finally:
        store.close()


def test_a_named_parameter_is_needed_at_every_call_so_no_earlier_value_is_reused(views: ViewStore) -> None:
    stock(views, [thing(1)])
    by_owner = Prepared(BY_OWNER)
    assert len(by_owner.all(views, owner=OWNER)) == 1

    with pytest.raises(TypeError, match="needs owner"):
        by_owner.all(views)

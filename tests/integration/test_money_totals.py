"""Totals the back office shows over many rows (overdue by bucket) are summed by the database and still exact to the
fen: SQLite keeps `Numeric` as binary floating point, so a plain SUM drifts. (Totals kept by the projections as
events arrive, quota and deposits, are checked against the aggregates in test_projections.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from projections.collection_tasks import buckets, collection_tasks_view
from projections.store import ViewStore, metadata
from tests.support import START

AMOUNTS = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False, allow_infinity=False)
SHARED_STORE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
"""Each example empties the tables it fills, so the examples share one store."""


@pytest.fixture(params=["sqlite", "postgresql"])
def views(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[ViewStore]:
    url = f"sqlite:///{tmp_path}/views.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = ViewStore.for_database(url)
    with store.begin() as connection:
        metadata.create_all(connection, tables=[collection_tasks_view])
    yield store
    store.close()


TODAY = date(2027, 3, 15)


@SHARED_STORE
@given(
    st.lists(
        st.tuples(st.integers(-20, 200), AMOUNTS, st.sampled_from(["sms", "call", None]), st.integers(0, 200)),
        max_size=60,
    )
)
def test_overdue_buckets_count_and_sum_the_open_orders_by_days_overdue_today(
    views: ViewStore, tasks: list[tuple[int, Decimal, str | None, int]]
) -> None:
    """Each task is (days overdue today, amount, stage, days as last assessed): the buckets count by today's days
    (from the first day overdue, however stale the days stored by the last assessment), at any stage or at those
    named; a task not yet overdue (days below 1) is in no bucket."""
    rows = [
        {
            "order_id": uuid4(),
            "version": 1,
            "customer_id": uuid4(),
            "contact_name": "韩梅梅",
            "contact_phone": "13900000001",
            "order_status": "leasing",
            "stage": stage,
            "days_overdue": assessed,
            "overdue_from": TODAY - timedelta(days=days - 1),
            "overdue_amount": amount,
            "late_fees": Decimal("0.00"),
            "updated_at": START,
        }
        for days, amount, stage, assessed in tasks
    ]
    with views.begin() as connection:
        connection.execute(delete(collection_tasks_view))
        if rows:
            connection.execute(insert(collection_tasks_view), rows)
        assert connection.execute(select(func.count()).select_from(collection_tasks_view)).scalar_one() == len(rows)
    for stages in (None, ("sms", "call")):
        for bounds in (((1, 30), (31, 60), (61, None)), ((1, None),), ((5, 10), (11, 20))):
            found = buckets(views, bounds, TODAY, stages)
            for bucket, (low, high) in zip(found, bounds, strict=True):
                inside = [
                    (d, a)
                    for d, a, s, _ in tasks
                    if (stages is None or s in stages) and d >= low and (high is None or d <= high)
                ]
                assert (bucket.orders, bucket.overdue_amount) == (
                    len(inside),
                    sum((a for _, a in inside), Decimal("0.00")),
                )

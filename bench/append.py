"""How fast orders are placed in-process, beside raw SQL inserts of the same bytes in the same database.

Lists phones (a few SKUs to a product, each SKU stocked for its orders) and verified customers with a
score, then, in the same run on the same database:

  * places N long-term, full-deposit orders through the application alone (no read models), spread
    over the SKUs and the customers (at most 20 orders a SKU, 10 a customer) so that the histories
    they load stay short (`bench/growth.py` measures that growth),
  * reads back the notifications those orders stored (the rows one order writes and their `state`),
  * inserts the same `state` bytes into a plain table of the same database with SQLAlchemy Core, one
    transaction per order and one executemany of that order's rows,

and prints orders/s, the raw inserts' "orders-worth"/s and their ratio beside the target. Usage:

    .venv/bin/python bench/append.py                          # SQLite, then PostgreSQL (skipped if unreachable)
    .venv/bin/python bench/append.py --backends sqlite --orders 300
    .venv/bin/python bench/append.py --postgres-url postgresql+psycopg2://postgres@127.0.0.1:5432/test

PostgreSQL runs in a fresh schema, dropped afterwards; SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import sqlalchemy
from kit import close, database, list_skus, order_request, verified_customer

from api.bootstrap import application
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock
from leasecore.lease import Lease
from leasecore.lease.quote import OrderRequest
from leasecore.topics import stored_topics

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
TARGET = 0.3
ORDERS_PER_SKU = 20
ORDERS_PER_CUSTOMER = 10
SKUS_PER_PRODUCT = 4
WARM_UP = 10
SERIALS_PER_CALL = 500
D = Decimal


@dataclass(frozen=True)
class Figures:
    backend: str
    orders: int
    seconds: float
    rows: int
    size: int
    raw_seconds: float

    @property
    def rate(self) -> float:
        return self.orders / self.seconds

    @property
    def raw_rate(self) -> float:
        return self.orders / self.raw_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500, help="orders timed on each backend (default 500)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        with database(backend, args.postgres_url, "bench_append") as url:
            if url is None:
                print(f"{backend}: skipped (unreachable)", file=sys.stderr)
                continue
            results.append(run(backend, url, args.orders))
    print()
    print(
        f"{'backend':<10} {'orders':>6} {'orders/s':>9} {'rows/order':>10} {'bytes/order':>11} "
        f"{'raw orders-worth/s':>18} {'ratio':>6} {'target':>7}"
    )
    for figures in results:
        print(
            f"{figures.backend:<10} {figures.orders:>6} {figures.rate:>9.1f} {figures.rows / figures.orders:>10.1f} "
            f"{figures.size / figures.orders:>11,.0f} {figures.raw_rate:>18,.1f} "
            f"{figures.rate / figures.raw_rate:>6.3f} {'≥ ' + str(TARGET):>7}"
        )
    return 0


def run(backend: str, url: str, orders: int) -> Figures:
    """Set up, time the orders, then time the raw inserts of what they stored."""
    clock = SettableClock(START)
    app = application(url, clock=clock)
    try:
        total = orders + WARM_UP
        skus = list_skus(app, -(-total // ORDERS_PER_SKU), ORDERS_PER_SKU)
        customers = [verified_customer(app, n) for n in range(-(-total // ORDERS_PER_CUSTOMER))]
        requests = [order_request(sku) for sku in skus]
        print(f"{backend}: SKUs {len(skus)}, customers {len(customers)}; placing {orders} orders", file=sys.stderr)
        for n in range(WARM_UP):
            place(app, clock, customers[n % len(customers)], requests[n % len(requests)])
        head = app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        for n in range(WARM_UP, total):
            place(app, clock, customers[n % len(customers)], requests[n % len(requests)])
        seconds = time.perf_counter() - started
        stored = stored_by_order(app, head)
    finally:
        close(app)
    assert len(stored) == orders, (len(stored), orders)
    raw_seconds = time_raw_inserts(url, stored)
    rows = sum(len(states) for states in stored)
    size = sum(len(state) for states in stored for state in states)
    print(f"{backend}: {orders / seconds:.1f} orders/s, raw {orders / raw_seconds:.1f} orders-worth/s", file=sys.stderr)
    return Figures(backend, orders, seconds, rows, size, raw_seconds)


def place(app: LeaseApplication, clock: SettableClock, customer_id: UUID, request: OrderRequest) -> UUID:
    clock.advance(timedelta(seconds=3))
    return app.place_order(customer_id, request)


def stored_by_order(app: LeaseApplication, after: int) -> list[list[bytes]]:
    """The `state` of every notification stored after `after`, one list per order (each starts with its lease)."""
    placed = set(stored_topics(Lease.OrderPlaced))
    orders: list[list[bytes]] = []
    position = after
    while page := app.recorder.select_notifications(position, 500, inclusive_of_start=False):
        for notification in page:
            if notification.topic in placed:
                orders.append([])
            orders[-1].append(notification.state)
        position = page[-1].id
    return orders


def time_raw_inserts(url: str, stored: list[list[bytes]]) -> float:
    """Seconds to insert the same states into a plain table, one transaction and one executemany per order."""
    engine = sqlalchemy.create_engine(url)
    metadata = sqlalchemy.MetaData()
    table = sqlalchemy.Table(
        "bench_raw_rows",
        metadata,
        sqlalchemy.Column("id", sqlalchemy.BigInteger().with_variant(sqlalchemy.Integer, "sqlite"), primary_key=True),
        sqlalchemy.Column("state", sqlalchemy.LargeBinary, nullable=False),
    )
    try:
        metadata.create_all(engine)
        insert = table.insert()
        for states in stored[:WARM_UP]:
            with engine.begin() as connection:
                connection.execute(insert, [{"state": state} for state in states])
        started = time.perf_counter()
        for states in stored:
            with engine.begin() as connection:
                connection.execute(insert, [{"state": state} for state in states])
        return time.perf_counter() - started
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())

"""What the k-th order costs as the histories an order loads grow: around the 100th against the last.

Places N long-term, full-deposit orders (default 5,000) one by one through the application, its read
models followed in the background as the service runs them (an order picks its units from the stock read
model), timing each `place_order`, in two histories, each on a fresh database:

  * one SKU: every order books a unit of the same SKU (one product, one SKU, stocked for all of them
    up front), spread over customers with at most 10 orders each;
  * one customer: every order is the same customer's, spread over SKUs (a few to a product) with at
    most 10 orders each, so that only the customer's history grows (a full-deposit order reserves
    nothing on the credit line, which is read but not written).

It prints, for each, the median time of orders 90–110 and of the last 21, and their ratio beside the
target; the same for the CPU time of the thread that placed them, the steadier figure on a shared machine.
Usage:

    .venv/bin/python bench/growth.py                            # SQLite, then PostgreSQL (skipped if unreachable)
    .venv/bin/python bench/growth.py --backends sqlite --orders 1000
    .venv/bin/python bench/growth.py --postgres-url postgresql+psycopg2://postgres@127.0.0.1:5432/test

Progress goes to stderr. PostgreSQL runs in a fresh schema, dropped afterwards; SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kit import database, list_skus, order_request, verified_customer

from api.bootstrap import bootstrap
from leasecore.clock import SettableClock

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
TARGET = 1.2
EARLY = (90, 110)
WINDOW = EARLY[1] - EARLY[0] + 1
SPREAD = 10
SKUS_PER_PRODUCT = 4
SERIALS_PER_CALL = 500
HISTORIES = ("one SKU", "one customer")
D = Decimal


@dataclass(frozen=True)
class Figures:
    """Per order, in order: the wall seconds of `place_order`, and the CPU seconds of the thread that ran it (the
    steadier measure on a shared machine: other processes' work does not count in it, the read models' thread's
    neither; waiting for the database does not count either)."""

    backend: str
    history: str
    seconds: list[float]
    cpu: list[float]

    @property
    def early(self) -> float:
        return _early(self.seconds)

    @property
    def late(self) -> float:
        return _late(self.seconds)


def _early(seconds: list[float]) -> float:
    return statistics.median(seconds[EARLY[0] - 1 : EARLY[1]])


def _late(seconds: list[float]) -> float:
    return statistics.median(seconds[-WINDOW:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5000, help="orders placed in each history (default 5000)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    if args.orders < EARLY[1] + WINDOW:
        parser.error(f"--orders must be at least {EARLY[1] + WINDOW}")
    results = []
    for backend in args.backends.split(","):
        for history in HISTORIES:
            with database(backend, args.postgres_url, "bench_growth") as url:
                if url is None:
                    print(f"{backend}: skipped (unreachable)", file=sys.stderr)
                    break
                results.append(Figures(backend, history, *run(backend, url, history, args.orders)))
    print()
    print(
        f"{'backend':<10} {'history':<12} {'orders':>6} {'ms ~100th':>10} {'ms ~last':>9} "
        f"{'last÷100th':>10} {'cpu ~100th':>10} {'cpu ~last':>9} {'cpu ratio':>9} {'target':>7}"
    )
    for figures in results:
        cpu_early, cpu_late = _early(figures.cpu), _late(figures.cpu)
        print(
            f"{figures.backend:<10} {figures.history:<12} {len(figures.seconds):>6} {figures.early * 1000:>10.1f} "
            f"{figures.late * 1000:>9.1f} {figures.late / figures.early:>10.2f} {cpu_early * 1000:>10.1f} "
            f"{cpu_late * 1000:>9.1f} {cpu_late / cpu_early:>9.2f} {'≤ ' + str(TARGET):>7}"
        )
    return 0


def run(backend: str, url: str, history: str, orders: int) -> tuple[list[float], list[float]]:
    """Set up one history, then the wall and CPU seconds each of its orders took, in order."""
    clock = SettableClock(START)
    platform = bootstrap(url, clock=clock, follow=True)
    app = platform.app
    try:
        if history == "one SKU":
            skus = list_skus(app, 1, orders)
            customers = [verified_customer(app, n) for n in range(-(-orders // SPREAD))]
        else:
            skus = list_skus(app, -(-orders // SPREAD), SPREAD)
            customers = [verified_customer(app, 0)]
        requests = [order_request(sku) for sku in skus]
        platform.runner.catch_up()  # the stocking is in the read models before the first order, as in a live shop
        label = f"{backend}, {history}"
        print(f"{label}: SKUs {len(skus)}, customers {len(customers)}; placing {orders} orders", file=sys.stderr)
        seconds: list[float] = []
        cpu: list[float] = []
        started = time.perf_counter()
        for n in range(orders):
            customer_id, request = customers[n % len(customers)], requests[n % len(requests)]
            clock.advance(timedelta(seconds=3))
            before, before_cpu = time.perf_counter(), time.thread_time()
            app.place_order(customer_id, request)
            seconds.append(time.perf_counter() - before)
            cpu.append(time.thread_time() - before_cpu)
            if (n + 1) % max(1, orders // 10) == 0:
                recent, recent_cpu = _late(seconds) * 1000, _late(cpu) * 1000
                print(
                    f"{label}: {n + 1:,}/{orders:,} orders, median of the last {WINDOW} {recent:.1f} ms "
                    f"({recent_cpu:.1f} ms CPU) "
                    f"({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
        return seconds, cpu
    finally:
        platform.close()


if __name__ == "__main__":
    sys.exit(main())

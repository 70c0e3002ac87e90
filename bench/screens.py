"""How fast the back office's screens and the customer's pages answer at a real size, against a trivial page of
the same server.

Seeds `--orders` orders (default 100,000) through the application — phones stocked for them, verified
customers with ten orders each, a third of the orders paid (so they wait for their contract), the rest
waiting for payment, placed over `--days` days — lets every read model catch up, then serves the back office
in-process (Starlette's TestClient: server time, no network) and times, in the same run, each as the
median of `--repeat` requests after two untimed, the screens taken in turn so that the machine's moods fall on
each alike:

  * `trivial`: the login page (a template, no query): the floor;
  * `dashboard`: today's work, overdue buckets, deposits, quota, units, 30 days of rent;
  * `orders, first page` and `orders, deep page` (page 4/5 of the way through the list);
  * `orders, search by phone`, `orders, search by serial`;
  * `order page`: one order with its timeline, installments and money;

and the customer's app (`/m/`) on a phone, as the customer of an order from the middle of the list:

  * `m: home`: the catalog; `m: product`: a product page with the customer's own quote (credit waiver);
  * `m: my orders`: their orders; `m: order page`: that order; `m: bills`: its installments as of today.

and prints each median and its ratio to the trivial page; the issue's target is ≤ 3× for each, and no
screen's cost growing with the number of orders beyond its page (run it at two sizes, `--orders 10000`
and the default, and compare). Usage:

    .venv/bin/python bench/screens.py                                  # 100,000 orders on SQLite
    .venv/bin/python bench/screens.py --orders 10000 --backends sqlite,postgresql
    .venv/bin/python bench/screens.py --keep bench-screens.db          # keep the SQLite file ...
    .venv/bin/python bench/screens.py --reuse bench-screens.db         # ... and time it again without seeding
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

from kit import POSTGRES_URL, START, database, list_skus, order_request, verified_customer
from starlette.testclient import TestClient

import projections.orders
from api.bootstrap import Service, Settings, bootstrap, build_service
from api.cli import DEMO_PASSWORD, demo_accounts
from api.http.app import create_app
from api.web.mobile.frame import COOKIE, CUSTOMER, TTL
from api.web.sessions import WebSessions
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock, SystemClock

TARGET = 3.0
ORDERS_PER_CUSTOMER = 10
UNITS_PER_SKU = 500


@dataclass(frozen=True)
class Seeded:
    orders: int
    phone: str
    serial: str
    order_id: UUID
    customer_id: UUID
    product_id: UUID


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000, help="orders seeded (default 100,000)")
    parser.add_argument("--days", type=int, default=100, help="days the orders are placed over (default 100)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per screen (default 30)")
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgresql or both (default sqlite)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--keep", type=Path, help="seed into this SQLite file and keep it")
    parser.add_argument("--reuse", type=Path, help="time a SQLite file seeded before with --keep")
    args = parser.parse_args()
    results: list[tuple[str, int, dict[str, float]]] = []
    if args.reuse or args.keep:
        path = args.reuse or args.keep
        kept = f"sqlite:///{path.resolve()}"
        seeded = found(kept) if args.reuse else seed(kept, args.orders, args.days)
        results.append(("sqlite", seeded.orders, timed(kept, seeded, args.repeat)))
    else:
        for backend in args.backends.split(","):
            with database(backend, args.postgres_url, "bench_screens") as url:
                if url is None:
                    print(f"{backend}: skipped (unreachable)", file=sys.stderr)
                    continue
                seeded = seed(url, args.orders, args.days)
                results.append((backend, seeded.orders, timed(url, seeded, args.repeat)))
    print()
    print(f"{'backend':<10} {'orders':>8} {'screen':<26} {'median ms':>9} {'× trivial':>9} {'target':>7}")
    for backend, orders, medians in results:
        trivial = medians["trivial"]
        for name, median in medians.items():
            ratio, target = ("", "") if name == "trivial" else (f"{median / trivial:.2f}", f"≤ {TARGET:g}")
            print(f"{backend:<10} {orders:>8,} {name:<26} {median * 1000:>9.2f} {ratio:>9} {target:>7}")
    return 0


def seed(url: str, orders: int, days: int) -> Seeded:
    """Stock, customers and orders through the application's commands, then the read models caught up."""
    clock = SettableClock(START)
    platform = bootstrap(url, clock=clock)
    app = platform.app
    try:
        started = time.perf_counter()
        demo_accounts(app)
        skus = list_skus(app, -(-orders // UNITS_PER_SKU), UNITS_PER_SKU)
        customers = [verified_customer(app, n) for n in range(-(-orders // ORDERS_PER_CUSTOMER))]
        took = time.perf_counter() - started
        print(f"stocked {len(skus)} SKUs, {len(customers)} customers ({took:.0f} s)", file=sys.stderr)
        step = timedelta(days=days) / orders
        placed: list[UUID] = []
        for n in range(orders):
            clock.advance(step)
            order_id = app.place_order(customers[n % len(customers)], order_request(skus[n // UNITS_PER_SKU]))
            if n % 3 == 0:
                pay_checkout(app, order_id)
            placed.append(order_id)
            if (n + 1) % 10_000 == 0:
                print(f"placed {n + 1:,} orders ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        applied = platform.runner.catch_up()
        print(f"read models caught up: {applied:,} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        return seeded(app, orders, placed[len(placed) // 2])
    finally:
        platform.close()


def pay_checkout(app: LeaseApplication, order_id: UUID) -> None:
    lease = app.lease(order_id)
    app.pay_checkout(order_id, f"bench-{order_id.hex[:12]}", lease.due_now, app.clock.now())


def found(url: str) -> Seeded:
    """What a kept database holds: its order count and an order from its middle."""
    platform = bootstrap(url)
    try:
        applied = platform.runner.catch_up()  # read models whose code changed since are rebuilt first
        print(f"read models caught up: {applied:,} events", file=sys.stderr)

        everything = projections.orders.orders(platform.views, limit=1)
        middle = projections.orders.orders(platform.views, limit=1, offset=everything.total // 2).items[0]
        return seeded(platform.app, everything.total, middle.id)
    finally:
        platform.close()


def seeded(app: LeaseApplication, orders: int, middle: UUID) -> Seeded:
    lease = app.lease(middle)
    phone, serial = app.customer(lease.customer_id).phone, app.units_held(middle)[0]
    return Seeded(orders, phone, serial, middle, lease.customer_id, lease.product_id)


def timed(url: str, seeded: Seeded, repeat: int) -> dict[str, float]:
    """The median server time of each screen, logged in as admin, and of the login page."""
    service = build_service(Settings(database_url=url))
    try:
        service.platform.runner.catch_up()
        app = create_app(service)
        with TestClient(app) as anonymous, TestClient(app) as admin, TestClient(app) as phone:
            log_in(admin)
            log_in_customer(service, phone, seeded.customer_id)
            deep = max(1, seeded.orders * 4 // 5 // 20)
            cursor = deep_cursor(service, (deep - 1) * 20)
            routes = {
                "trivial": (anonymous, "/admin/login"),
                "dashboard": (admin, "/admin/"),
                "orders, first page": (admin, "/admin/orders"),
                f"orders, page {deep:,}": (admin, f"/admin/orders?after={quote(cursor)}"),
                "orders, search by phone": (admin, f"/admin/orders?q={seeded.phone}"),
                "orders, search by serial": (admin, f"/admin/orders?q={seeded.serial}"),
                "order page": (admin, f"/admin/orders/{seeded.order_id}"),
                "m: home": (anonymous, "/m/"),
                "m: product": (phone, f"/m/products/{seeded.product_id}"),
                "m: my orders": (phone, "/m/orders"),
                "m: order page": (phone, f"/m/orders/{seeded.order_id}"),
                "m: bills": (phone, f"/m/orders/{seeded.order_id}/bills"),
            }
            for client, path in routes.values():
                for _ in range(2):
                    check(client.get(path), path)
            times: dict[str, list[float]] = {name: [] for name in routes}
            for _ in range(repeat):  # round robin, so the machine's moods fall on every screen alike
                for name, (client, path) in routes.items():
                    began = time.perf_counter()
                    check(client.get(path), path)
                    times[name].append(time.perf_counter() - began)
            medians = {name: statistics.median(taken) for name, taken in times.items()}
            for name, median in medians.items():
                print(f"{name}: {median * 1000:.2f} ms", file=sys.stderr)
            return medians
    finally:
        service.close()


def deep_cursor(service: Service, offset: int) -> str:
    """The cursor a member of staff reaches that page by, following "next" links (found here by offset)."""
    row = projections.orders.orders(service.views, limit=1, offset=offset).items[0]
    return str(projections.orders.Cursor.of(row))


def log_in(client: TestClient) -> None:
    form = client.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, "the login form carries its CSRF token"
    answer = client.post(
        "/admin/login",
        data={"csrf": csrf.group(1), "next": "/admin/", "username": "admin", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def log_in_customer(service: Service, client: TestClient, customer_id: UUID) -> None:
    """A session of the customer's app, as logging in by SMS code opens one (the code is the login's own test)."""
    session_id, _ = WebSessions(service.store, SystemClock(), TTL).open(f"{CUSTOMER}{customer_id}")
    client.cookies.set(COOKIE, session_id, path="/m")


def check(response: object, path: str) -> None:
    status = getattr(response, "status_code", None)
    assert status == 200, f"{path} answered {status}"


if __name__ == "__main__":
    sys.exit(main())

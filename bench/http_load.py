"""The HTTP service under load: placing orders against a trivial JSON route of the same server.

Starts `leasecore serve` (uvicorn, one process) on a fresh database, sets it up over HTTP (the demo
configuration and staff, a product with 16 SKUs and enough units, customers logged in by SMS code and
verified), then at 1, 4 and 16 concurrent clients drives, in the same run:

  * `POST /v1/orders` (a long-term, full-deposit order: the command, its events, the answer built
    from them by the read models' own handlers, without waiting for the read models), and
  * `GET /v1/health` (a trivial JSON answer: the floor the framework, uvicorn and the client cost),

printing requests/s, p50 and p99 latency of each, and the ratio of order to health throughput. With
`--rounds R` each level measures health then orders R times over and pools them (requests over seconds, every
latency): on a shared machine whose speed drifts, interleaved rounds see the same drift, where one round each
of health and orders could be a tenth apart for nothing the code did. Each round's ratio goes to stderr.
Usage:

    .venv/bin/python bench/http_load.py                          # SQLite, then PostgreSQL if reachable
    .venv/bin/python bench/http_load.py --backends sqlite --orders 100
    .venv/bin/python bench/http_load.py --backends postgres --rounds 5
    .venv/bin/python bench/http_load.py --postgres-url postgresql+psycopg2://postgres@127.0.0.1:5432/test

PostgreSQL runs in a fresh schema, dropped afterwards; SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from kit import database
from stdnum.cn import ric

SKUS = 16
LEVELS = (1, 4, 16)
POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Measured:
    route: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default)")
    parser.add_argument("--orders", type=int, default=160, help="orders placed at each level (default 160)")
    parser.add_argument("--health", type=int, default=2000, help="health requests at each level (default 2000)")
    parser.add_argument("--rounds", type=int, default=1, help="health-then-orders rounds at each level (default 1)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument(
        "--workers",
        default="1",
        help="server processes to compare, e.g. 1,2 (default 1); more than one runs on PostgreSQL only",
    )
    args = parser.parse_args()
    results: dict[str, list[tuple[Measured, Measured]]] = {}
    for backend in args.backends.split(","):
        for workers in (int(n) for n in args.workers.split(",")):
            if workers > 1 and backend != "postgres":
                continue
            with database(backend, args.postgres_url, "bench_http") as url:
                if url is None:
                    print(f"{backend}: skipped (unreachable)", file=sys.stderr)
                    continue
                label = backend if workers == 1 else f"{backend}×{workers}"
                results[label] = run(url, args.orders, args.health, workers, args.rounds)
    print()
    print(
        f"{'backend':<11} {'clients':>7} {'route':<12} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'order/health':>12}"
    )
    for backend, rows in results.items():
        for order, health in rows:
            for measured in (health, order):
                ratio = f"{order.rate / health.rate:12.3f}" if measured is order and health.rate else " " * 12
                print(
                    f"{backend:<11} {measured.clients:>7} {measured.route:<12} {measured.requests:>8} "
                    f"{measured.rate:>8.1f} {measured.percentile(0.5):>8.1f} {measured.percentile(0.99):>8.1f} "
                    f"{measured.errors:>6} {ratio}"
                )
    return 0


def run(url: str, orders: int, health: int, workers: int = 1, rounds: int = 1) -> list[tuple[Measured, Measured]]:
    """One server (of `workers` processes) on one database: set up, then every level, health first, `rounds`
    times over."""
    leasecore = [sys.executable, "-m", "api.cli"]
    subprocess.run([*leasecore, "demo", "--database-url", url], check=True, capture_output=True)
    port = free_port()
    env = {**os.environ, "LEASECORE_LOG_LEVEL": "warning", "LEASECORE_CODES_PER_ADDRESS": "1000"}
    server = subprocess.Popen(
        [*leasecore, "serve", "--port", str(port), "--database-url", url, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        setup = Setup.make(base, total_orders=orders * len(LEVELS) * rounds, customers=max(LEVELS) * 2)
        print(f"{url.split('?')[0]}: set up {SKUS} SKUs and {len(setup.customers)} customers", file=sys.stderr)
        rows = []
        for clients in LEVELS:
            healths, orders_measured = [], []
            for _ in range(rounds):
                healths.append(drive(base, "health", clients, health, lambda client, n: client.get("/v1/health")))
                orders_measured.append(drive(base, "place-order", clients, orders, setup.place_order))
                last_health, last_orders = healths[-1].rate, orders_measured[-1].rate
                print(
                    f"  {clients:>2} clients: health {last_health:7.1f}/s, orders {last_orders:6.1f}/s"
                    f" ({last_orders / last_health:.3f})",
                    file=sys.stderr,
                )
            rows.append((pooled(orders_measured), pooled(healths)))
        return rows
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def pooled(rounds: list[Measured]) -> Measured:
    """Rounds of one route at one level as one measurement: their requests over their seconds, every latency."""
    first = rounds[0]
    return Measured(
        first.route,
        first.clients,
        sum(item.requests for item in rounds),
        sum(item.seconds for item in rounds),
        [latency for item in rounds for latency in item.latencies],
        sum(item.errors for item in rounds),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not come up within 60 s")


@dataclass
class Setup:
    """A product with SKUS SKUs and enough units, and verified customers with their tokens."""

    skus: list[str]
    customers: list[dict[str, str]]

    @classmethod
    def make(cls, base: str, total_orders: int, customers: int) -> Setup:
        with httpx.Client(base_url=base, timeout=60) as http:
            login = http.post("/v1/admin/login", json={"username": "operator", "password": "leasecore-demo"})
            staff = {"Authorization": f"Bearer {login.raise_for_status().json()['token']}"}
            category = http.post("/v1/admin/categories", json={"name": "Bench"}, headers=staff).raise_for_status()
            sku = {
                "market_value": "5000.00",
                "deposit": "3000.00",
                "monthly_rent": {"12": "200.00"},
                "buyout_price": {"12": "1000.00"},
                "renewal_monthly_rent": "150.00",
            }
            product = http.post(
                "/v1/admin/products",
                headers=staff,
                json={
                    "category_id": category.json()["id"],
                    "name": "Bench phone",
                    "brand": "Bench",
                    "long_term": {"terms": [12]},
                    "skus": [{**sku, "specs": {"n": str(n)}} for n in range(SKUS)],
                },
            ).raise_for_status()
            skus = [item["id"] for item in product.json()["skus"]]
            per_sku = total_orders // SKUS + 8
            for index, sku_id in enumerate(skus):
                serials = [f"B{index:02d}-{n:05d}" for n in range(per_sku)]
                http.post(f"/v1/admin/skus/{sku_id}/units", json={"serials": serials}, headers=staff).raise_for_status()
            tokens = [customer(http, n) for n in range(customers)]
        return cls(skus, tokens)

    def place_order(self, client: httpx.Client, n: int) -> httpx.Response:
        body = {
            "sku_id": self.skus[n % len(self.skus)],
            "quantity": 1,
            "plan": {"kind": "long", "months": 12},
            "deposit_mode": "full",
            "address": {"name": "Bench", "phone": "13900000000", "line": "1 Bench Road"},
        }
        return client.post("/v1/orders", json=body, headers=self.customers[n % len(self.customers)])


def customer(http: httpx.Client, n: int) -> dict[str, str]:
    phone = f"137{n:08d}"
    http.post("/v1/auth/otp", json={"phone": phone}).raise_for_status()
    text = http.get("/v1/sandbox/sms", params={"phone": phone}).json()[-1]["text"]
    code = re.search(r"\d{6}", text)
    assert code is not None
    token = http.post("/v1/auth/login", json={"phone": phone, "code": code.group()}).raise_for_status().json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    base = f"11010519900307{n % 1000:03d}"
    identity = {
        "name": "Bench",
        "id_number": base + ric.calc_check_digit(base + "0"),
        "id_card_image": "aQ==",
        "selfie_image": "aQ==",
    }
    http.post("/v1/me/identity", json=identity, headers=headers).raise_for_status()
    return headers


def drive(
    base: str, route: str, clients: int, requests: int, call: Callable[[httpx.Client, int], httpx.Response]
) -> Measured:
    """`requests` calls shared by `clients` threads, each with its own keep-alive connection."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            while (n := next(counter)) < requests:
                started = time.perf_counter()
                response = call(http, n)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code >= 400:
                        errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Measured(route, clients, requests, time.perf_counter() - started, latencies, errors[0])


if __name__ == "__main__":
    sys.exit(main())

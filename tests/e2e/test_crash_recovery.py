"""Exactly once through SIGKILL: `leasecore serve` on PostgreSQL killed several times while customers place and pay
orders, each request retried under its own `Idempotency-Key` until answered. Afterwards every key acknowledged one
order, no order exists that no key acknowledged, every order is paid once, and the read models equal a rebuild."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import projections.stock
from api.bootstrap import bootstrap
from leasecore.staff import Role
from projections.store import ViewStore, metadata
from tests.conftest import postgres_schema
from tests.e2e.support import Api, Customer
from tests.e2e.test_processes import free_port, leasecore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PASSWORD = "killed-and-back"
CLIENTS = 4
KILLS = 3
ORDERS_EACH = 120
UNITS = CLIENTS * ORDERS_EACH
DEADLINE = 80.0
VIEWS = [table for table in metadata.sorted_tables if table.name.endswith("_view")]


class Server:
    """`leasecore serve` on one port, in its own process group, killed without warning and started again."""

    def __init__(self, url: str) -> None:
        self.url, self.port = url, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--database-url", self.url]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LEASECORE_LOG_LEVEL": "warning"},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.base, timeout=5) as probe:
            while True:
                try:
                    if probe.get("/v1/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, "the service exited before it served"
                assert time.monotonic() < deadline, "the service did not answer in 60 s"
                time.sleep(0.1)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        self.process.wait(30)


@contextmanager
def serving(url: str) -> Iterator[Server]:
    server = Server(url)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill(signal.SIGTERM)


class Remote(Api):
    """The e2e helpers over a real connection to a server in another process, staff logged in as the admin."""

    def __init__(self, http: httpx.Client, admin: dict[str, str]) -> None:
        self.http = http
        self.admin = admin
        self.customers: list[Customer] = []
        self._ids = iter(range(1, 1000))
        self.position: str | None = None
        self.settle = False

    def staff(self, *roles: Role, username: str = "tester") -> dict[str, str]:
        return self.admin


@dataclass
class Client:
    """One customer placing and paying orders one after another, each request under its own key."""

    who: Customer
    body: dict[str, Any]
    base: str
    orders: dict[str, str] = field(default_factory=dict)
    """Each place-order key and the order id its answer named."""
    retries: int = 0
    failure: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        try:
            with httpx.Client(base_url=self.base, timeout=10, headers=self.who.headers) as http:
                for n in range(ORDERS_EACH):
                    if stop.is_set():
                        return
                    self.order_and_pay(http, f"{self.who.phone}-{n}")
        except BaseException as error:  # the test thread reports it
            self.failure = error

    def order_and_pay(self, http: httpx.Client, tag: str) -> None:
        placed = self.send(http, "/v1/orders", self.body, f"order-{tag}")
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        self.orders[f"order-{tag}"] = order_id
        asked = self.send(http, f"/v1/orders/{order_id}/payments", {"purpose": "checkout"}, f"pay-{tag}")
        assert asked.status_code == 201, asked.text
        completion = f"/v1/sandbox/payments/{asked.json()['payment_id']}/complete"
        done = self.send(http, completion, {"outcome": "success"}, f"complete-{tag}")
        assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text

    def send(self, http: httpx.Client, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        """The request again under the same key until it has a final answer: through refused connections while the
        server is down, 5xx, 404 (read models catching up after a restart) and 409 `in-progress`."""
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                answer = http.post(path, json=body, headers={"Idempotency-Key": key})
                if not _transient(answer):
                    return answer
            except httpx.TransportError:
                pass
            self.retries += 1
            assert time.monotonic() < deadline, f"{path} under {key} was never answered"
            time.sleep(0.05)


def _transient(answer: httpx.Response) -> bool:
    if answer.status_code >= 500 or answer.status_code in (404, 429):
        return True
    return answer.status_code == 409 and answer.json().get("type") == "/problems/in-progress"


def snapshot(views: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    with views.read() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in VIEWS
        }


def listed_orders(http: httpx.Client, who: Customer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = http.get("/v1/orders", params={"limit": 200, "offset": len(found)}, headers=who.headers)
        assert page.status_code == 200, page.text
        found += page.json()
        if len(found) >= int(page.headers["X-Total-Count"]):
            return found


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_schema() as url:
        leasecore("admin", "create-user", "admin", "--role", "admin", "--database-url", url, stdin=PASSWORD + "\n")
        yield url


def test_killed_three_times_under_load_no_order_is_lost_or_placed_twice(database_url: str) -> None:
    with serving(database_url) as server, httpx.Client(base_url=server.base, timeout=30) as http:
        login = http.post("/v1/admin/login", json={"username": "admin", "password": PASSWORD})
        remote = Remote(http, {"Authorization": f"Bearer {login.json()['token']}"})
        world = remote.set_up_world(units=UNITS)
        body = remote.order_body(world.sku_id, deposit_mode="full")
        clients = [Client(remote.customer(), body, server.base) for _ in range(CLIENTS)]
        stop = threading.Event()
        threads = [threading.Thread(target=client.run, args=(stop,)) for client in clients]
        for thread in threads:
            thread.start()
        for _ in range(KILLS):
            time.sleep(random.uniform(1.5, 3.5))
            server.kill()
            time.sleep(random.uniform(0.0, 0.5))
            server.start()
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(DEADLINE)
        failures = [client.failure for client in clients if client.failure is not None]
        assert not failures, failures

        acknowledged = {order_id for client in clients for order_id in client.orders.values()}
        assert len(acknowledged) == sum(len(client.orders) for client in clients), "one order answered two keys"
        assert sum(client.retries for client in clients) > 0, "no request met a killed server"
        for client in clients:
            orders = listed_orders(http, client.who)
            assert {order["id"] for order in orders} == set(client.orders.values()), "an order no key acknowledged"
            assert {order["status"] for order in orders} == {"pending_contract"}
            for order in orders:
                paid = http.get(f"/v1/orders/{order['id']}/payments", headers=client.who.headers).json()
                assert [payment["status"] for payment in paid] == ["succeeded"]

    platform = bootstrap(database_url)
    try:
        platform.runner.catch_up()
        booked = projections.stock.stock(platform.views, platform.app.local_today(), sku_ids=[world.sku_id])[0]
        assert UNITS - booked.available == len(acknowledged)
        served = snapshot(platform.views)
        platform.runner.rebuild()
        assert snapshot(platform.views) == served
    finally:
        platform.close()

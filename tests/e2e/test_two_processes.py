"""Two service processes on one PostgreSQL database are one service, sandbox included: a whole order is walked
alternating the process on every request (a login code sent by one is read from the other's sandbox outbox, a
payment asked on one is completed at the sandbox on the other), and a process restarted mid-way forgets nothing
the sandbox knew: a payment asked before the restart is still completed after it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal as D
from itertools import pairwise
from typing import Any

import httpx
import pytest
import sqlalchemy

from tests.conftest import postgres_schema
from tests.e2e.support import id_number, phone_product
from tests.e2e.test_processes import free_port, leasecore
from tests.support import BILLING, CREDIT_LEVELS, SCORING_RULES, WAIVER_POLICY

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PASSWORD = "one-world"
PHONE = "13911112222"


class Server:
    """`leasecore serve` in its own process group on a free port."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.port = free_port()
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--database-url", url]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LEASECORE_LOG_LEVEL": "warning"},
            start_new_session=True,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        deadline = time.monotonic() + 60
        while not self._up():
            assert self.process.poll() is None, f"{name} exited before it served"
            assert time.monotonic() < deadline, f"{name} did not answer in 60 s"
            time.sleep(0.2)

    def _up(self) -> bool:
        try:
            return self.client.get("/v1/health").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


class Alternating:
    """A client whose every request goes to the other process than the one before, reading its own writes
    (`X-Read-After` the last `X-Read-Position` it was given); `calls` says which process answered what."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.turn = 0
        self.position: str | None = None
        self.calls: list[tuple[str, str, str]] = []

    def next_server(self) -> Server:
        return self.servers[self.turn % 2]

    def request(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        server = self.next_server()
        self.turn += 1
        headers = dict(kwargs.pop("headers", {}))
        if self.position is not None:
            headers["X-Read-After"] = self.position
        answer = server.client.request(method, path, headers=headers, **kwargs)
        assert answer.status_code == status, f"{server.name} {method} {path}: {answer.status_code} {answer.text}"
        self.position = answer.headers.get("X-Read-Position", self.position)
        self.calls.append((server.name, method, path))
        return answer.json() if answer.content else None

    def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.request("GET", path, status, **kwargs)

    def post(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.request("POST", path, status, **kwargs)

    def put(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.request("PUT", path, status, **kwargs)

    def restart(self, index: int) -> None:
        """Kill one process outright and start it again (on another port): only the database remembers."""
        old = self.servers[index]
        old.stop()
        self.servers[index] = Server(old.url, old.name)


def money(value: str) -> D:
    assert re.fullmatch(r"-?\d+\.\d{2}", value), value
    return D(value)


def subscribed(url: str, tracking_no: str, timeout: float = 20.0) -> bool:
    """Whether the sandbox carrier knows who to push the parcel's moves to (the parcel watcher of either process
    subscribes it once it sees the shipment)."""
    engine = sqlalchemy.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                found = connection.execute(
                    sqlalchemy.text("SELECT 1 FROM api_sandbox_state WHERE kind = 'parcel-subscriber' AND key = :key"),
                    {"key": f"sf express/{tracking_no}"},
                ).first()
            if found is not None:
                return True
            time.sleep(0.2)
        return False
    finally:
        engine.dispose()


def set_up_catalogue(api: Alternating, staff: dict[str, str]) -> str:
    for name, document in (
        ("scoring-rules", SCORING_RULES),
        ("credit-levels", CREDIT_LEVELS),
        ("waiver-policy", WAIVER_POLICY),
        ("billing", BILLING),
    ):
        api.put(f"/v1/admin/config/{name}", headers=staff, json=document)
    category = api.post("/v1/admin/categories", 201, headers=staff, json={"name": "Phones"})
    product = api.post(
        "/v1/admin/products",
        201,
        headers=staff,
        json=phone_product(category["id"]),
    )
    sku_id: str = product["skus"][0]["id"]
    api.post(f"/v1/admin/skus/{sku_id}/units", 201, headers=staff, json={"serials": ["IMEI0001", "IMEI0002"]})
    return sku_id


def log_in(api: Alternating, phone: str) -> dict[str, str]:
    """The code is sent by one process, read from the sandbox outbox on the other, and checked on the first."""
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    messages = api.get("/v1/sandbox/sms", params={"phone": phone})
    codes = [found.group(1) for m in messages if (found := re.search(r"login code is (\d{6})", m["text"]))]
    assert codes, messages
    answer = api.post("/v1/auth/login", json={"phone": phone, "code": codes[-1]})
    return {"Authorization": f"Bearer {answer['token']}"}


def pay(api: Alternating, who: dict[str, str], order_id: str, body: dict[str, str]) -> dict[str, Any]:
    """Asked on one process, completed at the sandbox provider on the other, seen paid on the first."""
    payment: dict[str, Any] = api.post(f"/v1/orders/{order_id}/payments", 201, headers=who, json=body)
    completed = api.post(f"/v1/sandbox/payments/{payment['payment_id']}/complete", json={"outcome": "success"})
    assert completed["status"] == "succeeded"
    return payment


@pytest.fixture
def database_url() -> Any:
    with postgres_schema() as url:
        leasecore(
            "admin", "create-user", "boss", "--role", "admin", "--role", "operator", "--database-url", url,
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        yield url


def test_a_whole_order_alternating_two_processes_on_every_request(database_url: str) -> None:
    servers = [Server(database_url, "A"), Server(database_url, "B")]
    api = Alternating(servers)
    try:
        staff_login = api.post("/v1/admin/login", json={"username": "boss", "password": PASSWORD})
        staff = {"Authorization": f"Bearer {staff_login['token']}"}
        sku_id = set_up_catalogue(api, staff)

        who = log_in(api, PHONE)
        number = id_number(1)
        identity = {"name": "Han Meimei", "id_number": number, "id_card_image": "aWQ=", "selfie_image": "bWU="}
        assert api.post("/v1/me/identity", headers=who, json=identity) == {"status": "verified", "reason": None}
        api.post("/v1/sandbox/credit-scores", json={"id_number": number, "score": 720})
        assert api.post("/v1/me/credit", headers=who, json={})["score"] == 720

        body = {
            "sku_id": sku_id,
            "quantity": 1,
            "plan": {"kind": "long", "months": 12},
            "protection": False,
            "deposit_mode": "waiver",
            "address": {"name": "Han Meimei", "phone": PHONE, "line": "8 Test Street, Shanghai"},
            "channel": "app",
        }
        order = api.post("/v1/orders", 201, headers=who, json=body)
        order_id = order["id"]
        assert [money(order[name]) for name in ("deposit", "waiver", "deposit_due", "due_now")] == [
            D("3000.00"),
            D("2500.00"),
            D("500.00"),
            D("700.00"),
        ]

        asked = api.next_server().name
        checkout = api.post(f"/v1/orders/{order_id}/payments", 201, headers=who, json={"purpose": "checkout"})
        api.restart(0 if asked == "A" else 1)
        assert api.get(f"/v1/orders/{order_id}", headers=who)["status"] == "pending_payment"
        completed = api.post(f"/v1/sandbox/payments/{checkout['payment_id']}/complete", json={"outcome": "success"})
        assert completed["status"] == "succeeded"
        assert api.get(f"/v1/orders/{order_id}", headers=who)["status"] == "pending_contract"

        contract = api.post(f"/v1/orders/{order_id}/contract/sign", headers=who)
        assert contract["contract_id"].startswith("sandbox-contract-")
        assert api.get(f"/v1/orders/{order_id}", headers=who)["status"] == "pending_shipment"
        shipment = {"unit_serial": "IMEI0001", "carrier": "SF Express", "tracking_no": "SF100"}
        assert api.post(f"/v1/admin/orders/{order_id}/ship", headers=staff, json=shipment)["status"] == "shipped"
        assert subscribed(database_url, "SF100")
        move = {"carrier": "SF Express", "tracking_no": "SF100", "stage": "delivered", "location": "Shanghai"}
        assert api.post("/v1/sandbox/parcels", json=move)["delivered"] is True
        assert api.get(f"/v1/orders/{order_id}/tracking", headers=who)["delivered"] is True
        assert api.get(f"/v1/orders/{order_id}", headers=who)["status"] == "leasing"

        schedule = api.get(f"/v1/orders/{order_id}/installments", headers=who)
        assert [(i["amount"], i["status"]) for i in schedule[:2]] == [("200.00", "paid"), ("200.00", "due")]
        pay(api, who, order_id, {"purpose": "installments", "amount": "200.00"})

        schedule = api.get(f"/v1/orders/{order_id}/installments", headers=who)
        assert len(schedule) == 12
        assert [i["status"] for i in schedule[:3]] == ["paid", "paid", "due"]
        assert sum(money(i["paid"]) for i in schedule) == D("400.00")
        payments = api.get(f"/v1/orders/{order_id}/payments", headers=who)
        assert sorted((p["purpose"], p["status"], p["paid_amount"]) for p in payments) == [
            ("checkout", "succeeded", "700.00"),
            ("installments", "succeeded", "200.00"),
        ]
        line = api.get("/v1/me/credit-line", headers=who)
        assert (money(line["reserved"]), money(line["available"])) == (D("2500.00"), D("2500.00"))

        served = [name for name, _, _ in api.calls]
        assert all(one != other for one, other in pairwise(served))
        assert {"A", "B"} == set(served)
    finally:
        for server in api.servers:
            server.stop()

"""Time runs the business by itself: `leasecore serve` runs the daily job at the billing document's local time, once
per day across processes, and its reminders go out through the outbox once, across a SIGKILL of the service."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.bootstrap import Platform, bootstrap
from api.http.security import hash_password
from leasecore.clock import SettableClock
from leasecore.staff import Role
from tests.conftest import postgres_schema
from tests.e2e.support import Api, running
from tests.support import BILLING, build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "scheduled-work"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, every: float = 0.1) -> T:
    """The first truthy answer of `probe` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(every)


# In one process: the service's own scheduler and sender threads.


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


def test_moving_the_sandbox_clock_past_the_job_time_runs_the_missed_days_and_sends_their_reminders(api: Api) -> None:
    world = api.set_up_world()
    who = api.customer()
    order = api.leasing(who, api.order_body(world.sku_id))  # installment 2 of 200.00 falls due on 28 February
    api.service.scheduler.start()
    api.service.messages.start()
    operator = api.staff(Role.OPERATOR)
    jobs = eventually(lambda: api.get("/v1/admin/jobs", who=operator)["daily"]["last_day"] == "2026-01-31" or None)
    assert jobs
    api.move_clock(datetime(2026, 3, 10, 2, 30, tzinfo=SHANGHAI))
    daily = eventually(
        lambda: (d := api.get("/v1/admin/jobs", who=operator)["daily"])["last_day"] == "2026-03-10" and d
    )
    assert daily["daily_job_at"] == "02:00"
    assert datetime.fromisoformat(daily["next_run_at"]) == datetime(2026, 3, 11, 2, 0, tzinfo=SHANGHAI)
    runs = api.get("/v1/admin/jobs", who=operator, params={"limit": 100})["daily"]["runs"]
    assert [run["day"] for run in runs] == [f"2026-{month:02d}-{day:02d}" for month, day in days_back()]
    assert {(run["state"], run["attempts"]) for run in runs} == {("done", 1)}
    (message,) = eventually(
        lambda: [
            m
            for m in api.get("/v1/admin/messages", who=operator, params={"order_id": order["id"]})
            if m["state"] == "sent"
        ]
    )
    assert (message["kind"], message["phone"], message["attempts"]) == ("collection_sms", who.phone, 1)
    assert "200.20 CNY is overdue by 1 day(s), late fees of 0.20 CNY included" in message["text"]  # as of 4 March
    sent = [m["text"] for m in api.get("/v1/sandbox/sms", params={"phone": who.phone})]
    assert sent.count(message["text"]) == 1


def days_back() -> list[tuple[int, int]]:
    """10 March back to 31 January."""
    return [(3, day) for day in range(10, 0, -1)] + [(2, day) for day in range(28, 0, -1)] + [(1, 31)]


# Real `leasecore serve` processes.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Serving:
    """`leasecore serve` in its own process group on a free port."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--database-url", url]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LEASECORE_LOG_LEVEL": "warning", **(env or {})},
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def ready(self) -> Serving:
        def answers() -> bool:
            assert self.process.poll() is None, "the service exited before it served"
            try:
                return self.http.get("/v1/health").status_code == 200
            except httpx.TransportError:
                return False

        eventually(answers, timeout=60, every=0.1)
        return self

    def login(self) -> dict[str, str]:
        answer = self.http.post("/v1/admin/login", json={"username": "admin", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        self.http.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(30)


@contextmanager
def serving(url: str, count: int = 1, env: dict[str, str] | None = None) -> Iterator[list[Serving]]:
    started = [Serving(url, env) for _ in range(count)]
    try:
        yield [service.ready() for service in started]
    finally:
        for service in started:
            service.stop()


def with_admin(url: str, clock: SettableClock | None = None) -> Platform:
    """A platform on the database with an admin account, as `leasecore admin create-user` makes one."""
    platform = bootstrap(url, clock=clock)
    platform.app.save_staff_account("admin", (Role.ADMIN,), hash_password(PASSWORD))
    return platform


@pytest.mark.slow
@pytest.mark.postgres
def test_two_serve_processes_on_postgresql_run_each_days_job_once() -> None:
    with postgres_schema() as url:
        with_admin(url).close()
        with serving(url, count=2) as (first, second):
            token = first.login()
            assert first.http.put("/v1/admin/config/billing", json=BILLING, headers=token).status_code == 200

            def runs(service: Serving) -> list[dict[str, Any]]:
                answer = service.http.get("/v1/admin/jobs", headers=token)
                assert answer.status_code == 200, answer.text
                found: list[dict[str, Any]] = answer.json()["daily"]["runs"]
                return found

            (today,) = eventually(lambda: [run for run in runs(second) if run["state"] == "done"])
            now = datetime.fromisoformat(first.http.get("/v1/sandbox/clock").json()["now"])
            tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
            if now.astimezone(SHANGHAI).hour < 2:
                tomorrow -= timedelta(days=1)
            at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 2, 30, tzinfo=SHANGHAI)
            for service, instant in ((first, at), (second, at + timedelta(seconds=1))):
                moved = service.http.post("/v1/sandbox/clock", json={"now": instant.isoformat()})
                assert moved.status_code == 200, moved.text
            eventually(lambda: len(runs(first)) == 2 and runs(first)[0]["state"] == "done")
            time.sleep(2.5)  # a look of each process's scheduler more
            for service in (first, second):
                assert [(run["day"], run["state"], run["attempts"]) for run in runs(service)] == [
                    (tomorrow.isoformat(), "done", 1),
                    (today["day"], "done", 1),
                ]


class FakeAliyun(ThreadingHTTPServer):
    """Aliyun's SendSms as a local peer: out of service (HTTP 503) until `up`, then it keeps every message sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), AliyunHandler)
        self.up = False
        self.refused = 0
        self.sent: list[dict[str, str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class AliyunHandler(BaseHTTPRequestHandler):
    server: FakeAliyun

    def do_GET(self) -> None:
        params = dict(parse_qsl(urlsplit(self.path).query))
        with self.server.lock:
            if not self.server.up:
                self.server.refused += 1
                body, status = b"Service Unavailable", 503
            else:
                self.server.sent.append(params)
                answer = {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.server.sent)}", "RequestId": "r"}
                body, status = json.dumps(answer).encode(), 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    server = FakeAliyun()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def all_in(state: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The two orders' messages, once both are in that state."""
    return messages if len(messages) == 2 and {message["state"] for message in messages} == {state} else None


@pytest.mark.slow
def test_reminders_saved_when_the_service_is_killed_are_sent_after_its_restart_and_none_twice(
    sqlite_url: str, aliyun: FakeAliyun
) -> None:
    clock = SettableClock(datetime.now(UTC) - timedelta(days=40))
    platform = with_admin(sqlite_url, clock)
    world = build_world(platform.app, clock)
    orders = [world.leasing(world.customer()) for _ in range(2)]  # installment 2 now some days overdue
    platform.runner.catch_up()
    platform.close()
    providers = {
        "payments": {"sandbox": {"kind": "sandbox"}},
        "sms": {
            "kind": "aliyun",
            "access_key_id": "test",
            "access_key_secret": "test",
            "sign_name": "leasecore",
            "template_code": "SMS_0",
            "endpoint": aliyun.url,
        },
    }
    env = {"LEASECORE_PROVIDERS": json.dumps(providers)}  # production mode: the system clock, SMS through Aliyun

    service = Serving(sqlite_url, env).ready()
    token = service.login()

    def messages() -> list[dict[str, Any]]:
        answer = service.http.get("/v1/admin/messages", headers=token)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    try:
        refused = eventually(lambda: all_in("failed", messages()))
        assert sorted(m["order_id"] for m in refused) == sorted(str(order) for order in orders)
        assert aliyun.sent == [] and aliyun.refused >= 2
    finally:
        service.stop(signal.SIGKILL)
    aliyun.up = True
    service = Serving(sqlite_url, env).ready()
    try:
        token = service.login()
        sent = eventually(lambda: all_in("sent", messages()))
        time.sleep(1)
        assert sorted(params["OutId"] for params in aliyun.sent) == sorted(m["message_id"] for m in sent)
        assert [m["attempts"] for m in sent] == [2, 2]
        texts = {json.loads(params["TemplateParam"])["content"] for params in aliyun.sent}
        assert texts == {m["text"] for m in sent} and all("CNY is overdue by" in text for text in texts)
        assert [
            run["attempts"] for run in service.http.get("/v1/admin/jobs", headers=token).json()["daily"]["runs"]
        ] == [1]
    finally:
        service.stop()

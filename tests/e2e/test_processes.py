"""Several service processes on one PostgreSQL database behave as one: a write answered by one process is
read back from another (X-Read-After), and `leasecore serve --workers 2` serves the same way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import postgres_schema

pytestmark = pytest.mark.postgres
PASSWORD = "two-processes"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def leasecore(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], input=stdin, capture_output=True, text=True, timeout=120, check=True
    )


@contextmanager
def serving(url: str, *, workers: int = 1) -> Iterator[httpx.Client]:
    """`leasecore serve` in its own process group on a free port, stopped afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--database-url", url]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LEASECORE_LOG_LEVEL": "warning"},
        start_new_session=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the service exited before it served"
            assert time.monotonic() < deadline, "the service did not answer in 60 s"
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def staff(client: httpx.Client) -> dict[str, str]:
    answer = client.post("/v1/admin/login", json={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_schema() as url:
        leasecore("admin", "create-user", "admin", "--role", "admin", "--database-url", url, stdin=PASSWORD + "\n")
        yield url


def test_a_write_on_one_process_is_read_back_on_another(database_url: str) -> None:
    with serving(database_url) as first, serving(database_url) as second:
        added = first.post("/v1/admin/categories", json={"name": "Drones"}, headers=staff(first))
        assert added.status_code == 201, added.text
        read = second.get("/v1/catalog/categories", headers={"X-Read-After": added.headers["X-Read-Position"]})
        assert read.status_code == 200
        assert [category["name"] for category in read.json()] == ["Drones"]
        token = staff(second)
        assert first.get("/v1/admin/config/billing", headers=token).status_code == 404


def test_serve_with_two_workers_serves_writes_and_reads(database_url: str) -> None:
    with serving(database_url, workers=2) as service:
        headers = staff(service)
        names = [f"Category {n}" for n in range(6)]
        for name in names:
            added = service.post("/v1/admin/categories", json={"name": name}, headers=headers)
            assert added.status_code == 201, added.text
            after = {"X-Read-After": added.headers["X-Read-Position"]}
            listed = [category["name"] for category in service.get("/v1/catalog/categories", headers=after).json()]
            assert name in listed


def test_two_workers_need_postgresql(tmp_path: object) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        leasecore("serve", "--workers", "2", "--database-url", f"sqlite:///{tmp_path}/one.db")
    assert failed.value.returncode == 2
    assert "needs PostgreSQL" in failed.value.stderr

"""`leasecore serve` as a process: SIGTERM lets the request in flight finish and exits 0 within 10 s; a crowd of
connections that send headers but never their body is cut off after the body timeout, while `/v1/health` keeps
answering and the log stays short."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

SLOW_CONNECTIONS = int(os.environ.get("LEASECORE_TEST_SLOW_CONNECTIONS", "1000"))
"""How many stalled connections the flood opens: issue 15's 1,000 (a machine allowing fewer open files runs fewer)."""
BODY_TIMEOUT = 3.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=15)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[Served]:
    """`leasecore serve` on a fresh SQLite file and a free port, its output kept in a file; killed if still up."""
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--database-url", f"sqlite:///{tmp_path}/serve.db"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LEASECORE_LOG_LEVEL": "info", **env},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the service did not answer in 60 s"
            time.sleep(0.2)
        yield Served(process, port, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def open_files_for(connections: int) -> None:
    """This process may hold `connections` sockets and some more: its soft limit raised towards the hard one (the
    served child inherits it, and `leasecore serve` raises its own to its hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"{connections} connections need {wanted} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def healthy(port: int, timeout: float = 5.0) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=timeout).status_code == 200
    except httpx.TransportError:
        return False


def headers_only(length: int, path: str = "/v1/auth/otp") -> bytes:
    kind = "application/json" if path.startswith("/v1/") else "application/x-www-form-urlencoded"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def read_to_end(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def read_answer(connection: socket.socket) -> bytes:
    """One answer with a Content-Length, however the network splits it."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536) or b"\r\n\r\n"
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    while length and len(body) < int(length.group(1)) and (chunk := connection.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def test_sigterm_lets_the_request_in_flight_finish_and_exits_0_within_10_s(tmp_path: Path) -> None:
    body = b'{"phone": "13900000001"}'
    with serving(tmp_path) as served, served.connect() as connection:
        connection.sendall(headers_only(len(body)) + body[:10])
        time.sleep(0.5)
        stopped = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        connection.sendall(body[10:])
        answer = read_to_end(connection)
        assert answer.startswith(b"HTTP/1.1 202"), answer
        assert b'"expires_at"' in answer
        assert served.process.wait(10) == 0
        assert time.monotonic() - stopped < 10
        output = served.log.read_text()
        assert "Finished server process" in output, output
        assert "Traceback" not in output, output


def test_connections_that_never_send_their_body_are_cut_off_while_health_answers(tmp_path: Path) -> None:
    """Issue 15: 1,000 connections that send a head and never their body; `/v1/health` answers within 1 s all the
    while, and each stalled one gets 408 and is closed once the body timeout has passed, not before."""
    open_files_for(SLOW_CONNECTIONS)
    with serving(tmp_path, LEASECORE_BODY_TIMEOUT=str(BODY_TIMEOUT)) as served, ExitStack() as stack:
        opened = time.monotonic()
        stalled = []
        for n in range(SLOW_CONNECTIONS):
            connection = stack.enter_context(served.connect())
            connection.sendall(headers_only(100, ("/v1/auth/otp", "/admin/login", "/m/login/code")[n % 3]))
            stalled.append(connection)
        all_open = time.monotonic()
        assert all_open - opened < BODY_TIMEOUT, f"opening the connections took {all_open - opened:.1f} s"
        waits = []
        while time.monotonic() - all_open < BODY_TIMEOUT:
            asked = time.monotonic()
            assert healthy(served.port, timeout=1.0)
            waits.append(time.monotonic() - asked)
            time.sleep(0.2)
        assert len(waits) >= 3 and max(waits) < 1.0, waits
        first = read_to_end(stalled[0])
        assert time.monotonic() - opened >= BODY_TIMEOUT * 0.9
        answers = [first, *(read_to_end(connection) for connection in stalled[1:])]
        assert time.monotonic() - opened < 15
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), {answer[:40] for answer in answers}
        assert all(b"connection: close" in answer.lower() for answer in answers)
        assert healthy(served.port, timeout=1.0)
    lines = served.log.read_text().splitlines()
    assert len(lines) < SLOW_CONNECTIONS + 50, lines[-20:]
    assert not [line for line in lines if "Traceback" in line or "ERROR" in line], lines[-20:]


def test_connections_that_never_finish_their_head_are_closed(tmp_path: Path) -> None:
    with serving(tmp_path, LEASECORE_BODY_TIMEOUT="2") as served, ExitStack() as stack:
        silent = [stack.enter_context(served.connect()) for _ in range(5)]
        partial = [stack.enter_context(served.connect()) for _ in range(5)]
        for connection in partial:
            connection.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        working = stack.enter_context(served.connect())
        opened = time.monotonic()
        for _ in range(4):
            working.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert read_answer(working).startswith(b"HTTP/1.1 200")
            time.sleep(0.9)
        assert [read_to_end(connection) for connection in silent + partial] == [b""] * 10
        assert time.monotonic() - opened < 10

"""The service held at half its peak for minutes: memory, errors and latency sampled as it runs.

Starts `leasecore serve --workers N` on a fresh PostgreSQL schema, sets it up over HTTP as `http_load.py`
does (the demo configuration and staff, a product with 16 SKUs, verified customers), then:

  1. peak: for `--peak-seconds`, 16 clients back to back, each operation placing an order
     (`POST /v1/orders`) and reading it back (`GET /v1/orders/{id}` with `X-Read-After`, so the read may land
     on the other process); the operations per second done is the peak;
  2. soak: for `--minutes`, half that rate on a fixed schedule (operation k is due at k / rate seconds),
     open loop: 16 client threads take the next due operation, and its latency counts from when it was due,
     so a stall shows as latency instead of as fewer requests.

Every 10 s it samples the resident memory (VmRSS) of each server process, the operations done and failed
(an answer of 400 or above, or no answer) and the p50 / p99 latency of the window, and prints a table, then
one verdict per criterion:

  * memory: after the warm-up (the first fifth of the run), the mean of the last three samples of all the
    server processes together within 10 % of the mean of the first three after the warm-up;
  * errors: none;
  * p99: the p99 of the last third of the run at most 1.5 × the p99 of the middle third.

Usage:

    .venv/bin/python bench/soak.py                                  # 10 minutes, 2 processes
    .venv/bin/python bench/soak.py --minutes 2 --peak-seconds 15 --json soak.json

The schema is dropped and the server stopped afterwards, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
from http_load import Setup, free_port, wait_until_up
from kit import database

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
CLIENTS = 16
SAMPLE_SECONDS = 10.0
WARM_UP_SHARE = 0.2
MEMORY_TOLERANCE = 0.10
P99_TOLERANCE = 1.5
CUSTOMERS = 64


@dataclass(frozen=True)
class Sample:
    """One window of the soak: what the server processes held and how the operations fared."""

    at: float
    rss_mb: dict[int, float]
    done: int
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def total_rss_mb(self) -> float:
        return sum(self.rss_mb.values())


@dataclass
class Tally:
    """Operations finished since the last look: their latencies from when each was due, and failures."""

    latencies: list[float]
    errors: int
    lock: threading.Lock

    @classmethod
    def empty(cls) -> Tally:
        return cls([], 0, threading.Lock())

    def record(self, latency: float, failed: bool) -> None:
        with self.lock:
            self.latencies.append(latency)
            self.errors += failed

    def take(self) -> tuple[list[float], int]:
        with self.lock:
            taken = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--peak-seconds", type=float, default=30.0, help="length of the peak measurement (30)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--json", type=Path, help="write the peak, the rate and the samples to this file")
    args = parser.parse_args()
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, interrupted)
    with database("postgres", args.postgres_url, "bench_soak") as url:
        if url is None:
            print("PostgreSQL unreachable", file=sys.stderr)
            return 2
        with tempfile.TemporaryFile() as log:
            server, base = start_server(url, args.workers, log)
            try:
                return soak(base, server, args)
            finally:
                stop(server)
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                if tail.strip():
                    print(f"server log (tail):\n{tail}", file=sys.stderr)


def interrupted(signum: int, frame: object) -> NoReturn:
    """Ctrl-C or SIGTERM, even when started in the background with SIGINT ignored: unwind, so the server is stopped
    and the schema dropped."""
    raise KeyboardInterrupt


def soak(base: str, server: subprocess.Popen[bytes], args: argparse.Namespace) -> int:
    seconds = args.minutes * 60
    setup = Setup.make(base, total_orders=int(args.peak_seconds * 200), customers=CUSTOMERS)
    print(f"set up {len(setup.skus)} SKUs and {len(setup.customers)} customers", file=sys.stderr)
    peak_done, peak_errors = run_closed(base, setup, args.peak_seconds)
    peak = peak_done / args.peak_seconds
    rate = peak / 2
    print(f"peak: {peak:.1f} operations/s ({peak_errors} errors); soaking at {rate:.1f}/s", file=sys.stderr)
    stock(base, setup.skus, math.ceil(rate * seconds * 1.1 / len(setup.skus)) + 8)
    samples, windows = run_open(base, setup, server, rate, seconds, offset=peak_done + 1000)
    print_table(samples)
    verdicts = judge(samples, windows, seconds)
    for line in verdicts.values():
        print(line[1])
    if args.json:
        figures = {
            "workers": args.workers,
            "peak_per_second": peak,
            "rate_per_second": rate,
            "minutes": args.minutes,
            "samples": [asdict(sample) for sample in samples],
            "verdicts": {name: passed for name, (passed, _) in verdicts.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if all(passed for passed, _ in verdicts.values()) else 1


def start_server(url: str, workers: int, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    """`leasecore serve` in its own process group, so stopping it takes every worker with it."""
    leasecore = [sys.executable, "-m", "api.cli"]
    subprocess.run([*leasecore, "demo", "--database-url", url], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*leasecore, "serve", "--port", str(port), "--database-url", url, "--workers", str(workers)],
        env={**os.environ, "LEASECORE_LOG_LEVEL": "warning", "LEASECORE_CODES_PER_ADDRESS": "1000"},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
    except BaseException:
        stop(server)
        raise
    return server, base


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def stock(base: str, skus: list[str], per_sku: int) -> None:
    """More units on every SKU for the soak's orders, received in calls of 500 serials."""
    with httpx.Client(base_url=base, timeout=120) as http:
        login = http.post("/v1/admin/login", json={"username": "operator", "password": "leasecore-demo"})
        staff = {"Authorization": f"Bearer {login.raise_for_status().json()['token']}"}
        for index, sku_id in enumerate(skus):
            for start in range(0, per_sku, 500):
                serials = [f"S{index:02d}-{n:06d}" for n in range(start, min(per_sku, start + 500))]
                http.post(f"/v1/admin/skus/{sku_id}/units", json={"serials": serials}, headers=staff).raise_for_status()


def operate(http: httpx.Client, setup: Setup, n: int) -> bool:
    """Place order n and read it back after its position; True if both answered below 400."""
    placed = setup.place_order(http, n)
    if placed.status_code >= 400:
        return False
    headers = {**setup.customers[n % len(setup.customers)], "X-Read-After": placed.headers["X-Read-Position"]}
    read = http.get(f"/v1/orders/{placed.json()['id']}", headers=headers)
    return read.status_code < 400


def attempt(http: httpx.Client, setup: Setup, n: int) -> bool:
    try:
        return operate(http, setup, n)
    except (httpx.HTTPError, KeyError, ValueError):
        return False


def run_closed(base: str, setup: Setup, seconds: float) -> tuple[int, int]:
    """CLIENTS threads back to back for `seconds`: the operations done and failed."""
    counter = itertools.count()
    tally = Tally.empty()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                failed = not attempt(http, setup, next(counter))
                tally.record(time.perf_counter() - started, failed)

    run_threads(client)
    latencies, errors = tally.take()
    return len(latencies), errors


def run_open(
    base: str, setup: Setup, server: subprocess.Popen[bytes], rate: float, seconds: float, offset: int
) -> tuple[list[Sample], list[list[float]]]:
    """Operations due at a fixed rate for `seconds`, sampled every SAMPLE_SECONDS; the samples, and each
    window's latencies for the verdict on p99."""
    counter = itertools.count()
    tally = Tally.empty()
    started = time.perf_counter()
    total = int(rate * seconds)

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while (k := next(counter)) < total:
                due = started + k / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                failed = not attempt(http, setup, offset + k)
                tally.record(time.perf_counter() - due, failed)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    samples: list[Sample] = []
    windows: list[list[float]] = []
    while any(thread.is_alive() for thread in threads):
        time.sleep(max(0.0, started + (len(samples) + 1) * SAMPLE_SECONDS - time.perf_counter()))
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        latencies, errors = tally.take()
        samples.append(sample(time.perf_counter() - started, server.pid, latencies, errors))
        windows.append(latencies)
        print(f"  {samples[-1].at:6.0f} s: {describe(samples[-1])}", file=sys.stderr)
    return samples, windows


def run_threads(client: Any) -> None:
    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def sample(at: float, supervisor: int, latencies: list[float], errors: int) -> Sample:
    return Sample(
        at=round(at, 1),
        rss_mb={pid: resident_mb(pid) for pid in server_processes(supervisor)},
        done=len(latencies),
        errors=errors,
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
    )


def server_processes(supervisor: int) -> list[int]:
    """The processes serving requests: the supervisor's children (uvicorn's workers), or the supervisor itself
    when it serves alone; multiprocessing's resource tracker is left out."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == supervisor and b"resource_tracker" not in cmdline:
            children.append(int(entry.name))
    return sorted(children) or [supervisor]


def resident_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def describe(sample: Sample) -> str:
    memory = " + ".join(f"{mb:.0f}" for mb in sample.rss_mb.values())
    return (
        f"{sample.done / SAMPLE_SECONDS:6.1f} ops/s, {sample.errors} errors, p50 {sample.p50_ms:.0f} ms, "
        f"p99 {sample.p99_ms:.0f} ms, RSS {memory} MB"
    )


def print_table(samples: list[Sample]) -> None:
    print()
    print(f"{'at s':>6} {'done':>6} {'ops/s':>7} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'RSS MB (each)':>20}")
    for sample in samples:
        memory = " + ".join(f"{mb:.0f}" for mb in sample.rss_mb.values())
        print(
            f"{sample.at:>6.0f} {sample.done:>6} {sample.done / SAMPLE_SECONDS:>7.1f} {sample.errors:>6} "
            f"{sample.p50_ms:>7.0f} {sample.p99_ms:>7.0f} {memory:>20}"
        )


def judge(samples: list[Sample], windows: list[list[float]], seconds: float) -> dict[str, tuple[bool, str]]:
    """The three criteria, each with the figures it was decided on."""
    settled = [sample for sample in samples if sample.at > seconds * WARM_UP_SHARE]
    first = mean([sample.total_rss_mb for sample in settled[:3]])
    last = mean([sample.total_rss_mb for sample in settled[-3:]])
    growth = last / first - 1 if first else 0.0
    errors = sum(sample.errors for sample in samples)
    third = len(windows) // 3
    middle = percentile([latency for window in windows[third : 2 * third] for latency in window], 0.99)
    end = percentile([latency for window in windows[2 * third :] for latency in window], 0.99)
    return {
        "memory": (
            abs(growth) <= MEMORY_TOLERANCE,
            f"memory: {first:.0f} MB after warm-up ({seconds * WARM_UP_SHARE:.0f} s) → {last:.0f} MB at the end "
            f"({growth:+.1%}; within ±{MEMORY_TOLERANCE:.0%}: {'PASS' if abs(growth) <= MEMORY_TOLERANCE else 'FAIL'})",
        ),
        "errors": (errors == 0, f"errors: {errors} ({'PASS' if errors == 0 else 'FAIL'})"),
        "p99": (
            end <= middle * P99_TOLERANCE,
            f"p99: middle third {middle:.0f} ms, last third {end:.0f} ms "
            f"(last ≤ {P99_TOLERANCE}× middle: {'PASS' if end <= middle * P99_TOLERANCE else 'FAIL'})",
        ),
    }


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    sys.exit(main())

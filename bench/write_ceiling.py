"""The event store's write ceiling on PostgreSQL: save transactions with and without the table lock.

Every event gets its notification id in one global order, so the event store (eventsourcing-sqlalchemy's
PostgreSQL recorder, `api/eventstore.py`) takes `LOCK TABLE leasecore_events IN EXCLUSIVE MODE` in each save
transaction and holds it until the commit: saves from every process on every host run one at a time. This
measures what that costs with `pgbench` (PostgreSQL's own load client, so no Python is timed): in a fresh
schema, a table shaped like `leasecore_events`, and one transaction shaped like a placed order's save
(`--rows` rows of `--bytes` bytes of state in all, then NOTIFY, then COMMIT), at 1, 4 and 16 connections,
with the lock and without it, printing transactions per second and the mean latency.

    .venv/bin/python bench/write_ceiling.py
    .venv/bin/python bench/write_ceiling.py --seconds 10 --clients 1,8 --postgres-url postgresql://…

The schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from uuid import uuid4

import sqlalchemy
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
TABLE = """CREATE TABLE {schema}.events (
    id BIGSERIAL PRIMARY KEY,
    originator_id UUID NOT NULL,
    originator_version BIGINT NOT NULL,
    topic TEXT NOT NULL,
    state BYTEA NOT NULL,
    UNIQUE (originator_id, originator_version)
)"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--seconds", type=int, default=15, help="each run's length (default 15)")
    parser.add_argument("--clients", default="1,4,16", help="connections to compare (default 1,4,16)")
    parser.add_argument("--rows", type=int, default=4, help="rows a transaction inserts (an order: 4)")
    parser.add_argument("--bytes", type=int, default=4800, help="state bytes a transaction inserts (an order: ~4,800)")
    args = parser.parse_args()
    url = make_url(args.postgres_url)
    engine = sqlalchemy.create_engine(url)
    schema = f"bench_ceiling_{uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        connection.execute(sqlalchemy.text(TABLE.format(schema=schema)))
    try:
        rows = []
        for locked in (True, False):
            for clients in (int(n) for n in args.clients.split(",")):
                script = transaction(schema, locked, args.rows, args.bytes // args.rows)
                tps, latency = pgbench(url, script, clients, args.seconds)
                rows.append((locked, clients, tps, latency))
                print(f"  {'locked' if locked else 'unlocked'} at {clients}: {tps:.0f}/s", file=sys.stderr)
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    print()
    print(f"{'save transaction':<24} {'clients':>7} {'saves/s':>9} {'mean ms':>8}")
    for locked, clients, tps, latency in rows:
        label = "LOCK TABLE, insert" if locked else "insert, no lock"
        print(f"{label:<24} {clients:>7} {tps:>9.0f} {latency:>8.2f}")
    return 0


def transaction(schema: str, locked: bool, rows: int, size: int) -> str:
    lock = f"LOCK TABLE {schema}.events IN EXCLUSIVE MODE;\n" if locked else ""
    return (
        "BEGIN;\n"
        f"{lock}"
        f"INSERT INTO {schema}.events (originator_id, originator_version, topic, state) "
        f"SELECT gen_random_uuid(), 1, 'bench', convert_to(repeat('x', {size}), 'UTF8') "
        f"FROM generate_series(1, {rows}) RETURNING id;\n"
        f"NOTIFY {schema};\n"
        "COMMIT;\n"
    )


def pgbench(url: sqlalchemy.URL, script: str, clients: int, seconds: int) -> tuple[float, float]:
    """Transactions per second and mean latency in milliseconds of `script` at `clients` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        command = ["pgbench", "-n", "-f", file.name, "-c", str(clients), "-j", str(min(clients, 4))]
        command += ["-T", str(seconds), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
        command += ["-U", url.username or "postgres", url.database or "postgres"]
        env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    finally:
        Path(file.name).unlink()
    tps = re.search(r"tps = ([\d.]+)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    if tps is None or latency is None:
        raise RuntimeError(f"pgbench said:\n{output}")
    return float(tps.group(1)), float(latency.group(1))


if __name__ == "__main__":
    sys.exit(main())

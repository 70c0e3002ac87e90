"""The `leasecore` command line on SQLite and PostgreSQL: output, exit codes, one-line failures."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from uuid import UUID

import pytest

import projections.installments
from api.bootstrap import Platform, Settings, bootstrap, build_service
from api.cli import main
from api.http.security import verify_password
from leasecore.clock import SettableClock
from leasecore.credit.credit_line import CreditLine
from leasecore.money.deposit import Deposit
from leasecore.staff import Role
from tests.integration.test_projections import snapshot
from tests.support import START, World, build_world

LEASECORE = str(Path(sys.executable).parent / "leasecore")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class CliBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def seeded(self, database_url: str) -> Iterator[tuple[Platform, World]]:
        """A world built at START with a settable clock; the command line then runs on its own."""
        clock = SettableClock(START)
        platform = bootstrap(database_url, clock=clock)
        try:
            yield platform, build_world(platform.app, clock)
        finally:
            platform.close()

    def test_demo_seeds_and_leaves_every_read_model_caught_up(
        self, capsys: pytest.CaptureFixture[str], database_url: str
    ) -> None:
        code, out, _ = run(capsys, "demo", "--database-url", database_url)
        assert code == 0 and out.startswith("demo catalog: 10 categories, 7 products")
        code, out, _ = run(capsys, "projections", "status", "--database-url", database_url)
        lines = out.splitlines()
        assert code == 0 and lines[0].split() == ["projection", "position", "head", "lag"]
        assert {line.split()[0]: line.split()[3] for line in lines[1:]} == {
            name: "0"
            for name in (
                "orders",
                "installments",
                "credit_lines",
                "finance",
                "stock",
                "review_queue",
                "collection_tasks",
                "catalog",
                "refunds",
                "customers",
                "adjustments",
                "conversations",
                "staff",
                "auto_debits",
                "freezes",
            )
        }

    def test_create_user_reads_the_password_from_standard_input(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
        code, out, _ = run(
            capsys,
            "admin",
            "create-user",
            "alice",
            "--role",
            "risk",
            "--role",
            "finance",
            "--database-url",
            database_url,
        )
        assert code == 0 and out.startswith("operator alice saved with roles risk, finance")
        platform = bootstrap(database_url)
        try:
            account = platform.app.staff_account("alice")
        finally:
            platform.close()
        assert account.roles == (Role.RISK, Role.FINANCE)
        assert verify_password(account.password_hash, "correct horse battery")
        assert not verify_password(account.password_hash, "wrong")

    def test_a_short_password_is_refused_in_one_line(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
        code, out, err = run(capsys, "admin", "create-user", "bob", "--role", "admin", "--database-url", database_url)
        assert (code, out, err) == (1, "", "leasecore: a password has at least 8 characters\n")

    def test_audit_shows_an_orders_events_and_state_at_a_version(
        self, capsys: pytest.CaptureFixture[str], seeded: tuple[Platform, World], database_url: str
    ) -> None:
        platform, world = seeded
        order = platform.app.place_order(world.customer(), world.request())
        platform.app.pay_checkout(order, "chk", D("700.00"), world.clock.now())

        code, out, _ = run(capsys, "audit", str(order), "--json", "--database-url", database_url)
        document = json.loads(out)
        assert code == 0 and (document["aggregate_type"], document["version"]) == ("Lease", 3)
        assert [e["type"] for e in document["events"]] == [
            "Lease.OrderPlaced",
            "Lease.CheckoutPaid",
            "Lease.ReviewApproved",
        ]
        assert document["events"][1]["fields"]["amount"] == "700.00"
        assert document["as_of"] == "2026-01-31T02:00:00+00:00"
        assert document["state"]["status"] == "pending_contract"

        customer = platform.app.lease(order).customer_id
        deposit, line = Deposit.create_id(order), CreditLine.create_id(customer)
        assert document["related"][:3] == [
            {"aggregate_id": str(deposit), "kind": "deposit"},
            {"aggregate_id": str(line), "kind": "credit_line"},
            {"aggregate_id": str(customer), "kind": "customer"},
        ]

        code, out, _ = run(capsys, "audit", str(order), "--version", "1", "--database-url", database_url)
        assert code == 0 and out.startswith(
            f"Lease {order} at version 1, as of 2026-01-31T10:00:00+08:00 (Asia/Shanghai)"
        )
        assert "Lease.OrderPlaced" in out and "Lease.CheckoutPaid" not in out
        assert re.search(r"│ status +│ pending_payment +│", out)
        assert re.search(r"│ deposit +│ 3000.00 +│", out) and "…" not in out
        assert re.search(rf"│ {deposit} +│ deposit +│", out) and re.search(rf"│ {line} +│ credit_line +│", out)
        assert "2026-01-31T10:00:00+08:00" in out and "+00:00" not in out

        code, out, _ = run(
            capsys, "audit", str(order), "--at", "2026-01-31T10:00:00+08:00", "--json", "--database-url", database_url
        )
        assert code == 0 and json.loads(out)["version"] == 3

    def test_audit_of_an_unknown_id_fails_in_one_line(
        self, capsys: pytest.CaptureFixture[str], database_url: str
    ) -> None:
        code, out, err = run(capsys, "audit", str(UUID(int=7)), "--database-url", database_url)
        assert (code, out) == (1, "") and err == f"leasecore: aggregate {UUID(int=7)} not found\n"

    def test_rebuild_reports_progress_and_rate_and_rebuilds_the_same_tables(
        self, capsys: pytest.CaptureFixture[str], seeded: tuple[Platform, World], database_url: str
    ) -> None:
        platform, world = seeded
        world.leasing(world.customer())
        platform.runner.catch_up()
        before = snapshot(platform.views)
        code, out, err = run(capsys, "projections", "rebuild", "--batch-size", "7", "--database-url", database_url)
        assert code == 0 and out.startswith("rebuilt orders, installments, credit_lines, finance, stock")
        assert "notifications/s" in out and "100.0%" in err and "events/s" in err
        assert snapshot(platform.views) == before
        code, out, _ = run(capsys, "projections", "rebuild", "stock", "--database-url", database_url)
        assert code == 0 and out.startswith("rebuilt stock:")
        world.leasing(world.customer())
        code, out, _ = run(capsys, "projections", "catch-up", "--database-url", database_url)
        assert code == 0 and out.startswith(f"caught up to {platform.runner.head():,}: ")
        assert {status.lag for status in platform.runner.status()} == {0}

    def test_the_daily_job_assesses_a_late_installment_and_the_overdue_ledger_shows_it(
        self, capsys: pytest.CaptureFixture[str], seeded: tuple[Platform, World], database_url: str
    ) -> None:
        platform, world = seeded
        customer = world.customer()
        order = world.leasing(customer)  # installment 2 of 200.00 falls due on 28 February
        code, out, _ = run(capsys, "jobs", "daily", "--as-of", "2026-03-10", "--database-url", database_url)
        assert code == 0
        assert out.splitlines() == [
            "daily job as of 2026-03-10: looked at 1 order(s)",
            "cancelled after the unpaid timeout: 0",
            "assessed (overdue days, late fees): 1",
            f"    {order}",
            "collection stage changes: 1",
            f"    {order} → sms",
            "reminders queued: 1",
        ]
        assert projections.installments.overdue(platform.views) == [
            projections.installments.OverdueEntry(
                order, customer, 2, date(2026, 2, 28), 7, D("200.00"), D("1.40"), "sms"
            )
        ]

    def test_the_daily_job_runs_as_of_the_sandbox_clock_where_the_service_moved_it(
        self, capsys: pytest.CaptureFixture[str], seeded: tuple[Platform, World], database_url: str
    ) -> None:
        service = build_service(Settings(database_url=database_url))
        try:
            service.set_clock(datetime(2028, 1, 10, 4, 0, tzinfo=UTC))
        finally:
            service.close()
        code, out, _ = run(capsys, "jobs", "daily", "--database-url", database_url)
        assert code == 0 and out.startswith("daily job as of 2028-01-10:")

    def test_the_daily_job_needs_the_billing_document(
        self, capsys: pytest.CaptureFixture[str], database_url: str
    ) -> None:
        code, _, err = run(capsys, "jobs", "daily", "--database-url", database_url)
        assert (code, err) == (1, "leasecore: the billing document is not configured yet\n")


class TestOnSQLite(CliBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(CliBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


@pytest.mark.parametrize(
    "argv",
    [
        ["admin", "create-user", "carol", "--role", "boss"],
        ["admin", "create-user", "carol"],
        ["projections", "rebuild", "orders", "nonsense"],
        ["projections", "rebuild", "--batch-size", "0"],
        ["audit", "not-an-id"],
        ["audit", str(UUID(int=1)), "--version", "1", "--at", "2026-01-31T10:00:00+08:00"],
        ["audit", str(UUID(int=1)), "--at", "2026-01-31T10:00:00"],
        ["jobs", "daily", "--as-of", "2026-02-30"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], sqlite_url: str, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv, *(["--database-url", sqlite_url] if argv[:1] == ["audit"] else []))
    assert code == 2 and out == "" and "error:" in err


def test_serve_fails_in_one_line_before_listening(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "serve", "--port", "8080", "--database-url", "mysql://x")
    assert (code, out) == (1, "") and err.count("\n") == 1 and "unsupported database URL" in err


def test_an_unreachable_database_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "projections", "status", "--database-url", "postgresql+psycopg2://nobody@127.0.0.1:1/x"
    )
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert err.startswith("leasecore: database unreachable: connection to server at")


def test_an_unsupported_database_url_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "projections", "status", "--database-url", "mysql://x")
    assert code == 1 and err.startswith("leasecore: unsupported database URL 'mysql://x'")


def test_the_database_url_defaults_to_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("LEASECORE_DATABASE_URL", sqlite_url)
    assert run(capsys, "demo")[0] == 0
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_the_console_script_exits_0_2_and_1(sqlite_url: str) -> None:
    def leasecore(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LEASECORE, *argv], capture_output=True, text=True, timeout=120)

    status = leasecore("projections", "status", "--database-url", sqlite_url)
    assert status.returncode == 0 and status.stdout.startswith("projection")
    assert leasecore("audit", "nonsense", "--database-url", sqlite_url).returncode == 2
    failed = leasecore("audit", str(UUID(int=3)), "--database-url", sqlite_url)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr


def test_serve_on_a_busy_port_fails_in_one_line(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port), "--database-url", sqlite_url)
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert err.startswith(f"leasecore: cannot serve on 127.0.0.1:{port}: ") and "in use" in err

"""The `leasecore` command line: demo, admin, audit, projections, jobs, payments, reconcile, logistics, serve,
backup and restore.

Exit status 0 on success, 2 on bad arguments, 1 on any other failure with a one-line reason
on standard error (LEASECORE_DEBUG=1 shows the traceback instead).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import logging.config
import os
import re
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy.exc
from eventsourcing.persistence import InterfaceError, OperationalError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.backup import back_up, restore
from api.bootstrap import (
    Platform,
    Service,
    Settings,
    bootstrap,
    build_service,
    business_clock,
    database_url,
    freeze_startup_objects,
)
from api.demo import seed_demo, walk_through
from api.http.auth import Tokens
from api.http.security import hash_password, verify_password
from api.privacy import erase_customer, erasures, seal_everything
from api.processes.janitor import Sweep
from api.processes.parcels import ParcelSweep
from api.processes.reconciliation import ReconciliationRun, UnknownProvider
from api.replays import jsonable, related_to, replay_document
from api.store import ApiStore
from leasecore.application import DailyReport, LeaseApplication
from leasecore.application.base import DEFAULT_TIMEZONE
from leasecore.audit import Related, Replay, replay
from leasecore.clock import SystemClock
from leasecore.errors import LeaseError, NotFound, Refused
from leasecore.ports import Clock
from leasecore.staff import Role
from projections import read_models
from projections.runner import Progress
from projections.store import ViewStore

__all__ = ["database_url", "main"]

UNREACHABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, OperationalError, InterfaceError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 2
    try:
        result: int = args.run(args)
        return result
    except UsageError as error:
        print(f"leasecore: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leasecore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if os.environ.get("LEASECORE_DEBUG") == "1":
            raise
        print(f"leasecore: {_reason(error)}", file=sys.stderr)
        return 1


class UsageError(Exception):
    """Arguments that parse but cannot be used together (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        help="sqlite:///path, postgresql+psycopg2://… or memory: (default LEASECORE_DATABASE_URL, else ./leasecore.db)",
    )
    parser = argparse.ArgumentParser(prog="leasecore", description="The credit rental platform.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", parents=[common], help="seed the demo catalog and configuration (idempotent)")
    demo.add_argument("--walk", action="store_true", help="then walk one order through, step by step")
    demo.set_defaults(run=_demo)

    admin = commands.add_parser("admin", help="back-office accounts")
    admin_actions = admin.add_subparsers(dest="action", required=True)
    create_user = admin_actions.add_parser(
        "create-user", parents=[common], help="create or change an account; the password is read from stdin"
    )
    create_user.add_argument("name")
    create_user.add_argument(
        "--role", dest="roles", action="append", required=True, choices=[role.value for role in Role]
    )
    create_user.set_defaults(run=_create_user)
    erase = admin_actions.add_parser(
        "erase-customer",
        parents=[common],
        help="erase a customer's personal data (PIPL): refused while an order of theirs is open",
    )
    erase.add_argument("ids", nargs="+", type=_uuid, metavar="ID", help="the customer's id (several: each in turn)")
    erase.add_argument("--reason", default="customer's request", help="why (never the personal data itself)")
    erase.add_argument("--by", default="cli", help="who asked for it (a staff username)")
    erase.set_defaults(run=_erase_customer)
    journal = admin_actions.add_parser(
        "erasures",
        parents=[common],
        help="every erasure made, oldest first: keep this list outside the database, re-erase after a restore",
    )
    journal.add_argument("--json", action="store_true", help="print JSON instead of lines")
    journal.set_defaults(run=_erasures)
    seal = admin_actions.add_parser(
        "seal-personal-data",
        parents=[common],
        help="seal the personal fields that code older than sealing stored plain (run once after upgrading)",
    )
    seal.set_defaults(run=_seal_personal_data)

    audit = commands.add_parser("audit", parents=[common], help="an aggregate's events and its replayed state")
    audit.add_argument("id", type=_uuid, help="the aggregate's id (an order's id is its lease's)")
    when = audit.add_mutually_exclusive_group()
    when.add_argument("--version", type=_positive, help="replay up to this version")
    when.add_argument("--at", type=_instant, help="replay as it stood at this instant (RFC 3339, with offset)")
    audit.add_argument("--json", action="store_true", help="print JSON instead of a table")
    audit.set_defaults(run=_audit)

    projections = commands.add_parser("projections", help="read models")
    projection_actions = projections.add_subparsers(dest="action", required=True)
    rebuild = projection_actions.add_parser(
        "rebuild", parents=[common], help="drop read models and rebuild them from the event store"
    )
    rebuild.add_argument("names", nargs="*", type=_projection, metavar="NAME", help="which ones (default all)")
    rebuild.add_argument(
        "--batch-size",
        type=_positive,
        help="events per transaction (default all: written once at the end, or whenever a table holds 10,000 keys)",
    )
    rebuild.set_defaults(run=_rebuild)
    status = projection_actions.add_parser("status", parents=[common], help="each read model's position and lag")
    status.set_defaults(run=_status)
    catch_up = projection_actions.add_parser(
        "catch-up", parents=[common], help="apply what the read models have not seen yet (after a killed rebuild)"
    )
    catch_up.set_defaults(run=_catch_up)

    jobs = commands.add_parser("jobs", help="scheduled jobs")
    job_actions = jobs.add_subparsers(dest="action", required=True)
    daily = job_actions.add_parser(
        "daily", parents=[common], help="overdue, late fees, collections, reminders and unpaid-order timeouts"
    )
    daily.add_argument("--as-of", type=_date, help="the day to assess (default today in the billing timezone)")
    daily.set_defaults(run=_daily)

    payments = commands.add_parser("payments", help="payments through the providers")
    payment_actions = payments.add_subparsers(dest="action", required=True)
    sweep = payment_actions.add_parser(
        "sweep", parents=[common], help="ask the providers about the payments due a check (lost notifications), once"
    )
    sweep.set_defaults(run=_sweep_payments)

    reconcile = commands.add_parser(
        "reconcile", parents=[common], help="set the providers' bills of a day against the records (again)"
    )
    reconcile.add_argument("--date", type=_date, required=True, help="the providers' day (Beijing time), YYYY-MM-DD")
    reconcile.add_argument("--provider", help="one configured payment provider (default each that makes bills)")
    reconcile.set_defaults(run=_reconcile)
    logistics = commands.add_parser("logistics", help="parcels through the tracking service")
    logistics_actions = logistics.add_subparsers(dest="action", required=True)
    parcels = logistics_actions.add_parser(
        "sweep",
        parents=[common],
        help="subscribe shipped parcels not subscribed yet, and ask about those out too long (lost pushes), once",
    )
    parcels.set_defaults(run=_sweep_parcels)

    backup = commands.add_parser(
        "backup", parents=[common], help="copy the database (events, read models, api tables) while the service runs"
    )
    backup.add_argument("--to", dest="target", type=Path, required=True, help="the new backup file")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser(
        "restore", parents=[common], help="restore a backup into an empty database (then: projections rebuild)"
    )
    restore.add_argument("--from", dest="source", type=Path, required=True, help="the backup file")
    restore.set_defaults(run=_restore)

    serve = commands.add_parser("serve", parents=[common], help="the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_positive, default=8000)
    serve.add_argument(
        "--workers", type=_positive, default=1, help="service processes sharing the port (PostgreSQL only; default 1)"
    )
    serve.set_defaults(run=_serve)
    return parser


# Commands.


def _demo(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        seeded = seed_demo(platform.app)
        print(
            f"demo catalog: {len(seeded.categories)} categories, {len(seeded.products)} products, "
            f"{len(seeded.skus)} SKUs, {seeded.units_received} new units"
        )
        print("configuration: " + ", ".join(f"{name} v{v}" for name, v in seeded.documents.items()))
        made = demo_accounts(platform.app)
        names = ", ".join(f"{name} ({', '.join(role.value for role in roles)})" for name, roles in DEMO_ACCOUNTS)
        print(f"demo staff accounts ({made} new): {names}; password {DEMO_PASSWORD}")
        if args.walk:
            for step, line in enumerate(walk_through(platform.app), 1):
                print(f"{step:>2}. {line}")
        platform.runner.catch_up()
    return 0


DEMO_PASSWORD = "leasecore-demo"
REBUILD_PAGE = 2000
"""Events a rebuild reads from the log at a time, unless `--batch-size` makes its transactions smaller."""
DEMO_ACCOUNTS: tuple[tuple[str, tuple[Role, ...]], ...] = (
    ("admin", (Role.ADMIN,)),
    ("operator", (Role.OPERATOR,)),
    ("risk", (Role.RISK,)),
    ("finance", (Role.FINANCE,)),
)


def demo_accounts(app: LeaseApplication) -> int:
    """The demo staff accounts, one per role with the demo password; an account already so is left alone."""
    made = 0
    for name, roles in DEMO_ACCOUNTS:
        try:
            account = app.staff_account(name)
            if tuple(account.roles) == roles and verify_password(account.password_hash, DEMO_PASSWORD):
                continue
        except NotFound:
            pass
        app.save_staff_account(name, roles, hash_password(DEMO_PASSWORD))
        made += 1
    return made


def _create_user(args: argparse.Namespace) -> int:
    password = _read_password()
    password_hash = hash_password(password)
    roles = tuple(Role(role) for role in dict.fromkeys(args.roles))
    with _platform(args) as platform:
        operator_id = platform.app.save_staff_account(args.name, roles, password_hash)
    print(f"operator {args.name} saved with roles {', '.join(role.value for role in roles)} ({operator_id})")
    return 0


def _erase_customer(args: argparse.Namespace) -> int:
    refused = 0
    with _platform(args) as platform:
        platform.runner.catch_up()
        store = ApiStore(platform.views)
        store.setup()
        policy = Settings.from_env(database_url=database_url(args.database_url)).auth_policy()
        tokens = Tokens("", SystemClock(), policy, store)
        for customer_id in args.ids:
            try:
                erasure = erase_customer(platform.app, platform.views, store, customer_id, args.by, args.reason, tokens)
            except LeaseError as error:
                print(f"customer {customer_id} not erased: {error}", file=sys.stderr)
                refused += 1
                continue
            platform.runner.catch_up()
            print(
                f"customer {erasure.customer_id}: personal data erased at {erasure.erased_at.isoformat()} by"
                f" {erasure.by}; {len(erasure.orders)} order(s) and {len(erasure.conversations)} conversation(s) now"
                f" read \"erased\", {erasure.keys_deleted} key(s) deleted"
            )
    return 1 if refused else 0


def _erasures(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        made = erasures(platform.app)
    if args.json:
        rows = [
            {"customer_id": str(e.originator_id), "erased_at": e.timestamp.isoformat(), "by": e.by, "reason": e.reason}
            for e in made
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for e in made:
            print(f"{e.originator_id} {e.timestamp.isoformat()} {e.by} {e.reason}")
    return 0


def _seal_personal_data(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        events, snapshots = seal_everything(platform.app)
    print(f"sealed the personal fields of {events} event(s) and {snapshots} snapshot(s) stored plain")
    return 0


def _audit(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        found = replay(platform.app, args.id, version=args.version, at=args.at)
        platform.runner.catch_up()
        related = related_to(platform.app, platform.views, found)
        zone = _billing_zone(platform.app)
    if args.json:
        print(json.dumps(replay_document(found, related), indent=2, ensure_ascii=False))
    else:
        _print_replay(found, related, zone, sys.stdout)
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    with _platform(args, batch_size=args.batch_size or REBUILD_PAGE) as platform:
        report = platform.runner.rebuild(args.names or None, progress=_progress_bar(sys.stderr), chunk=args.batch_size)
    events_rate = report.events / report.seconds if report.seconds > 0 else float(report.events)
    print(
        f"rebuilt {', '.join(report.names)}: {report.events:,} events of {report.head:,} notifications "
        f"in {report.seconds:.1f} s ({report.rate:,.0f} notifications/s, {events_rate:,.0f} events/s)"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        rows = [(s.name, f"{s.position:,}", f"{s.head:,}", f"{s.lag:,}") for s in platform.runner.status()]
    _print_table(("projection", "position", "head", "lag"), rows, sys.stdout)
    return 0


def _catch_up(args: argparse.Namespace) -> int:
    with _platform(args) as platform:
        started = time.perf_counter()
        applied = platform.runner.catch_up(progress=_progress_bar(sys.stderr))
        head = platform.runner.head()
    print(f"caught up to {head:,}: {applied:,} events applied in {time.perf_counter() - started:.1f} s")
    return 0


def _daily(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    views = ViewStore.for_database(url)
    try:
        clock = business_clock(Settings.from_env(database_url=url), views)
    finally:
        views.close()
    with _platform(args, clock=clock) as platform:
        platform.runner.catch_up()
        report = platform.app.run_daily(args.as_of)
        platform.runner.catch_up()
    _print_daily(report, sys.stdout)
    return 0


@contextmanager
def _configured_service(args: argparse.Namespace) -> Iterator[Service]:
    """The service with the configured providers, as `serve` builds it, closed after the command."""
    service = build_service(Settings.from_env(database_url=database_url(args.database_url)))
    try:
        yield service
    finally:
        service.close()


def _sweep_payments(args: argparse.Namespace) -> int:
    """The janitor's sweep by hand, with the configured providers; exit status 1 when a provider failed to answer."""
    with _configured_service(args) as service:
        service.platform.runner.catch_up()
        sweep = service.janitor.sweep()
        service.platform.runner.catch_up()
    _print_sweep(sweep, sys.stdout)
    return 1 if sweep.errors else 0


def _reconcile(args: argparse.Namespace) -> int:
    """The day reconciled again with the configured providers, replacing what was kept; exit status 1 when the
    bills and the records differ or a bill could not be had."""
    with _configured_service(args) as service:
        reconciler = service.reconciler
        assert reconciler is not None
        if args.date > reconciler.last_day():
            raise UsageError(
                f"the bills of {args.date} are made once the day is over: {reconciler.last_day()} at the latest"
            )
        try:
            service.platform.runner.catch_up()
            runs = reconciler.run(args.date, args.provider)
        except UnknownProvider as error:
            raise UsageError(str(error)) from None
    _print_reconciliation(runs, sys.stdout)
    return 1 if any(run.state != "done" or run.differences for run in runs) else 0


def _sweep_parcels(args: argparse.Namespace) -> int:
    """The parcel watcher's sweep by hand, with the configured tracking service; exit status 1 when it failed."""
    with _configured_service(args) as service:
        service.platform.runner.catch_up()
        sweep = service.parcels.sweep()
        service.platform.runner.catch_up()
    _print_parcel_sweep(sweep, sys.stdout)
    return 1 if sweep.errors else 0


def _backup(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    made = back_up(url, args.target)
    print(
        f"backed up {_safe_url(url)} to {made.path} ({made.size:,} bytes): "
        f"{made.events:,} events, the last notification {made.last_notification_id:,}"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    restored = restore(args.source, url)
    print(
        f"restored {restored.path} into {_safe_url(url)}: {restored.events:,} events, "
        f"the last notification {restored.last_notification_id:,}; now run `leasecore projections rebuild`"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.http.app import create_app, serve_workers, serving_options
    from api.logs import log_format, logging_config

    base = f"http://{_url_host(args.host)}:{args.port}"
    settings = Settings.from_env(database_url=database_url(args.database_url), public_url=base)
    if args.workers > 1 and not settings.database_url.startswith("postgresql"):
        raise UsageError("--workers above 1 needs PostgreSQL (--database-url postgresql+psycopg2://…)")
    _check_port_free(args.host, args.port)
    log_level = os.environ.get("LEASECORE_LOG_LEVEL", "info")
    logs = logging_config(log_format(os.environ, production=not settings.sandbox), log_level)
    logging.config.dictConfig(logs)
    service = build_service(settings)
    try:
        applied = service.platform.runner.catch_up()
        app = create_app(service, manage=True) if args.workers == 1 else None
    except BaseException:
        service.close()
        raise
    print(f"leasecore {settings.mode} mode on {_safe_url(settings.database_url)} ({applied:,} events caught up)")
    print(f"serving {base}  docs {base}/docs  OpenAPI {base}/openapi.json  ({args.workers} process(es))")
    print(f"back office {base}/admin/ (staff log in with their accounts)")
    if settings.sandbox:
        print(f"sandbox routes under {base}/v1/sandbox/; demo staff: admin / {DEMO_PASSWORD} (see `leasecore demo`)")
    sys.stdout.flush()
    if app is not None:
        freeze_startup_objects()
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=log_level,
            log_config=logs,
            access_log=False,
            **serving_options(settings),
        )
        return 0
    service.close()
    os.environ.update(LEASECORE_DATABASE_URL=settings.database_url, LEASECORE_PUBLIC_URL=base)
    config = uvicorn.Config(
        "api.http.app:service_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=log_level,
        log_config=logs,
        access_log=False,
        **serving_options(settings),
    )
    serve_workers(config)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Refuse at once, in one line, to serve on a port another program already listens on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(
                f"cannot serve on {host}:{port}: {error.strerror or error} (is another server there?)"
            ) from None


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


# Arguments.


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}") from None


def _projection(name: str) -> str:
    known = [projection.name for projection in read_models()]
    if name not in known:
        raise argparse.ArgumentTypeError(f"no projection named {name!r} (choose from {', '.join(known)})")
    return name


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 instant: {text!r}") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give {text!r} with its UTC offset, e.g. 2026-01-31T10:00:00+08:00")
    return instant


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("no password on standard input")
    return password


# Output.


@contextmanager
def _platform(args: argparse.Namespace, batch_size: int = 500, clock: Clock | None = None) -> Iterator[Platform]:
    platform = bootstrap(database_url(args.database_url), batch_size=batch_size, clock=clock)
    try:
        yield platform
    finally:
        platform.close()


def _progress_bar(stream: TextIO, width: int = 30) -> Progress:
    started = last = time.perf_counter()
    interactive = stream.isatty()

    def show(position: int, head: int, applied: int) -> None:
        nonlocal last
        now = time.perf_counter()
        done = position >= head
        if not done and now - last < (0.1 if interactive else 2.0):
            return
        last = now
        fraction = position / head if head else 1.0
        filled = int(width * fraction)
        rate = applied / (now - started) if now > started else 0.0
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} {position:,}/{head:,} "
            f"{applied:,} events {rate:,.0f} events/s"
        )
        stream.write(("\r" + line if interactive else line + "\n") + ("\n" if done and interactive else ""))
        stream.flush()

    return show


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]], stream: TextIO) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for line in (header, *rows):
        stream.write("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip())
        stream.write("\n")


AUDIT_WIDTH = 160
"""Characters a line of `leasecore audit` takes when it is not written to a terminal (which says its own width)."""


def _billing_zone(app: LeaseApplication) -> ZoneInfo:
    """The billing document's timezone (Asia/Shanghai until it is configured)."""
    try:
        return ZoneInfo(app.billing_policy().timezone)
    except Refused:
        return ZoneInfo(DEFAULT_TIMEZONE)


def _print_replay(found: Replay, related: Sequence[Related], zone: ZoneInfo, stream: TextIO) -> None:
    """The replay as tables drawn by `rich`: its events, each event's fields, its state and the aggregates it
    relates to; every value whole (money as its decimal digits), every instant in the billing timezone."""
    console = Console(file=stream, width=None if stream.isatty() else AUDIT_WIDTH, highlight=False, emoji=False)
    console.print(
        Text(
            f"{found.aggregate_type} {found.aggregate_id} at version {found.version}, "
            f"as of {_local(found.as_of, zone)} ({zone.key})"
        )
    )
    events = _rich_table("events", ("version", "time", "event"))
    for recorded in found.events:
        events.add_row(Text(str(recorded.version)), Text(_local(recorded.timestamp, zone)), Text(recorded.type))
    console.print(events)
    for recorded in found.events:
        console.print(_values(f"{recorded.version} {recorded.type}", recorded.fields, zone))
    console.print(_values("state", found.state, zone))
    links = _rich_table("related", ("aggregate_id", "kind"))
    for item in related:
        links.add_row(Text(str(item.aggregate_id)), Text(item.kind))
    console.print(links)


def _rich_table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _values(title: str, values: dict[str, Any], zone: ZoneInfo) -> Table:
    table = _rich_table(title, ("name", "value"))
    for name, value in values.items():
        shown = _plain(value, zone)
        table.add_row(Text(name), Text(shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)))
    return table


def _plain(value: Any, zone: ZoneInfo) -> Any:
    """A value as JSON would hold it, with instants in `zone` and money as its decimal digits (never an exponent)."""
    if isinstance(value, datetime):
        return _local(value, zone)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(_plain(key, zone)): _plain(item, zone) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, zone) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name), zone) for field in dataclasses.fields(value)}
    return jsonable(value)


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def _print_daily(report: DailyReport, stream: TextIO) -> None:
    stream.write(f"daily job as of {report.as_of.isoformat()}: looked at {report.looked_at} order(s)\n")
    stream.write(f"cancelled after the unpaid timeout: {len(report.cancelled)}\n")
    for order_id in report.cancelled:
        stream.write(f"    {order_id}\n")
    stream.write(f"assessed (overdue days, late fees): {len(report.assessed)}\n")
    for order_id in report.assessed:
        stream.write(f"    {order_id}\n")
    stream.write(f"collection stage changes: {len(report.stage_changes)}\n")
    for order_id, stage in report.stage_changes:
        stream.write(f"    {order_id} → {stage or 'none'}\n")
    stream.write(f"reminders queued: {len(report.reminders)}\n")


def _print_sweep(sweep: Sweep, stream: TextIO) -> None:
    stream.write(
        f"asked the providers about {sweep.asked} pending payment(s): {len(sweep.succeeded)} paid, "
        f"{len(sweep.failed)} closed, {sweep.still_pending} still pending, {len(sweep.errors)} unanswered\n"
    )
    for payment_id in sweep.succeeded:
        stream.write(f"    {'paid':<10} {payment_id}\n")
    for payment_id in sweep.failed:
        stream.write(f"    {'closed':<10} {payment_id}\n")
    for payment_id, reason in sweep.errors.items():
        stream.write(f"    {'unanswered':<10} {payment_id}: {reason}\n")


def _print_reconciliation(runs: Sequence[ReconciliationRun], stream: TextIO) -> None:
    for run in runs:
        if run.state != "done":
            stream.write(f"{run.provider} {run.day}: no bill: {run.detail}\n")
            continue
        stream.write(f"{run.provider} {run.day}: {run.compared} compared, {len(run.differences)} difference(s)\n")
        for found in run.differences:
            platform = f"{found.platform_amount} {found.platform_status.value}" if found.platform_status else "none"
            provider = found.provider_amount if found.provider_amount is not None else "none"
            trade = f" ({found.provider_reference})" if found.provider_reference else ""
            stream.write(
                f"    {found.kind.value:<20} {found.record_kind.value:<8} {found.reference}{trade}: "
                f"platform {platform}, provider {provider}\n"
            )
def _print_parcel_sweep(sweep: ParcelSweep, stream: TextIO) -> None:
    stream.write(
        f"subscribed {len(sweep.subscribed)} parcel(s); asked about {len(sweep.asked)} out too long: "
        f"{len(sweep.delivered)} delivered (receipt confirmed), {len(sweep.errors)} failed\n"
    )
    for order_id in sweep.subscribed:
        stream.write(f"    {'subscribed':<10} {order_id}\n")
    for order_id in sweep.delivered:
        stream.write(f"    {'delivered':<10} {order_id}\n")
    for order_id, reason in sweep.errors.items():
        stream.write(f"    {'failed':<10} {order_id}: {reason}\n")


def _reason(error: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.orig is not None:
        detail = str(error.orig)
    else:
        detail = str(error) or type(error).__name__
    detail = " ".join(detail.split())
    if isinstance(error, UNREACHABLE):
        return f"database unreachable: {detail}"
    return detail


if __name__ == "__main__":
    sys.exit(main())

"""How fast the read models rebuild, beside how fast the notification log can merely be read.

Seeds at least N events (default 200,000) through the application with realistic lifecycles:
customers arrive every day and order long- or short-term leases; most pay on time, some late
(the daily job assesses late fees and collection stages), some are reviewed by hand, rejected or
cancelled or time out unpaid; at term end leases are returned (some damaged), renewed, bought
out or swapped. Then, in one run on the same store, it times:

  * reading the whole log with `select_notifications` (pages of 500), with and without
    turning each notification into a domain event,
  * a raw SQL `SELECT` of the same rows,
  * a full rebuild of every read model (drop, reset, catch up), and optionally each one alone,

and prints the rates with their ratios. Usage (see bench/README.md):

    python bench/rebuild.py [--events 200000] [--database-url sqlite:///bench-rebuild.db]
                               [--reuse] [--each] [--batch-size 500,2000]

A SQLite file is replaced unless --reuse; a PostgreSQL database must be empty unless --reuse
(point it at a schema of its own with `?options=-csearch_path%3Dbench`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy

from api.bootstrap import Platform, bootstrap
from api.demo import seed_demo
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, Sku, TermPrice
from leasecore.clock import SettableClock
from leasecore.credit.customer import IdentityCheck
from leasecore.errors import LeaseError
from leasecore.lease import LeaseStatus
from leasecore.lease.quote import OrderRequest
from leasecore.values import Address, DepositMode, LongTerm, ShortTerm, derived_id

SHANGHAI = timezone(timedelta(hours=8))
FIRST_DAY = date(2024, 1, 1)
PAGE = 500
D = Decimal

Action = Callable[[], None]


@dataclass
class Simulation:
    """A day-by-day timeline of customers and their leases, driven through the application."""

    platform: Platform
    clock: SettableClock
    rng: random.Random
    skus: list[UUID]
    arrivals_per_day: int
    agenda: dict[date, list[Action]] = field(default_factory=lambda: defaultdict(list))
    customers: list[UUID] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    day: date = FIRST_DAY

    @property
    def app(self) -> Any:
        return self.platform.app

    def run_until(self, events: int, report: Callable[[Simulation], None]) -> None:
        while (self.app.recorder.max_notification_id() or 0) < events:
            self.clock.set(datetime.combine(self.day, datetime.min.time(), SHANGHAI) + timedelta(hours=9))
            for _ in range(self.arrivals_per_day):
                self.do(self.arrive)
            for action in self.agenda.pop(self.day, []):
                self.do(action)
            self.clock.advance(timedelta(hours=12))
            self.platform.runner.catch_up()
            self.do(lambda: self.app.run_daily(self.day))
            report(self)
            self.day += timedelta(days=1)

    def do(self, action: Action) -> None:
        self.clock.advance(timedelta(seconds=7))
        try:
            action()
        except LeaseError as error:
            self.outcomes[f"refused: {type(error).__name__}"] += 1

    def later(self, days: int, action: Action) -> None:
        self.agenda[self.day + timedelta(days=max(1, days))].append(action)

    # A customer arrives and orders.

    def arrive(self) -> None:
        rng, app = self.rng, self.app
        if self.customers and rng.random() < 0.2:
            customer = rng.choice(self.customers)
        else:
            customer = app.register_customer(f"1{rng.randrange(10**10):010d}")
            app.record_identity(customer, IdentityCheck("Bench Customer", "11010519491231002X", True))
            app.grant_credit(customer, rng.choice((580, 640, 700, 720, 780, 820)), "bureau", {})
            self.customers.append(customer)
        short = rng.random() < 0.2
        today = self.day
        plan: LongTerm | ShortTerm
        if short:
            start = today + timedelta(days=rng.randrange(1, 5))
            plan = ShortTerm(start, start + timedelta(days=rng.randrange(3, 20)))
        else:
            plan = LongTerm(rng.choice((6, 6, 12)))
        mode = DepositMode.WAIVER if rng.random() < 0.75 else DepositMode.FULL
        request = OrderRequest(
            rng.choice(self.skus),
            1,
            plan,
            rng.random() < 0.4,
            mode,
            rng.choice(("app", "h5", "alipay_mini", "wechat_mini")),
            Address("Bench Customer", "13800000000", "1 Bench Road, Shanghai"),
        )
        order = app.place_order(customer, request)
        roll = rng.random()
        if roll < 0.04:
            self.outcomes["left unpaid"] += 1
            return
        lease = app.lease(order)
        app.pay_checkout(order, f"checkout-{order}", lease.due_now, self.clock.now())
        if roll < 0.07:
            self.later(1, lambda: app.cancel(order, "changed my mind"))
            self.outcomes["cancelled"] += 1
            return
        if app.lease(order).status is LeaseStatus.PENDING_REVIEW:
            self.later(1, lambda: self.review(order))
        else:
            self.later(1, lambda: self.sign_and_ship(order))

    def review(self, order: UUID) -> None:
        if self.rng.random() < 0.3:
            self.app.reject(order, "risk-bench", "income not verifiable")
            self.outcomes["rejected"] += 1
            return
        self.app.approve(order, "risk-bench", "verified by phone")
        self.later(1, lambda: self.sign_and_ship(order))

    def sign_and_ship(self, order: UUID) -> None:
        app = self.app
        app.record_contract(order, f"contract-{order}")
        serials = app.units_held(order)
        app.ship(order, list(serials), "SF Express", f"SF{order.int % 10**12}")
        self.later(2, lambda: self.deliver(order))

    def deliver(self, order: UUID) -> None:
        app = self.app
        app.confirm_receipt(order)
        lease = app.lease(order)
        if lease.terms.is_long:
            self.schedule_rent(order, 2)
        else:
            assert lease.ends_on is not None
            late = self.rng.random() < 0.1
            self.later(
                (lease.ends_on - self.day).days + (self.rng.randrange(1, 4) if late else 0), self.ship_back(order)
            )

    # Rent and the end of the term.

    def schedule_rent(self, order: UUID, seq: int) -> None:
        lease = self.app.lease(order)
        if seq > len(lease.schedule):
            assert lease.ends_on is not None
            self.later((lease.ends_on - self.day).days - 3, lambda: self.end_of_term(order))
            return
        due = lease.schedule[seq - 1].due_date
        delay = self.rng.choice((5, 12, 20, 40)) if self.rng.random() < 0.15 else 0
        self.later((due - self.day).days + delay, lambda: self.pay_rent(order, seq))

    def pay_rent(self, order: UUID, seq: int) -> None:
        app = self.app
        lease = app.lease(order)
        if lease.status is not LeaseStatus.LEASING:
            return
        if seq > 3 and self.rng.random() < 0.02:
            _, to_pay = app.buyout_quote(order)
            app.buy_out(order, f"buyout-{order}", to_pay, self.clock.now())
            self.outcomes["bought out early"] += 1
            return
        owed = lease.owed_by(self.clock.now())
        if owed > 0:
            app.pay_installments(order, f"rent-{order}-{seq}", owed, self.clock.now())
        self.schedule_rent(order, seq + 1)

    def end_of_term(self, order: UUID) -> None:
        app, roll = self.app, self.rng.random()
        lease = app.lease(order)
        owed = lease.owed(self.clock.now())
        if owed > 0:
            app.pay_installments(order, f"final-{order}-{lease.version}", owed, self.clock.now())
        if roll < 0.15 and lease.months < 18:
            app.renew(order, 3)
            self.outcomes["renewed"] += 1
            self.schedule_rent(order, len(app.lease(order).schedule) - 2)
        elif roll < 0.30:
            _, to_pay = app.buyout_quote(order)
            app.buy_out(order, f"buyout-{order}", to_pay, self.clock.now())
            self.outcomes["bought out"] += 1
        elif roll < 0.40:
            new_order = app.swap(order, self.rng.choice(self.skus), f"SWAP{order.int % 10**10}")
            self.outcomes["swapped"] += 1
            self.later(3, lambda: self.back_at_warehouse(order))
            self.later(1, lambda: self.pay_swapped(new_order))
        else:
            self.ship_back(order)()

    def pay_swapped(self, order: UUID) -> None:
        app = self.app
        app.pay_checkout(order, f"checkout-{order}", app.lease(order).due_now, self.clock.now())
        if app.lease(order).status is LeaseStatus.PENDING_REVIEW:
            app.approve(order, "risk-bench", "swap")
        self.later(1, lambda: self.sign_and_ship(order))

    def ship_back(self, order: UUID) -> Action:
        def act() -> None:
            self.app.request_return(order, f"BACK{order.int % 10**10}")
            self.later(3, lambda: self.back_at_warehouse(order))

        return act

    def back_at_warehouse(self, order: UUID) -> None:
        app = self.app
        app.record_return(order)
        damage = D(self.rng.choice((0, 0, 0, 0, 150, 400, 2500)))
        app.complete_inspection(order, damage, "bench inspection")
        lease = app.lease(order)
        if lease.status is LeaseStatus.PENDING_SETTLEMENT:
            app.pay_balance(order, f"damage-{order}", lease.owed(self.clock.now()), self.clock.now())
        self.outcomes["returned"] += 1


def bench_catalog(app: Any, units_per_sku: int) -> list[UUID]:
    """Twelve bench phones with two SKUs each, every SKU stocked with `units_per_sku` units."""
    category = seed_demo(app).categories["Phones"]
    skus = []
    for n in range(12):
        product_id = derived_id("bench", "product", str(n))
        try:
            app.product(product_id)
            skus.extend(app.product(product_id).skus)
            continue
        except LeaseError:
            pass
        built = [
            Sku(
                id=derived_id("bench", "sku", str(n), str(k)),
                specs={"storage": f"{128 * (k + 1)}G"},
                market_value=D("6999.00") + 1000 * k,
                deposit=D("3000.00") + 500 * k,
                term_prices=(TermPrice(6, D("299.00"), D("3600.00")), TermPrice(12, D("239.00"), D("2600.00"))),
                renewal_monthly_rent=D("199.00"),
                daily_rent=D("39.00"),
            )
            for k in range(2)
        ]
        app.list_product(
            ProductDetails(category, f"Bench Phone {n}", "Bench", channels=("app", "h5", "alipay_mini", "wechat_mini")),
            LongTermOffer((6, 12)),
            ShortTermOffer(3, 30),
            Protection(True, False, D("19.90"), D("2.00"), D("300.00")),
            built,
            product_id=product_id,
        )
        for sku in built:
            for start in range(0, units_per_sku, 100):
                count = min(100, units_per_sku - start)
                app.receive_units(sku.id, [f"BENCH-{n}-{sku.id.hex[:6]}-{i:05d}" for i in range(start, start + count)])
            skus.append(sku.id)
    return skus


# Timing.


def time_reads(platform: Platform, head: int, cpu: dict[str, float]) -> dict[str, float]:
    """Seconds to read the whole log: paging notifications, decoding them, and raw SQL; the CPU seconds this
    process spent reading and decoding go in `cpu`."""
    recorder, mapper = platform.app.recorder, platform.app.mapper
    timings = {}
    started = time.perf_counter()
    position = 0
    while page := recorder.select_notifications(position, PAGE, stop=head, inclusive_of_start=False):
        position = page[-1].id
    timings["select_notifications"] = time.perf_counter() - started

    started, processed = time.perf_counter(), time.process_time()
    position = 0
    while page := recorder.select_notifications(position, PAGE, stop=head, inclusive_of_start=False):
        for notification in page:
            mapper.to_domain_event(notification)
        position = page[-1].id
    timings["select_notifications + decode"] = time.perf_counter() - started
    cpu["select_notifications + decode"] = time.process_time() - processed

    engine = platform.views.engine
    query = sqlalchemy.text(
        "SELECT id, originator_id, originator_version, topic, state FROM leasecore_events WHERE id <= :head ORDER BY id"
    )
    started = time.perf_counter()
    with engine.connect() as connection:
        rows = 0
        for partition in connection.execution_options(yield_per=5000).execute(query, {"head": head}).partitions():
            rows += len(partition)
    timings["raw SQL SELECT"] = time.perf_counter() - started
    assert rows == head, (rows, head)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="seed at least this many events (default 200,000)")
    parser.add_argument("--database-url", default="sqlite:///bench-rebuild.db")
    parser.add_argument("--reuse", action="store_true", help="keep what the store holds; seed only what is missing")
    parser.add_argument("--each", action="store_true", help="also rebuild each read model alone")
    parser.add_argument(
        "--batch-size",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[500, 2000],
        help="events per rebuild transaction, one rebuild per size (default 500,2000)",
    )
    parser.add_argument("--seed", type=int, default=20260131, help="random seed of the simulation")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    url = args.database_url
    if url.startswith("sqlite:///") and not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    clock = SettableClock(datetime.combine(FIRST_DAY, datetime.min.time(), SHANGHAI))
    platform = bootstrap(url, clock=clock, env={"AGGREGATE_CACHE_MAXSIZE": "50000"})
    try:
        existing = platform.runner.head()
        if existing and not args.reuse:
            print(f"{url} already holds {existing:,} events: give --reuse or an empty database", file=sys.stderr)
            return 1
        seeded = seed(platform, clock, args)
        figures = measure(platform, args)
    finally:
        platform.close()
    figures["seeding"] = seeded
    print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def seed(platform: Platform, clock: SettableClock, args: argparse.Namespace) -> dict[str, Any]:
    head = platform.runner.head()
    if head >= args.events:
        print(f"the store already holds {head:,} events; nothing to seed", file=sys.stderr)
        return {"events": head, "seconds": 0.0}
    if head:
        last = platform.app.recorder.select_notifications(head, 1)[0]
        clock.set(max(clock.now(), platform.app.mapper.to_domain_event(last).timestamp) + timedelta(days=1))
    rng = random.Random(args.seed + head)
    arrivals = max(3, args.events // 16_000)
    skus = bench_catalog(platform.app, units_per_sku=max(100, arrivals * 15))
    simulation = Simulation(platform, clock, rng, skus, arrivals, day=clock.now().astimezone(SHANGHAI).date())
    started = last_report = time.perf_counter()

    def report(sim: Simulation) -> None:
        nonlocal last_report
        now = time.perf_counter()
        if now - last_report >= 5:
            events = sim.app.recorder.max_notification_id() or 0
            rate = (events - head) / (now - started)
            print(
                f"seeding: day {sim.day} · {events:,}/{args.events:,} events · {rate:,.0f} events/s",
                file=sys.stderr,
            )
            last_report = now

    simulation.run_until(args.events, report)
    seconds = time.perf_counter() - started
    events = platform.runner.head()
    print(f"seeded {events - head:,} events in {seconds:,.0f} s; outcomes {dict(simulation.outcomes)}", file=sys.stderr)
    return {"events": events, "seconds": seconds, "outcomes": dict(simulation.outcomes)}


def measure(platform: Platform, args: argparse.Namespace) -> dict[str, Any]:
    head = platform.runner.head()
    print(f"timing on {platform.views.dialect} with {head:,} events …", file=sys.stderr)
    cpu: dict[str, float] = {}
    reads = {name: head / seconds for name, seconds in time_reads(platform, head, cpu).items()}
    figures: dict[str, Any] = {
        "store": platform.views.dialect,
        "events": head,
        "read rates (events/s)": reads,
        "read CPU seconds": cpu,
        "rebuild all": {},
    }
    for size in args.batch_size:
        platform.runner.batch_size = size
        processed = time.process_time()
        report = platform.runner.rebuild()
        processed = time.process_time() - processed
        rate = head / report.seconds
        figures["rebuild all"][size] = {
            "seconds": report.seconds,
            "CPU seconds": processed,
            "events/s": rate,
            "events applied": report.events,
            "ratios (rebuild ÷ read)": {name: rate / read for name, read in reads.items()},
            "CPU ratio to select_notifications + decode": cpu["select_notifications + decode"] / processed,
        }
    if args.each:
        platform.runner.batch_size = args.batch_size[0]
        each = {}
        for name in platform.runner.names:
            alone = platform.runner.rebuild([name])
            each[name] = {"seconds": alone.seconds, "events/s": head / alone.seconds, "events applied": alone.events}
        figures["rebuild each"] = each
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    print(f"store {figures['store']}: {figures['events']:,} events")
    for name, rate in figures["read rates (events/s)"].items():
        print(f"  read {name:<39} {rate:>10,.0f} events/s")
    for size, rebuild in figures["rebuild all"].items():
        print(
            f"  rebuild all read models, batches of {size:<7} {rebuild['events/s']:>10,.0f} events/s "
            f"({rebuild['seconds']:.1f} s, {rebuild['events applied']:,} events applied)"
        )
        for name, ratio in rebuild["ratios (rebuild ÷ read)"].items():
            print(f"    ratio to {name:<36} {ratio:>10.3f}")
        print(
            f"    CPU seconds of this process {rebuild['CPU seconds']:>6.1f}, of reading and decoding "
            f"{figures['read CPU seconds']['select_notifications + decode']:.1f}: "
            f"ratio {rebuild['CPU ratio to select_notifications + decode']:.3f}"
        )
    for name, alone in figures.get("rebuild each", {}).items():
        print(f"  rebuild {name:<36} {alone['events/s']:>10,.0f} events/s ({alone['events applied']:,} applied)")


if __name__ == "__main__":
    sys.exit(main())

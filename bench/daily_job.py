"""How the daily job scales: it should touch only the leases with something due, not all of them.

Seeds N leases (default 100,000), a share of them (default 5 %) with an installment unpaid
past its grace days, lets the read models catch up, then times in the same run:

  * the daily job, finding its work through the installments read model, and
  * one full scan of the same leases (load every lease and assess it), the baseline a job
    without an index would pay every day,

and prints both with their ratio. Usage:

    .venv/bin/python bench/daily_job.py [--leases 100000] [--overdue-share 0.05]
                                        [--database-url sqlite:///bench-daily.db]

The SQLite file given is replaced. Leases are built from the domain's own aggregates and
saved in batches through the application, the way the commands would have saved them.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

from api.bootstrap import bootstrap
from api.demo import seed_demo
from leasecore.clock import SettableClock
from leasecore.lease import Lease
from leasecore.lease.quote import OrderRequest
from leasecore.topics import stored_topics
from leasecore.values import Address, DepositMode, LongTerm

SHANGHAI = timezone(timedelta(hours=8))
TODAY = date(2026, 11, 20)
START = datetime(2026, 10, 10, 10, tzinfo=SHANGHAI)  # installment 2 fell due on 10 November


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leases", type=int, default=100_000)
    parser.add_argument("--overdue-share", type=Decimal, default=Decimal("0.05"))
    parser.add_argument("--database-url", default="sqlite:///bench-daily.db")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if args.database_url.startswith("sqlite:///"):
        Path(args.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    clock = SettableClock(START)
    platform = bootstrap(args.database_url, clock=clock)
    app = platform.app
    try:
        seeded = seed_demo(app)
        customer_id = app.register_customer("13800000000")
        customers = [uuid4() for _ in range(max(1, args.leases // 2))]  # about two leases a customer
        request = OrderRequest(
            seeded.skus["phone-x/256-black"],
            1,
            LongTerm(12),
            False,
            DepositMode.FULL,
            "app",
            Address("Bench", "13800000000", "1 Bench Road"),
        )
        quote = app.quote(customer_id, request)  # priced once by the real engine, reused for every lease
        overdue_every = int(1 / args.overdue_share)

        started = time.perf_counter()
        batch: list[Lease] = []
        for n in range(args.leases):
            batch.append(_lease(quote, request, customers[n % len(customers)], overdue=n % overdue_every == 0))
            if len(batch) == args.batch or n == args.leases - 1:
                app.save(*batch)
                batch.clear()
                _progress("seeded", n + 1, args.leases, started)
        seeded_in = time.perf_counter() - started
        events = app.recorder.max_notification_id() or 0
        print(f"\nseeded {args.leases:,} leases ({events:,} events) in {seeded_in:.1f} s", file=sys.stderr)

        started = time.perf_counter()
        platform.runner.catch_up()
        print(f"read models caught up in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        clock.set(datetime.combine(TODAY, datetime.min.time(), SHANGHAI) + timedelta(hours=9))
        order_ids = [UUID(str(n.originator_id)) for n in _all_placed(app)]

        started = time.perf_counter()
        needing_attention = sum(1 for order_id in order_ids if app.lease(order_id).is_overdue(clock.now()))
        scan = time.perf_counter() - started

        started = time.perf_counter()
        report = app.run_daily(TODAY)
        job = time.perf_counter() - started

        started = time.perf_counter()
        again = app.run_daily(TODAY)
        rerun = time.perf_counter() - started

        print(f"leases                      {len(order_ids):>10,}")
        print(f"overdue (full scan found)   {needing_attention:>10,}")
        print(
            f"daily job looked at         {report.looked_at:>10,}   assessed {len(report.assessed):,}, "
            f"stage changes {len(report.stage_changes):,}"
        )
        print(f"full scan of every lease    {scan:>10.2f} s")
        print(f"daily job                   {job:>10.2f} s   {job / scan:.3f} × the full scan")
        print(f"daily job again, same day   {rerun:>10.2f} s   assessed {len(again.assessed)} (idempotent)")
        return 0
    finally:
        platform.close()


def _lease(quote, request: OrderRequest, customer_id: UUID, *, overdue: bool) -> Lease:  # type: ignore[no-untyped-def]
    """A lease paid at checkout and received on START; installment 2 paid unless it is to be overdue."""
    now = START
    lease = Lease.place(
        order_id=uuid4(),
        customer_id=customer_id,
        product_id=uuid4(),
        sku_id=request.sku_id,
        channel=request.channel,
        deposit_mode=request.deposit_mode,
        address=request.address,  # type: ignore[arg-type]
        terms=quote.terms,
        deposit=quote.deposit,
        waiver=quote.waiver,
        schedule=quote.installments,
        config_versions={},
        now=now,
    )
    lease.pay_checkout(f"chk-{lease.id}", lease.due_now, now, now)
    lease.approve("bench", "seeded", now)
    lease.sign_contract(f"contract-{lease.id}", now)
    lease.ship((f"SN-{lease.id.hex[:12]}",), "SF", "SF-BENCH", now)
    lease.confirm_receipt(now)
    if not overdue:
        lease.pay_rent(f"rent-2-{lease.id}", lease.schedule[1].amount, now, now)
    return lease


def _all_placed(app):  # type: ignore[no-untyped-def]
    topics = list(stored_topics(Lease.OrderPlaced))
    position = 0
    while page := app.recorder.select_notifications(position, 1000, topics=topics, inclusive_of_start=False):
        yield from page
        position = page[-1].id


def _progress(what: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r{what} {done:,}/{total:,} ({rate:,.0f}/s)", end="", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

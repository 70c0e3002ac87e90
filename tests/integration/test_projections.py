"""The read models' figures, written once and run on memory, SQLite and PostgreSQL; and the
properties: a rebuild equals the incrementally built tables, whatever the batch size."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import projections.adjustments
import projections.collection_tasks
import projections.credit_lines
import projections.customers
import projections.finance
import projections.installments
import projections.orders
import projections.review_queue
import projections.stock
from api.bootstrap import Platform, bootstrap
from leasecore.catalog import StockUnit, UnitStatus
from leasecore.clock import SettableClock
from leasecore.errors import InvalidInput, InvalidState, Refused
from leasecore.lease import LeaseStatus
from leasecore.values import ZERO, DepositMode, LongTerm, ShortTerm
from projections import read_models
from projections.ledgers import LeaseLedgers
from projections.projection import Batch
from projections.store import ViewStore, metadata
from tests.support import SHANGHAI, START, World, build_world, local

VIEWS = [table for table in metadata.sorted_tables if table.name.endswith("_view")]


def snapshot(views: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view, in primary-key order."""
    with views.read() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in VIEWS
        }


def conserved(figures: projections.finance.FinanceFigures) -> tuple[D, D]:
    """Both sides of: payments + deposits deducted + taken from freezes = deposits received + everything collected
    + stray."""
    money_in = figures.payments_received + figures.deposits_deducted + figures.freezes_taken
    booked = (
        figures.deposits_received
        + figures.rent
        + figures.protection
        + figures.fees
        + figures.damage
        + figures.late_return
        + figures.buyouts
        + figures.credit
        + figures.stray
    )
    return money_in, booked


@dataclass
class Setup:
    platform: Platform
    world: World

    @property
    def views(self) -> ViewStore:
        return self.platform.views

    def caught_up(self) -> None:
        self.platform.runner.catch_up()


class ReadModelBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def setup(self, database_url: str) -> Iterator[Setup]:
        clock = SettableClock(START)
        platform = bootstrap(database_url, clock=clock)
        try:
            yield Setup(platform, build_world(platform.app, clock))
        finally:
            platform.close()

    def test_an_order_is_listed_for_its_customer_with_the_api_fields(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer(score=720)
        order = app.place_order(customer, world.request(LongTerm(12), protection=True))
        setup.caught_up()

        page = projections.orders.orders(setup.views, customer_id=customer)
        assert [item.id for item in page.items] == [order] and page.total == 1
        view = page.items[0]
        assert (view.status, view.deposit, view.waiver, view.deposit_due, view.due_now) == (
            "pending_payment",
            D("3000.00"),
            D("2500.00"),
            D("500.00"),
            D("710.00"),
        )
        assert view.plan == projections.orders.PlanView("long", 12, None, None)
        assert (view.quantity, view.protection, view.deposit_mode, view.channel) == (1, True, "waiver", "app")
        assert view.created_at == START and view.unit_serial is None

        app.pay_checkout(order, "chk-1", D("710.00"), world.clock.now())
        app.record_contract(order, "contract-1")
        app.ship(order, ["IMEI0003"], "SF Express", "SF100")
        app.confirm_receipt(order)
        setup.caught_up()
        found = projections.orders.order(setup.views, order)
        assert found is not None
        view = found
        assert (view.status, view.unit_serial, view.carrier, view.tracking_no, view.contract_id) == (
            "leasing",
            "IMEI0003",
            "SF Express",
            "SF100",
            "contract-1",
        )
        assert view.plan == projections.orders.PlanView("long", 12, date(2026, 1, 31), date(2027, 1, 30))
        assert projections.orders.orders(setup.views, status=LeaseStatus.LEASING).total == 1
        assert projections.orders.orders(setup.views, customer_id=customer, status="pending_payment").total == 0
        assert projections.orders.order(setup.views, UUID(int=0)) is None

    def test_order_lists_page_newest_first(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer()
        placed = []
        for _ in range(3):
            placed.append(app.place_order(customer, world.request(mode=DepositMode.FULL)))
            world.clock.advance(timedelta(minutes=1))
        setup.caught_up()
        first = projections.orders.orders(setup.views, customer_id=customer, limit=2)
        second = projections.orders.orders(setup.views, customer_id=customer, limit=2, offset=2)
        assert [o.id for o in first.items + second.items] == placed[::-1]
        assert (first.total, second.total) == (3, 3)
        with pytest.raises(ValueError):
            projections.orders.orders(setup.views, limit=0)

    def test_staff_find_orders_by_serial_tracking_channel_product_and_dates_in_a_stable_order(
        self, setup: Setup
    ) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer()
        at_once = [app.place_order(customer, world.request(mode=DepositMode.FULL)) for _ in range(2)]
        world.clock.advance(timedelta(days=1))
        h5 = app.place_order(customer, world.request(mode=DepositMode.FULL, channel="h5"))
        setup.caught_up()
        booked = app.units_held(h5)[0]
        find = functools.partial(projections.orders.orders, setup.views)
        where = projections.orders.OrderFilter
        assert [o.id for o in find(where=where(serial=booked)).items] == [h5]
        assert [o.id for o in find(where=where(channel="h5")).items] == [h5]
        assert find(where=where(product_id=world.product_id)).total == 3
        assert find(where=where(product_id=UUID(int=1))).total == 0
        assert [o.id for o in find(where=where(placed_before=START + timedelta(hours=1))).items] == sorted(
            at_once, reverse=True
        )
        assert [o.id for o in find(where=where(placed_from=START + timedelta(hours=1))).items] == [h5]
        assert [o.id for o in find(sort="oldest").items] == [*sorted(at_once), h5]
        assert [o.id for o in find(sort="newest", limit=1, offset=1).items] == [max(at_once)]
        cursor = projections.orders.Cursor
        newest = [o.id for o in find().items]
        after_first = find(limit=5, after=cursor.of(find(limit=1).items[0])).items
        assert [o.id for o in after_first] == newest[1:]
        assert [o.id for o in find(limit=1, before=cursor.of(after_first[0])).items] == newest[:1]
        assert [o.id for o in find(sort="oldest", limit=2, after=cursor.of(after_first[-1])).items] == newest[1::-1]
        assert cursor.parse(str(cursor.of(after_first[0]))) == cursor.of(after_first[0])
        assert cursor.parse("yesterday~nobody") is None
        with pytest.raises(ValueError):
            find(sort="overdue", after=cursor.of(after_first[0]))
        rows = projections.orders.order_rows(setup.views, sort="oldest", limit=2, after=cursor.of(after_first[-1]))
        assert [row.id for row in rows.items] == newest[1::-1] and rows.total == 3
        person = app.customer(customer)
        assert {(row.customer_name, row.customer_phone) for row in rows.items} == {(person.name, person.phone)}

        placed = projections.orders.order(setup.views, h5)
        assert placed is not None
        app.pay_checkout(h5, "chk-h5", placed.due_now, world.clock.now())
        app.record_contract(h5, "contract-h5")
        held = {serial for order in [*at_once, h5] for serial in app.units_held(order)}
        other = next(serial for serial in world.serials if serial not in held)
        app.ship(h5, [other], "SF Express", "SF777")
        setup.caught_up()
        assert [o.id for o in find(where=where(serial=other)).items] == [h5]
        assert find(where=where(serial=booked)).total == 0
        assert [o.id for o in find(where=where(tracking_no="SF777", customer_id=customer)).items] == [h5]
        with pytest.raises(ValueError):
            find(sort="sideways")

    def test_the_overdue_ledger_shows_a_late_installment_with_its_exact_late_fee(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer()
        order = world.leasing(customer)  # installment 2 of 200.00 falls due on 28 February
        world.clock.set(local(2026, 3, 10))
        setup.caught_up()
        assert app.run_daily().assessed == [order]
        setup.caught_up()

        assert projections.installments.overdue(setup.views) == [
            projections.installments.OverdueEntry(
                order, customer, 2, date(2026, 2, 28), 7, D("200.00"), D("1.40"), "sms"
            )
        ]
        rows = projections.installments.installments(setup.views, order)
        assert [(i.seq, i.status, i.paid, i.late_fee) for i in rows[:3]] == [
            (1, "paid", D("200.00"), D("0.00")),
            (2, "overdue", D("0.00"), D("1.40")),
            (3, "due", D("0.00"), D("0.00")),
        ]
        assert len(rows) == 12 and rows[-1].due_date == date(2026, 12, 31)
        line = projections.credit_lines.credit_line(setup.views, customer)
        assert line is not None and line.blocked

        app.pay_installments(order, "late-2", D("201.40"), world.clock.now())
        setup.caught_up()
        assert projections.installments.overdue(setup.views) == []
        assert projections.installments.installments(setup.views, order)[1].status == "paid"
        line = projections.credit_lines.credit_line(setup.views, customer)
        assert line is not None and not line.blocked

    def test_collection_tasks_list_orders_at_the_call_stage(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer()
        order = world.leasing(customer)
        world.clock.set(local(2026, 3, 20))
        setup.caught_up()
        app.run_daily()
        setup.caught_up()

        (task,) = projections.collection_tasks.collection_tasks(setup.views)
        assert (task.order_id, task.customer_id, task.stage, task.days_overdue) == (order, customer, "call", 17)
        assert (task.overdue_amount, task.late_fees) == (D("203.40"), D("3.40"))  # 17 days × 0.20
        assert (task.contact_name, task.contact_phone) == ("Han Meimei", "13900000000")
        assert projections.collection_tasks.collection_tasks(setup.views, ("agency",)) == []

    def test_lists_and_buckets_count_days_overdue_to_today_whether_or_not_the_daily_job_has_run(
        self, setup: Setup
    ) -> None:
        app, views = setup.platform.app, setup.views
        customer = setup.world.customer()
        order = setup.world.leasing(customer)  # installment 2 falls due on 28 February; three grace days
        setup.caught_up()
        bounds = ((1, 30), (31, None))
        (row,) = projections.orders.order_rows(views, where=projections.orders.OrderFilter(customer_id=customer)).items
        assert row.overdue_from == date(2026, 3, 4)
        assert [row.days_overdue_on(day) for day in (date(2026, 3, 3), date(2026, 3, 4), date(2026, 4, 5))] == [
            0,
            1,
            33,
        ]
        assert [b.orders for b in projections.collection_tasks.buckets(views, bounds, date(2026, 3, 3))] == [0, 0]
        assert [b.orders for b in projections.collection_tasks.buckets(views, bounds, date(2026, 3, 10))] == [1, 0]
        assert [b.orders for b in projections.collection_tasks.buckets(views, bounds, date(2026, 4, 5))] == [0, 1]
        assert projections.collection_tasks.buckets(views, bounds, date(2026, 4, 5), ("call",))[1].orders == 0

        setup.world.clock.set(local(2026, 3, 10))  # the job runs: the stored days agree with the count
        app.run_daily()
        setup.caught_up()
        view = projections.orders.order(views, order)
        assert view is not None and (view.days_overdue, view.days_overdue_on(date(2026, 3, 10))) == (7, 7)
        app.pay_installments(order, "late-2", D("201.40"), setup.world.clock.now())
        setup.caught_up()  # paid: the next unpaid installment, due 31 March, is the one to count from
        view = projections.orders.order(views, order)
        assert (
            view is not None and view.overdue_from == date(2026, 4, 4) and view.days_overdue_on(date(2026, 3, 10)) == 0
        )
        assert [b.orders for b in projections.collection_tasks.buckets(views, bounds, date(2026, 3, 10))] == [0, 0]

    def test_finance_books_a_lease_from_checkout_to_settlement_on_its_days(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer(score=720)
        order = app.place_order(customer, world.request(LongTerm(12), protection=True))
        app.pay_checkout(order, "chk-1", D("710.00"), world.clock.now())
        app.record_contract(order, "contract-1")
        app.ship(order, ["IMEI0003"], "SF Express", "SF100")
        app.confirm_receipt(order)
        app.pay_installments(order, "rent-2-12", D("2310.00"), world.clock.now())
        world.clock.set(local(2027, 1, 25))
        app.request_return(order, "SF-BACK-1")
        app.record_return(order)
        app.complete_inspection(order, D("1200.00"), "cracked back glass")
        setup.caught_up()

        report = projections.finance.finance_report(setup.views, date(2026, 1, 1), date(2027, 12, 31))
        first, last = report.days
        assert first.day == date(2026, 1, 31)
        f = first.figures
        assert (f.payments_received, f.deposits_received, f.rent, f.protection, f.deposits_held) == (
            D("3020.00"),
            D("500.00"),
            D("2400.00"),
            D("120.00"),
            D("500.00"),
        )
        assert last.day == date(2027, 1, 25)
        f = last.figures
        assert (f.deposits_deducted, f.deposits_refunded, f.damage, f.deposits_held, f.payments_received) == (
            D("300.00"),
            D("200.00"),
            D("300.00"),
            D("0.00"),
            D("0.00"),
        )
        totals = report.totals
        assert (totals.revenue, totals.refunds, totals.deposits_held) == (D("2820.00"), D("200.00"), D("0.00"))
        assert conserved(totals) == (D("3320.00"), D("3320.00"))
        assert projections.finance.deposits_held(setup.views) == ZERO
        later = projections.finance.finance_report(setup.views, date(2027, 1, 1), date(2027, 1, 31))
        assert later.opening_deposits_held == D("500.00") and [d.day for d in later.days] == [date(2027, 1, 25)]

    def test_adjustments_show_in_every_view_of_the_ledger_and_in_finance_apart_from_money(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer()
        order = world.leasing(customer)  # installment 2 of 200.00 falls due on 28 February
        world.clock.set(local(2026, 3, 9))
        setup.caught_up()
        app.run_daily()
        app.waive_late_fee(order, 2, D("0.50"), "first time late", "fin-1")
        setup.caught_up()

        second = projections.installments.installments(setup.views, order)[1]
        assert (second.late_fee, second.fee_waived, second.owed, second.status, second.days_overdue) == (
            D("0.70"),  # 6 days × 0.20, less 0.50
            D("0.50"),
            D("200.70"),
            "overdue",
            6,
        )
        (entry,) = projections.installments.overdue(setup.views)
        assert (entry.order_id, entry.seq, entry.late_fee) == (order, 2, D("0.70"))
        shown = projections.orders.order(setup.views, order)
        assert shown is not None and (shown.version, shown.days_overdue) == (app.lease(order).version, 6)
        (task,) = projections.collection_tasks.collection_tasks(setup.views, ("sms",))
        assert (task.overdue_amount, task.late_fees) == (D("200.70"), D("0.70"))

        world.clock.set(local(2026, 3, 9, 15))
        app.grant_goodwill_credit(order, D("100.00"), "the courier lost a week", "fin-2")
        setup.caught_up()
        second = projections.installments.installments(setup.views, order)[1]
        assert (second.paid, second.fee_paid, second.credited, second.owed) == (
            D("100.00"),
            D("0.70"),
            D("100.00"),
            D("100.70"),
        )
        assert [
            (a.kind, a.seq, a.amount, a.reason, a.staff)
            for a in projections.adjustments.adjustments(setup.views, order)
        ] == [
            ("waive_late_fee", 2, D("0.50"), "first time late", "fin-1"),
            ("goodwill_credit", None, D("100.00"), "the courier lost a week", "fin-2"),
        ]

        app.pay_installments(order, "rest", D("100.70"), world.clock.now())
        setup.caught_up()
        assert projections.installments.overdue(setup.views) == []
        (day,) = projections.finance.finance_report(setup.views, date(2026, 3, 9), date(2026, 3, 9)).days
        f = day.figures
        assert (f.payments_received, f.rent, f.fees, f.fees_waived, f.goodwill_credit) == (
            D("100.70"),
            D("100.70"),  # the rent money paid; the credit paid 0.70 of fees and 99.30 of rent
            D("0.00"),
            D("0.50"),
            D("100.00"),
        )
        assert conserved(f) == (D("100.70"), D("100.70"))
        view = projections.orders.order(setup.views, order)
        assert view is not None and (view.collection_stage, view.days_overdue) == (None, 0)

    def test_finance_books_an_early_buyout_with_the_deposit_counting_toward_it(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        order = world.leasing(world.customer(), world.request(LongTerm(12)))
        quote, to_pay = app.buyout_quote(order)
        assert (quote.price, to_pay) == (D("2980.00"), D("2480.00"))
        app.buy_out(order, "buyout-1", to_pay, world.clock.now())
        setup.caught_up()

        (day,) = projections.finance.finance_report(setup.views, date(2026, 1, 31), date(2026, 1, 31)).days
        f = day.figures
        assert (f.payments_received, f.deposits_received, f.deposits_deducted, f.rent, f.buyouts) == (
            D("3180.00"),  # checkout 700.00 + 2480.00
            D("500.00"),
            D("500.00"),
            D("200.00"),
            D("2980.00"),
        )
        assert conserved(f) == (D("3680.00"), D("3680.00"))
        view = projections.orders.order(setup.views, order)
        assert view is not None and view.status == "settled"
        (level,) = projections.stock.stock(setup.views, date(2026, 1, 31))
        assert (level.units, level.sold, level.available) == (5, 1, 4)

    def test_credit_lines_show_quota_reserved_and_available(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer(score=720)
        setup.caught_up()
        line = projections.credit_lines.credit_line(setup.views, customer)
        assert line is not None and (line.quota, line.reserved, line.available, line.level) == (
            D("5000.00"),
            D("0.00"),
            D("5000.00"),
            "B",
        )
        order = app.place_order(customer, world.request())
        setup.caught_up()
        line = projections.credit_lines.credit_line(setup.views, customer)
        assert line is not None and (line.reserved, line.available, line.reservations) == (
            D("2500.00"),
            D("2500.00"),
            1,
        )
        app.cancel(order)
        setup.caught_up()
        assert projections.credit_lines.credit_lines(setup.views, customer_id=customer)[0].available == D("5000.00")

    def test_the_review_queue_holds_what_automated_review_could_not_pass(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer(score=580)
        order = app.place_order(customer, world.request(mode=DepositMode.FULL))
        app.pay_checkout(order, "chk", D("3200.00"), world.clock.now())
        setup.caught_up()
        (item,) = projections.review_queue.review_queue(setup.views)
        assert (item.order_id, item.customer_id, item.reasons, item.due_now) == (
            order,
            customer,
            ("score 580 is under the minimum 600",),
            D("3200.00"),
        )
        app.reject(order, "risk-1", "income not verifiable")
        setup.caught_up()
        assert projections.review_queue.review_queue(setup.views) == []
        view = projections.orders.order(setup.views, order)
        assert view is not None and (view.status, view.reason) == ("rejected", "income not verifiable")

    def test_stock_counts_the_units_free_from_a_day_on(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        customer = world.customer(score=None)
        dates = ShortTerm(date(2026, 2, 10), date(2026, 2, 14))
        short = app.place_order(customer, world.request(dates, mode=DepositMode.FULL))
        world.leasing(world.customer(), world.request(LongTerm(6)))
        setup.caught_up()

        (now,) = projections.stock.stock(setup.views, date(2026, 1, 31))
        (after,) = projections.stock.stock(setup.views, date(2026, 2, 15))
        assert (now.units, now.available, now.leased, now.in_stock) == (5, 3, 1, 4)
        assert after.available == 4
        units = projections.stock.units(setup.views, world.sku_id)
        assert {u.serial: u.status for u in units} == {u.serial: u.status.value for u in app.stock_units(world.sku_id)}
        booked = [u for u in units if u.bookings and u.bookings[0].order_id == short]
        assert [(b.start, b.end, b.shipped) for b in booked[0].bookings] == [(dates.start, dates.end, False)]
        leased = [u for u in units if u.status == UnitStatus.LEASED.value]
        assert leased[0].bookings[0].end is None and leased[0].bookings[0].shipped

    def test_a_swap_links_the_two_orders(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        order = world.leasing(world.customer(), world.request(LongTerm(6)))
        app.pay_installments(order, "rest", D("1500.00"), world.clock.now())
        world.clock.set(local(2026, 7, 25))
        new_order = app.swap(order, world.sku_id, "SF-SWAP")
        setup.caught_up()
        old, new = projections.orders.order(setup.views, order), projections.orders.order(setup.views, new_order)
        assert old is not None and new is not None
        assert (old.status, old.swapped_to, old.return_tracking_no) == ("returning", new_order, "SF-SWAP")
        assert (new.status, new.swapped_from) == ("pending_payment", order)

    def test_the_daily_work_list_comes_from_the_views(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        unpaid = app.place_order(world.customer(), world.request())
        late = world.leasing(world.customer())
        paid_ahead = world.leasing(world.customer())
        app.pay_installments(paid_ahead, "ahead", D("2200.00"), world.clock.now())
        setup.caught_up()
        work = projections.installments.ViewsDailyWork(setup.views)
        assert work.orders_to_assess(date(2026, 2, 27)) == [unpaid]
        assert work.orders_to_assess(date(2026, 2, 28)) == [unpaid, late]

        world.clock.set(local(2026, 3, 10))
        report = app.run_daily()
        assert (report.looked_at, report.cancelled, report.assessed) == (2, [unpaid], [late])

    def test_feeding_every_event_twice_changes_nothing(self, setup: Setup) -> None:
        app, world = setup.platform.app, setup.world
        order = world.leasing(world.customer())
        world.clock.set(local(2026, 3, 10))
        app.pay_installments(order, "late", D("250.00"), world.clock.now())
        app.place_order(world.customer(score=580), world.request(ShortTerm(date(2026, 4, 1), date(2026, 4, 5))))
        expected = setup.platform.runner.rebuild()
        assert expected.events > 0
        once = snapshot(setup.views)

        events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]
        ledgers = LeaseLedgers(app).after(events)
        with setup.views.begin() as connection:
            metadata.drop_all(connection, tables=VIEWS)
            metadata.create_all(connection, tables=VIEWS)
        for projection in read_models():
            for event in events:
                for _ in range(2):
                    with setup.views.begin() as connection:
                        batch = Batch(connection, ledgers)
                        projection.process(batch, event)
                        projection.process(batch, event)
                        batch.flush()
        assert snapshot(setup.views) == once


class TestOnMemory(ReadModelBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(ReadModelBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ReadModelBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


# Properties: random histories through the application.

ACTIONS = ("order", "order", *["advance"] * 4, "pay", "days", "daily", "daily", "cancel", "stray", "waive", "goodwill")


@dataclass
class History:
    """Random commands against the test world, mostly moving an order one step along its path; the domain's
    refusals (a state, a rule or a value it does not allow) are part of the history and are counted."""

    world: World
    customers: list[UUID]
    orders: list[UUID]
    before_daily: Callable[[], object]
    refused: list[tuple[str, str]]

    @classmethod
    def start(cls, world: World, before_daily: Callable[[], object]) -> History:
        """A history that begins with an order placed; `before_daily` brings the views the daily job reads
        up to date."""
        customers = [world.customer(score=score) for score in (720, 580, 800)]
        history = cls(world, customers, [], before_daily, [])
        history.run("order", 0, 1)
        assert history.orders, f"the first order was refused: {history.refused}"
        return history

    def run(self, action: str, pick: int, amount: int) -> None:
        try:
            self._run(action, pick, amount)
        except (Refused, InvalidState, InvalidInput) as refusal:
            self.refused.append((action, type(refusal).__name__))

    def _run(self, action: str, pick: int, amount: int) -> None:
        app, world = self.world.app, self.world
        now = world.clock.now()
        if action == "order":
            customer = self.customers[pick % len(self.customers)]
            plan: LongTerm | ShortTerm = LongTerm(6 if amount % 2 else 12)
            if amount % 3 == 0:
                today = now.astimezone(SHANGHAI).date() + timedelta(days=pick % 5)
                plan = ShortTerm(today, today + timedelta(days=3 + amount % 10))
            mode = DepositMode.FULL if pick % 4 == 0 else DepositMode.WAIVER
            order = app.place_order(customer, world.request(plan, protection=amount % 5 == 0, mode=mode))
            assert app.lease(order).status is LeaseStatus.PENDING_PAYMENT
            self.orders.append(order)
        elif action == "days":
            world.clock.advance(timedelta(days=1 + amount % 40, hours=pick))
        elif action == "daily":
            self.before_daily()
            app.run_daily()
        elif self.orders:
            order = self.orders[pick % len(self.orders)]
            if action == "advance":
                for step in range(1 + amount % 8):
                    self._advance(order, amount + step)
                    if app.lease(order).status is LeaseStatus.LEASING:
                        break
            elif action == "pay":
                app.pay_installments(order, f"pay-{amount}", D(1 + amount % 900), now - timedelta(hours=pick))
            elif action == "cancel":
                app.cancel(order)
            elif action == "stray":
                app.pay_checkout(order, f"stray-{amount}", D(amount % 1000), now)
            elif action in ("waive", "goodwill"):
                self._adjust(order, action, pick, amount)

    def _adjust(self, order: UUID, action: str, pick: int, amount: int) -> None:
        """A waiver of part of a fee still unpaid (any installment when none is), or a goodwill credit of up to
        what is owed (more when nothing is): those the domain refuses are part of the history too."""
        app, now = self.world.app, self.world.clock.now()
        lease = app.lease(order)
        ledger = lease.assessed(now)
        wanted = D(1 + amount % 30000) / 100
        if action == "goodwill":
            app.grant_goodwill_credit(order, min(wanted, ledger.owed) or wanted, f"goodwill {amount}", "fin")
            return
        owing = [b for b in ledger.balances if b.late_fee > b.fee_paid] or list(ledger.balances)
        balance = owing[pick % len(owing)]
        unpaid = balance.late_fee - balance.fee_paid
        app.waive_late_fee(order, balance.seq, min(wanted, unpaid) or wanted, f"waiver {amount}", "fin")

    def _advance(self, order: UUID, amount: int) -> None:
        """The next step of the order's path, or at term end one of return, renew, buyout, swap."""
        app, world = self.world.app, self.world
        now, lease = world.clock.now(), app.lease(order)
        status = lease.status
        if status is LeaseStatus.PENDING_PAYMENT:
            app.pay_checkout(order, f"chk-{order}", lease.due_now, now)
        elif status is LeaseStatus.PENDING_REVIEW:
            (app.reject(order, "risk-1", "no") if amount % 4 == 0 else app.approve(order, "risk-1", "ok"))
        elif status is LeaseStatus.PENDING_CONTRACT:
            app.record_contract(order, f"contract-{order}")
        elif status is LeaseStatus.PENDING_SHIPMENT:
            app.ship(order, list(app.units_held(order)), "SF", f"SF{amount}")
        elif status is LeaseStatus.SHIPPED:
            app.confirm_receipt(order)
        elif status is LeaseStatus.LEASING:
            self._end_of_term(order, amount)
        elif status is LeaseStatus.RETURNING:
            app.record_return(order)
        elif status is LeaseStatus.INSPECTING:
            app.complete_inspection(order, D(amount % 4000), "inspected")
        elif status is LeaseStatus.PENDING_SETTLEMENT:
            app.pay_balance(order, f"damage-{amount}", lease.owed(now), now)

    def _end_of_term(self, order: UUID, amount: int) -> None:
        app, world = self.world.app, self.world
        choice = amount % 6
        if choice == 4:
            lease = app.lease(order)
            app.pay_installments(order, f"rent-{amount}", lease.owed_by(world.clock.now()), world.clock.now())
            return
        if choice == 3:
            _, to_pay = app.buyout_quote(order)
            app.buy_out(order, f"buyout-{amount}", to_pay, world.clock.now())
            return
        lease = app.lease(order)
        assert lease.ends_on is not None
        near_end = datetime.combine(lease.ends_on - timedelta(days=3), datetime.min.time(), SHANGHAI)
        world.clock.set(max(world.clock.now(), near_end + timedelta(hours=10)))
        owed = app.lease(order).owed(world.clock.now())
        if owed and amount % 7:
            app.pay_installments(order, f"all-{amount}", owed, world.clock.now())
        if choice == 0:
            app.renew(order, 1 + amount % 6)
        elif choice == 1:
            self.orders.append(app.swap(order, world.sku_id, f"SWAP{amount}"))
        else:
            app.request_return(order, f"BACK{amount}")


steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 23), st.integers(0, 10**6)),
    min_size=8,
    max_size=60,
)


def check_rebuilds_equal_incremental(data: st.DataObject, history_steps: list[tuple[str, int, int]]) -> None:
    clock = SettableClock(START)
    platform = bootstrap("memory:", clock=clock)
    try:
        world = build_world(platform.app, clock, units=8)
        history = History.start(world, platform.runner.catch_up)
        runner = platform.runner
        for action, pick, amount in history_steps:
            history.run(action, pick, amount)
            if data.draw(st.booleans(), label="catch up now"):
                runner.batch_size = data.draw(st.integers(1, 40), label="batch size")
                runner.catch_up()
        runner.catch_up()
        incremental = snapshot(platform.views)

        runner.batch_size = 1
        runner.rebuild()
        assert snapshot(platform.views) == incremental
        runner.batch_size = data.draw(st.integers(2, 600), label="rebuild batch size")
        runner.rebuild()
        assert snapshot(platform.views) == incremental
        runner.batch_size = data.draw(st.integers(1, 40), label="rebuild batch size, few rows kept")
        runner.rebuild_kept = data.draw(st.integers(1, 4), label="keys kept per table")
        runner.rebuild()
        assert snapshot(platform.views) == incremental
        assert_views_match_the_aggregates(platform, history)
    finally:
        platform.close()


def assert_views_match_the_aggregates(platform: Platform, history: History) -> None:
    """What the views say of each order equals its aggregates; money is conserved per order."""
    app, views = platform.app, platform.views
    assert projections.orders.orders(views, limit=500).total == len(history.orders) > 0
    for order in history.orders:
        lease = app.lease(order)
        view = projections.orders.order(views, order)
        assert view is not None and view.status == lease.status.value
        deposit = app.deposit(order)
        if lease.is_settled:
            statement = view.settlement
            assert statement is not None and (statement.deposit_paid, statement.deposit_refunded) == (
                deposit.paid,
                deposit.refunded,
            )
            deducted = (
                statement.rent_deducted
                + statement.fees_deducted
                + statement.damage_deducted
                + statement.buyout_deducted
            )
            assert deducted == deposit.deducted and statement.deposit_paid == deducted + statement.deposit_refunded
            assert statement.credit_refunded == lease.refunded - lease.stray_refunded
        else:
            assert view.settlement is None
        rows = projections.installments.installments(views, order)
        assert [(r.seq, r.owed, r.late_fee, r.status, r.fee_waived, r.credited) for r in rows] == [
            (b.seq, b.owed, b.late_fee, b.status.value, b.fee_waived, b.credited) for b in lease.ledger.balances
        ]
    for customer in history.customers:
        line, live = projections.credit_lines.credit_line(views, customer), app.credit_line(customer)
        assert line is not None and (line.quota, line.reserved, line.available, line.blocked) == (
            live.quota,
            live.reserved_total,
            live.available,
            live.is_blocked,
        )
        found = projections.customers.customer(views, customer)
        person = app.customer(customer)
        open_orders = sum(1 for order in person.orders if not app.lease(order).status.is_final)
        assert found is not None and (
            found.identity_status,
            found.name,
            found.score,
            found.level,
            found.quota,
            found.reserved,
            found.available,
            found.open_orders,
            found.orders_placed,
        ) == (
            person.identity_status.value,
            person.name,
            person.score,
            live.level,
            live.quota,
            live.reserved_total,
            live.available,
            open_orders,
            len(person.orders),
        )
    lines = [app.credit_line(customer) for customer in history.customers]
    assert projections.credit_lines.credit_totals(views) == projections.credit_lines.CreditTotals(
        len(lines),
        sum((line.quota for line in lines), ZERO),
        sum((line.reserved_total for line in lines), ZERO),
        sum((line.available for line in lines), ZERO),
    )
    totals = projections.finance.finance_report(views, date(2000, 1, 1), date(2100, 1, 1)).totals
    money_in, booked = conserved(totals)
    assert money_in == booked
    held = sum((app.deposit(order).held for order in history.orders), ZERO)
    assert totals.deposits_held == projections.finance.deposits_held(views) == held
    paid_in = sum((app.lease(order).paid_in for order in history.orders), ZERO)
    refunded = sum((app.lease(order).refunded for order in history.orders), ZERO)
    assert (totals.payments_received, totals.other_refunds) == (paid_in, refunded)
    ledgers = [app.lease(order).ledger for order in history.orders]
    assert (totals.fees_waived, totals.goodwill_credit) == (
        sum((ledger.fees_waived for ledger in ledgers), ZERO),
        sum((ledger.goodwill.total for ledger in ledgers), ZERO),
    )
    assert {u.serial: (u.status, u.leased_to) for u in projections.stock.units(views, history.world.sku_id)} == {
        unit.serial: (unit.status.value, unit.leased_to) for unit in app.stock_units(history.world.sku_id)
    }
    statuses = collections.Counter(app.lease(order).status.value for order in history.orders)
    assert projections.orders.status_counts(views) == dict(statuses)
    assert projections.orders.orders(views, limit=1).total == len(history.orders)
    states = collections.Counter(_state(unit) for unit in app.stock_units(history.world.sku_id))
    assert projections.stock.unit_counts(views) == {state: states[state] for state in projections.stock.UNIT_STATES}


def _state(unit: StockUnit) -> str:
    """A unit's state for counting, from its aggregate."""
    if unit.status is UnitStatus.IN_STOCK:
        return "booked" if unit.bookings else "available"
    return str(unit.status.value)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history_steps=steps)
def test_a_rebuild_equals_the_incremental_tables_whatever_the_batch_sizes(
    data: st.DataObject, history_steps: list[tuple[str, int, int]]
) -> None:
    check_rebuilds_equal_incremental(data, history_steps)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history_steps=steps)
def test_a_rebuild_equals_the_incremental_tables_over_many_histories(
    data: st.DataObject, history_steps: list[tuple[str, int, int]]
) -> None:
    check_rebuilds_equal_incremental(data, history_steps)


OVERDUE_ACTIONS = ("days", "days", "days", "daily", "daily", "daily", "daily", "pay", "waive", "goodwill")


def check_a_rebuild_leaving_out_overtaken_assessments(steps: list[tuple[str, int, int]], batch_size: int) -> int:
    """Two leases in rent, thirty days on, then `steps` (a day or three apart): a rebuild's tables are the incremental
    ones, row for row (versions included), at `batch_size` and at 600; how many assessments it left out."""
    clock = SettableClock(START)
    platform = bootstrap("memory:", clock=clock)
    try:
        world = build_world(platform.app, clock, units=8)
        history = History.start(world, platform.runner.catch_up)
        history.run("order", 1, 4)
        for pick in range(len(history.orders)):
            history.run("advance", pick, 7)  # on to rent (a step at a time, at most eight)
        history.run("days", 0, 35)
        for action, pick, amount in steps:
            history.run(action, pick, amount % 3 if action == "days" else amount)
        runner = platform.runner
        runner.catch_up()
        incremental = snapshot(platform.views)
        runner.batch_size = batch_size
        before = runner.ledgers.deferred
        runner.rebuild()
        assert snapshot(platform.views) == incremental
        runner.batch_size = 600
        runner.rebuild()
        assert snapshot(platform.views) == incremental
        return runner.ledgers.deferred - before
    finally:
        platform.close()


def test_a_rebuild_leaves_out_daily_assessments_the_next_overtakes_and_its_tables_are_the_incremental_ones() -> None:
    daily = [("daily", 0, 0), ("days", 0, 0)]
    steps = [*daily * 3, ("daily", 0, 0), ("pay", 0, 150), *daily * 2, ("days", 0, 2), ("waive", 1, 40), *daily * 3]
    assert check_a_rebuild_leaving_out_overtaken_assessments(steps, 600) > 0


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history_steps=st.lists(
        st.tuples(st.sampled_from(OVERDUE_ACTIONS), st.integers(0, 23), st.integers(0, 10**6)), min_size=12, max_size=40
    ),
    batch_size=st.integers(2, 600),
)
def test_a_rebuild_leaving_out_overtaken_assessments_equals_the_incremental_tables_over_many_histories(
    history_steps: list[tuple[str, int, int]], batch_size: int
) -> None:
    check_a_rebuild_leaving_out_overtaken_assessments(history_steps, batch_size)

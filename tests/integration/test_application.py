"""The application's behaviour, written once and run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal as D
from uuid import UUID, uuid4

import pytest

from api.bootstrap import application
from leasecore.audit import replay
from leasecore.catalog import StockUnit, UnitStatus
from leasecore.clock import SettableClock
from leasecore.errors import InvalidInput, InvalidState, NotFound, Overdue, Unavailable
from leasecore.lease import Lease, LeaseStatus
from leasecore.money.deposit import Deposit
from leasecore.values import DepositMode, LongTerm, ShortTerm
from tests.support import START, World, build_world, close, local


class ApplicationBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def world(self, database_url: str) -> Iterator[World]:
        clock = SettableClock(START)
        app = application(database_url, clock=clock)
        try:
            yield build_world(app, clock)
        finally:
            close(app)

    def test_a_long_term_lease_with_a_waiver_from_checkout_to_settlement(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer(score=720)
        assert app.credit_line(customer).available == D("5000.00")

        order = app.place_order(customer, world.request(LongTerm(12), protection=True))
        lease = app.lease(order)
        assert (lease.deposit, lease.waiver, lease.deposit_due, lease.due_now) == (
            D("3000.00"),
            D("2500.00"),
            D("500.00"),
            D("710.00"),
        )
        assert app.credit_line(customer).available == D("2500.00")

        app.pay_checkout(order, "chk-1", D("710.00"), clock.now())
        assert app.lease(order).status is LeaseStatus.PENDING_CONTRACT  # automated review passed
        app.record_contract(order, "contract-1")
        app.ship(order, ["IMEI0003"], "SF Express", "SF100")
        assert app.stock_unit(world.sku_id, "IMEI0003").status is UnitStatus.LEASED
        app.confirm_receipt(order)
        lease = app.lease(order)
        assert lease.status is LeaseStatus.LEASING and lease.start == date(2026, 1, 31)
        assert [i.due_date for i in lease.schedule[1:3]] == [date(2026, 2, 28), date(2026, 3, 31)]

        app.pay_installments(order, "rent-2-12", D("2310.00"), clock.now())
        clock.set(local(2027, 1, 25))
        app.request_return(order, "SF-BACK-1")
        app.record_return(order)
        assert app.stock_unit(world.sku_id, "IMEI0003").status is UnitStatus.IN_STOCK
        app.complete_inspection(order, D("1200.00"), "cracked back glass")

        lease, deposit = app.lease(order), app.deposit(order)
        assert lease.status is LeaseStatus.SETTLED
        assert lease.charges.damage == D("300.00")  # protected: liability capped at the 300.00 excess
        assert (deposit.paid, deposit.deducted, deposit.refunded, deposit.held) == (
            D("500.00"),
            D("300.00"),
            D("200.00"),
            D("0.00"),
        )
        assert [type(e) for e in app.events.get(Deposit.create_id(order))] == [
            Deposit.Required,
            Deposit.Paid,
            Deposit.Deducted,
            Deposit.Refunded,
        ]
        line = app.credit_line(customer)
        assert (line.reserved_total, line.available) == (D("0"), D("5000.00"))

    def test_damage_beyond_the_deposit_waits_for_a_damage_payment(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer(score=720)
        order = world.leasing(customer, world.request(LongTerm(6)))
        app.pay_installments(order, "rest", D("1500.00"), clock.now())
        clock.set(local(2026, 7, 25))
        app.request_return(order, "SF-BACK")
        app.record_return(order)
        app.complete_inspection(order, D("1200.00"), "water damage")

        lease = app.lease(order)
        assert lease.status is LeaseStatus.PENDING_SETTLEMENT
        assert lease.owed(clock.now()) == D("700.00")  # 1200.00 less the 500.00 deposit held
        app.pay_balance(order, "damage-1", D("700.00"), clock.now())
        assert app.lease(order).status is LeaseStatus.SETTLED
        assert app.credit_line(customer).available == D("5000.00")

    def test_a_short_term_order_books_units_for_its_dates(self, world: World) -> None:
        app = world.app
        customer = world.customer(score=None)
        dates = ShortTerm(date(2026, 2, 10), date(2026, 2, 14))
        orders = [app.place_order(customer, world.request(dates, mode=DepositMode.FULL)) for _ in range(5)]
        lease = app.lease(orders[0])
        assert (lease.due_now, lease.schedule[0].rent) == (D("3100.00"), D("100.00"))

        with pytest.raises(Unavailable):
            app.place_order(
                customer, world.request(ShortTerm(date(2026, 2, 14), date(2026, 2, 16)), mode=DepositMode.FULL)
            )
        app.place_order(customer, world.request(ShortTerm(date(2026, 2, 15), date(2026, 2, 17)), mode=DepositMode.FULL))
        app.cancel(orders[0])
        again = app.place_order(customer, world.request(dates, mode=DepositMode.FULL))
        (held,) = app.units_held(again)
        assert app.stock_unit(world.sku_id, held).holds(again)

    def test_orders_one_after_another_load_only_the_unit_each_books(self, world: World) -> None:
        """Without a stock index, an order tries the SKU's units in a random order, those this process booked
        itself last: each of five orders for a SKU of five units loads exactly the unit it books, and a unit
        freed by a cancellation is the next order's first try."""
        app = world.app
        loaded: list[str] = []
        load = app.stock_unit

        def counting(sku_id: UUID, serial: str) -> StockUnit:
            loaded.append(serial)
            return load(sku_id, serial)

        app.stock_unit = counting  # type: ignore[method-assign]
        orders = []
        for _ in range(5):
            loaded.clear()
            orders.append(app.place_order(world.customer(score=None), world.request(mode=DepositMode.FULL)))
            assert loaded == list(app.units_held(orders[-1]))
        assert sorted(serial for order in orders for serial in app.units_held(order)) == world.serials
        freed = app.units_held(orders[2])
        app.cancel(orders[2])
        loaded.clear()
        again = app.place_order(world.customer(score=None), world.request(mode=DepositMode.FULL))
        assert loaded == list(app.units_held(again)) == list(freed)

    def test_cancelling_before_shipping_refunds_and_releases_everything(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer(score=720)
        order = app.place_order(customer, world.request())
        app.pay_checkout(order, "chk", app.lease(order).due_now, clock.now())
        app.cancel(order, "found a cheaper one")

        lease, deposit = app.lease(order), app.deposit(order)
        assert lease.status is LeaseStatus.CANCELLED and lease.refunded == D("200.00")
        assert (deposit.paid, deposit.refunded) == (D("500.00"), D("500.00"))
        assert app.credit_line(customer).available == D("5000.00")
        assert app.units_held(order)
        assert not any(app.stock_unit(world.sku_id, serial).holds(order) for serial in app.units_held(order))
        with pytest.raises(InvalidState, match="cancelled"):
            app.record_contract(order, "k")

    def test_cancelling_after_shipping_is_refused_naming_the_state(self, world: World) -> None:
        order = world.leasing(world.customer())
        with pytest.raises(InvalidState, match="leasing"):
            world.app.cancel(order)

    def test_a_reviewer_rejects_what_automated_review_could_not_pass(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer(score=580)  # under the 600 minimum: manual review
        order = app.place_order(customer, world.request(mode=DepositMode.FULL))
        app.pay_checkout(order, "chk", D("3200.00"), clock.now())

        lease = app.lease(order)
        assert lease.status is LeaseStatus.PENDING_REVIEW
        assert lease.review_reasons == ("score 580 is under the minimum 600",)
        app.reject(order, "risk-1", "income not verifiable")
        lease, deposit = app.lease(order), app.deposit(order)
        assert lease.status is LeaseStatus.REJECTED and lease.refunded == D("200.00")
        assert deposit.refunded == D("3000.00")

    def test_orders_need_a_verified_identity(self, world: World) -> None:
        customer = world.customer(verified=False)
        with pytest.raises(InvalidState, match="unverified"):
            world.app.place_order(customer, world.request())

    def test_payments_are_recorded_once_per_provider_transaction(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer())
        for _ in range(3):
            app.pay_installments(order, "txn-42", D("200.00"), clock.now())
        lease = app.lease(order)
        assert [type(e) for e in app.events.get(order)].count(Lease.InstallmentPaid) == 1
        assert lease.ledger.balances[1].rent_paid == D("200.00")

    def test_a_checkout_paid_after_cancelling_is_refunded_not_lost(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = app.place_order(world.customer(), world.request())
        app.cancel(order)
        app.pay_checkout(order, "late-chk", D("700.00"), clock.now())
        lease = app.lease(order)
        assert (lease.paid_in, lease.refunded) == (D("700.00"), D("700.00"))

    def test_renewal_adds_months_at_the_renewal_rent(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer(), world.request(LongTerm(6)))
        app.pay_installments(order, "rest", D("1500.00"), clock.now())
        clock.set(local(2026, 7, 24))
        app.renew(order, 3)
        lease = app.lease(order)
        assert len(lease.schedule) == 9 and lease.schedule[-1].rent == D("150.00")
        assert lease.ends_on == date(2026, 10, 30)

    def test_early_buyout_counts_the_deposit_and_settles(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer()
        order = world.leasing(customer, world.request(LongTerm(12)))
        quote, to_pay = app.buyout_quote(order)
        assert (quote.price, to_pay) == (D("2980.00"), D("2480.00"))  # 1000 + 2200 − 220; 500 deposit held
        app.buy_out(order, "buyout-1", to_pay, clock.now())

        lease = app.lease(order)
        assert lease.status is LeaseStatus.SETTLED
        assert [type(e) for e in app.events.get(order)][-2:] == [Lease.BoughtOut, Lease.Settled]
        assert app.deposit(order).deducted == D("500.00")
        assert app.stock_unit(world.sku_id, lease.unit_serials[0]).status is UnitStatus.SOLD
        assert app.credit_line(customer).available == D("5000.00")

    def test_a_swap_returns_this_device_and_places_a_linked_order(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer()
        order = world.leasing(customer, world.request(LongTerm(6)))
        app.pay_installments(order, "rest", D("1500.00"), clock.now())
        clock.set(local(2026, 7, 25))
        new_order = app.swap(order, world.sku_id, "SF-SWAP")

        old, new = app.lease(order), app.lease(new_order)
        assert (old.status, old.swapped_to) == (LeaseStatus.RETURNING, new_order)
        assert (new.status, new.swapped_from, new.plan) == (LeaseStatus.PENDING_PAYMENT, order, LongTerm(6))
        assert app.credit_line(customer).reserved == {order: D("2500.00"), new_order: D("2500.00")}
        app.record_return(order)
        app.complete_inspection(order, D("0.00"), "as new")
        assert app.lease(order).status is LeaseStatus.SETTLED

    def test_an_installment_goes_overdue_and_accrues_the_exact_late_fee(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer()
        order = world.leasing(customer)  # installment 2 of 200.00 falls due on 28 February
        clock.set(local(2026, 3, 3))
        assert app.run_daily().assessed == []  # 3 March: the last grace day
        clock.set(local(2026, 3, 10))
        report = app.run_daily()

        lease = app.lease(order)
        assert report.assessed == [order] and report.stage_changes == [(order, "sms")]
        assert lease.ledger.balances[1].days_overdue == 7
        assert lease.ledger.balances[1].late_fee == D("1.40")  # 7 days × 200.00 × 0.001
        assert lease.collection_stage == "sms"
        assert app.credit_line(customer).is_blocked
        with pytest.raises(Overdue):
            app.place_order(customer, world.request())
        with pytest.raises(Overdue):
            app.buyout_quote(order)

        app.pay_installments(order, "late-2", D("201.40"), clock.now())
        lease = app.lease(order)
        assert lease.ledger.balances[1].owed == D("0.00") and lease.collection_stage is None
        assert not app.credit_line(customer).is_blocked

    def test_a_delayed_notification_recomputes_the_fees_as_if_it_arrived_on_time(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer())
        clock.set(local(2026, 3, 10))
        app.run_daily()
        assert app.lease(order).ledger.fees == D("1.40")

        app.pay_installments(order, "paid-on-the-27th", D("200.00"), local(2026, 2, 27))
        lease = app.lease(order)
        assert lease.ledger.fees == D("0.00") and lease.ledger.balances[1].owed == D("0.00")
        assert not lease.ledger.is_overdue

    def test_the_daily_job_is_idempotent_and_catching_up_equals_running_every_day(self, world: World) -> None:
        app, clock = world.app, world.clock
        daily = world.leasing(world.customer())
        skipped = world.leasing(world.customer())
        for day in range(1, 21):
            clock.set(local(2026, 3, day))
            app._daily_one(daily, clock.now().date(), app.billing_policy(), _report())
            app._daily_one(daily, clock.now().date(), app.billing_policy(), _report())
        app._daily_one(skipped, clock.now().date(), app.billing_policy(), _report())

        assert app.lease(daily).ledger == app.lease(skipped).ledger
        assert app.lease(daily).collection_stage == app.lease(skipped).collection_stage == "call"

    def test_an_order_left_unpaid_past_the_timeout_is_cancelled_by_the_daily_job(self, world: World) -> None:
        app, clock = world.app, world.clock
        customer = world.customer()
        order = app.place_order(customer, world.request())
        clock.set(START + timedelta(minutes=29))
        assert app.run_daily().cancelled == []
        clock.set(START + timedelta(minutes=31))
        assert app.run_daily().cancelled == [order]
        assert app.lease(order).status is LeaseStatus.CANCELLED
        assert app.credit_line(customer).available == D("5000.00")

    def test_an_order_keeps_the_configuration_versions_it_was_quoted_under(self, world: World) -> None:
        app = world.app
        order = app.place_order(world.customer(), world.request())
        before = app.lease(order)
        billing = {**app.document("billing")[1], "grace_days": 10}
        assert app.configure("billing", billing) == 2
        assert app.configure("billing", billing) == 2  # unchanged: no new version

        after = app.lease(order)
        assert after.config_versions["billing"] == 1
        assert after.terms.late_fee.grace_days == before.terms.late_fee.grace_days == 3
        assert app.document("billing", version=1)[1]["grace_days"] == 3

    def test_audit_replays_an_order_at_a_version_and_at_an_instant(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = app.place_order(world.customer(), world.request())
        placed_at = clock.now()
        clock.set(placed_at + timedelta(minutes=5))
        app.pay_checkout(order, "chk", app.lease(order).due_now, clock.now())

        first = replay(app, order, version=1)
        assert first.state["status"] is LeaseStatus.PENDING_PAYMENT
        assert [e.type for e in first.events] == ["Lease.OrderPlaced"]
        at_placing = replay(app, order, at=placed_at + timedelta(minutes=1))
        assert at_placing.version == 1
        now = replay(app, order)
        assert now.state["status"] is LeaseStatus.PENDING_CONTRACT
        assert [e.type for e in now.events] == ["Lease.OrderPlaced", "Lease.CheckoutPaid", "Lease.ReviewApproved"]
        with pytest.raises(NotFound):
            replay(app, order, version=9)
        with pytest.raises(InvalidInput):
            replay(app, order, version=1, at=placed_at)

    def test_invalid_requests_name_their_field_and_leave_no_events(self, world: World) -> None:
        app = world.app
        customer = world.customer()
        before = app.recorder.max_notification_id()
        for request, field in (
            (world.request(LongTerm(24)), "plan.months"),
            (world.request(quantity=0), "quantity"),
            (world.request(channel="partner-x"), "channel"),
            (world.request(ShortTerm(date(2026, 1, 1), date(2026, 1, 5))), "plan.start"),
        ):
            with pytest.raises(InvalidInput) as error:
                app.place_order(customer, request)
            assert error.value.field == field
        assert app.recorder.max_notification_id() == before
        with pytest.raises(InvalidState, match="leasing"):
            app.settle(world.leasing(customer))

    def test_finance_waives_part_of_a_late_fee_and_a_goodwill_credit_pays_the_rest_without_money(
        self, world: World
    ) -> None:
        app, clock = world.app, world.clock
        customer = world.customer()
        order = world.leasing(customer)  # installment 2 of 200.00 falls due on 28 February
        clock.set(local(2026, 3, 9))
        app.run_daily()
        lease = app.lease(order)
        assert (lease.ledger.balances[1].late_fee, lease.owed_by(clock.now())) == (D("1.20"), D("201.20"))  # 6 days
        paid_in = lease.paid_in

        app.waive_late_fee(order, 2, D("0.50"), "first time late", "fin-1")
        lease = app.lease(order)
        assert lease.owed_by(clock.now()) == D("200.70")
        assert (lease.ledger.balances[1].late_fee, lease.ledger.fees_waived) == (D("0.70"), D("0.50"))
        assert app.credit_line(customer).is_blocked and lease.collection_stage == "sms"  # still overdue

        app.grant_goodwill_credit(order, D("200.70"), "the courier lost a week", "fin-2")
        lease = app.lease(order)
        assert lease.owed_by(clock.now()) == D("0.00") and not lease.ledger.is_overdue
        assert lease.ledger.goodwill.total == D("200.70") and lease.paid_in == paid_in  # no money came in
        assert not app.credit_line(customer).is_blocked and lease.collection_stage is None
        events = list(app.events.get(order))
        adjusted = [e for e in events if isinstance(e, Lease.LateFeeWaived | Lease.GoodwillCredited)]
        assert [(type(e), e.amount, e.reason, e.staff) for e in adjusted] == [
            (Lease.LateFeeWaived, D("0.50"), "first time late", "fin-1"),
            (Lease.GoodwillCredited, D("200.70"), "the courier lost a week", "fin-2"),
        ]
        assert isinstance(events[-1], Lease.CollectionStageChanged) and events[-1].stage is None

        clock.set(local(2026, 3, 20))
        app.run_daily()
        lease = app.lease(order)
        assert lease.ledger.balances[1].owed == D("0.00") and lease.ledger.balances[1].late_fee == D("0.70")
        audit = replay(app, order)
        assert "Lease.LateFeeWaived" in [e.type for e in audit.events]
        assert audit.state["ledger"].fees_waived == D("0.50")

    def test_adjustments_are_refused_naming_the_field_or_the_state_and_leave_no_events(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer())
        clock.set(local(2026, 3, 9))
        before = app.recorder.max_notification_id()
        for adjust, field in (
            (lambda: app.waive_late_fee(order, 2, D("1.21"), "more than the fee", "fin-1"), "amount"),
            (lambda: app.waive_late_fee(order, 13, D("0.10"), "no such installment", "fin-1"), "seq"),
            (lambda: app.waive_late_fee(order, 2, D("0.10"), " ", "fin-1"), "reason"),
            (lambda: app.grant_goodwill_credit(order, D("0.00"), "nothing", "fin-1"), "amount"),
            (lambda: app.grant_goodwill_credit(order, D("2201.21"), "more than owed", "fin-1"), "amount"),
        ):
            with pytest.raises(InvalidInput) as error:
                adjust()
            assert error.value.field == field
        assert app.recorder.max_notification_id() == before
        pending = app.place_order(world.customer(), world.request())
        before = app.recorder.max_notification_id()
        with pytest.raises(InvalidState, match="pending_payment"):
            app.grant_goodwill_credit(pending, D("10.00"), "not leasing yet", "fin-1")
        with pytest.raises(NotFound):
            app.grant_goodwill_credit(uuid4(), D("10.00"), "no such order", "fin-1")
        assert app.recorder.max_notification_id() == before


def _report():
    from leasecore.application import DailyReport

    return DailyReport(date.today())


class TestOnMemory(ApplicationBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(ApplicationBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ApplicationBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

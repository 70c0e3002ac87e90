"""Payments through a provider: priced by the platform, settled once by the provider's notification."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from uuid import uuid4

import pytest

from adapters.payments.sandbox import SandboxPayments
from api.bootstrap import application
from leasecore.clock import SettableClock
from leasecore.errors import InvalidInput, InvalidState, Refused
from leasecore.lease import LeaseStatus
from leasecore.money.payments import Payment, PaymentPurpose, PaymentStatus
from leasecore.values import LongTerm
from tests.support import START, World, build_world, close


class PaymentBehaviour:
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

    def test_the_checkout_payment_is_priced_by_the_platform_and_recorded_once(self, world: World) -> None:
        app = world.app
        order = app.place_order(world.customer(), world.request())
        payment = app.request_payment(order, PaymentPurpose.CHECKOUT, "sandbox", amount=D("1.00"))
        assert payment.amount == D("700.00")

        for _ in range(2):
            app.complete_payment(payment.id, "T-1", D("700.00"), world.clock.now())
        assert app.payment(payment.id).status is PaymentStatus.SUCCEEDED
        assert app.lease(order).status is LeaseStatus.PENDING_CONTRACT
        assert [type(e) for e in app.events.get(payment.id)] == [Payment.Requested, Payment.Succeeded]
        with pytest.raises(InvalidState, match="succeeded"):
            app.complete_payment(payment.id, "T-2", D("700.00"), world.clock.now())
        with pytest.raises(InvalidState, match="pending_contract"):
            app.request_payment(order, PaymentPurpose.CHECKOUT, "sandbox")

    def test_a_payment_asked_twice_under_one_key_is_one_payment(self, world: World) -> None:
        """A form sent twice (a double tap, a reload) names the same payment: the provider is asked for it again,
        no second payment is recorded; the key cannot name another order's or another purpose's payment."""
        app = world.app
        app.gateways = {"sandbox": SandboxPayments(world.clock)}
        order = app.place_order(world.customer(), world.request())
        key = uuid4()
        first = app.collect(order, PaymentPurpose.CHECKOUT, payment_id=key)
        again = app.collect(order, PaymentPurpose.CHECKOUT, payment_id=key)
        assert (first.payment_id, again.payment_id, again.amount) == (str(key), str(key), D("700.00"))
        assert [type(e).__name__ for e in app.events.get(key)] == ["Requested"]
        other = app.place_order(world.customer(), world.request())
        with pytest.raises(InvalidInput, match="payment_id"):
            app.collect(other, PaymentPurpose.CHECKOUT, payment_id=key)

    def test_an_installments_payment_may_be_partial_and_defaults_to_what_is_due_now(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer())
        with pytest.raises(Refused, match="nothing is due now"):
            app.request_payment(order, PaymentPurpose.INSTALLMENTS, "sandbox")
        clock.set(START + timedelta(days=31))  # 3 March: installment 2 (28 Feb) is in its last grace day
        assert app.request_payment(order, PaymentPurpose.INSTALLMENTS, "sandbox").amount == D("200.00")
        partial = app.request_payment(order, PaymentPurpose.INSTALLMENTS, "sandbox", amount=D("50.00"))
        with pytest.raises(InvalidInput, match="amount"):
            app.request_payment(order, PaymentPurpose.INSTALLMENTS, "sandbox", amount=D("2200.01"))
        app.complete_payment(partial.id, "T-9", D("50.00"), clock.now())
        assert app.lease(order).ledger.balances[1].rent_paid == D("50.00")

    def test_buyout_and_damage_payments_are_priced_by_the_platform(self, world: World) -> None:
        app, clock = world.app, world.clock
        order = world.leasing(world.customer(), world.request(LongTerm(12)))
        buyout = app.request_payment(order, PaymentPurpose.BUYOUT, "sandbox", amount=D("1.00"))
        assert buyout.amount == D("2480.00")
        app.complete_payment(buyout.id, "B-1", buyout.amount, clock.now())
        assert app.lease(order).status is LeaseStatus.SETTLED
        with pytest.raises(InvalidState, match="settled"):
            app.request_payment(order, PaymentPurpose.DAMAGE, "sandbox")

    def test_a_failed_payment_changes_nothing_on_the_order(self, world: World) -> None:
        app = world.app
        order = app.place_order(world.customer(), world.request())
        payment = app.request_payment(order, PaymentPurpose.CHECKOUT, "sandbox")
        app.fail_payment(payment.id, "card declined")
        app.fail_payment(payment.id, "card declined")
        assert app.payment(payment.id).status is PaymentStatus.FAILED
        assert app.lease(order).status is LeaseStatus.PENDING_PAYMENT
        with pytest.raises(InvalidState, match="failed"):
            app.complete_payment(payment.id, "T-3", D("700.00"), world.clock.now())


class TestOnMemory(PaymentBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(PaymentBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(PaymentBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

"""Random lifecycles, invalid commands included, checked after every step.

Only legal transitions happen; no refused command leaves an event behind; for every order
money in + taken from the freeze − refunds = what the lease retains + the deposit held, and what the provider froze
= taken + unfrozen + still frozen (nothing still frozen once the order ends; the provider took and unfroze exactly
what the deposit recorded as confirmed); the credit line is never
over-committed and each reservation is released exactly once, when the order ends; every
aggregate replayed from its stored events equals the live object the command saved, and replayed
as of any instant equals the state it was saved in at that instant.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from adapters.payments.sandbox import SandboxPayments
from api.bootstrap import application
from leasecore.audit import replay, state_of
from leasecore.clock import SettableClock
from leasecore.credit.credit_line import CreditLine
from leasecore.errors import LeaseError, NotFound
from leasecore.lease import Lease, LeaseStatus
from leasecore.money.deposit import FreezeOperationKind
from leasecore.values import DepositMode, LongTerm, ShortTerm
from tests.support import START, World, build_world

S = LeaseStatus
STATUS_AFTER: dict[str, LeaseStatus | None] = {
    "OrderPlaced": S.PENDING_PAYMENT,
    "CheckoutPaid": S.PENDING_REVIEW,
    "ReviewQueued": None,
    "ReviewApproved": S.PENDING_CONTRACT,
    "ReviewRejected": S.REJECTED,
    "Cancelled": S.CANCELLED,
    "ContractSigned": S.PENDING_SHIPMENT,
    "Shipped": S.SHIPPED,
    "Delivered": S.LEASING,
    "InstallmentPaid": None,
    "OverdueAssessed": None,
    "CollectionStageChanged": None,
    "RenewalAgreed": None,
    "ReturnRequested": S.RETURNING,
    "SwappedOut": S.RETURNING,
    "DeviceReturned": S.INSPECTING,
    "InspectionCompleted": None,
    "BoughtOut": S.BOUGHT_OUT,
    "BalancePaid": None,
    "SettlementPending": S.PENDING_SETTLEMENT,
    "Settled": S.SETTLED,
    "StrayPaymentRefunded": None,
}
LEGAL = {
    (S.PENDING_PAYMENT, S.PENDING_REVIEW),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PENDING_REVIEW, S.PENDING_CONTRACT),
    (S.PENDING_REVIEW, S.REJECTED),
    (S.PENDING_REVIEW, S.CANCELLED),
    (S.PENDING_CONTRACT, S.PENDING_SHIPMENT),
    (S.PENDING_CONTRACT, S.CANCELLED),
    (S.PENDING_SHIPMENT, S.SHIPPED),
    (S.PENDING_SHIPMENT, S.CANCELLED),
    (S.SHIPPED, S.LEASING),
    (S.LEASING, S.RETURNING),
    (S.LEASING, S.BOUGHT_OUT),
    (S.RETURNING, S.INSPECTING),
    (S.INSPECTING, S.SETTLED),
    (S.INSPECTING, S.PENDING_SETTLEMENT),
    (S.PENDING_SETTLEMENT, S.SETTLED),
    (S.BOUGHT_OUT, S.SETTLED),
}
ENDED = (S.SETTLED, S.CANCELLED, S.REJECTED)
SHANGHAI = timezone(timedelta(hours=8))
TICK = timedelta(microseconds=1)

amounts = st.decimals(min_value=D("0.01"), max_value=D("3000.00"), places=2)


class LeaseLifecycle(RuleBasedStateMachine):
    @initialize()
    def world(self) -> None:
        self.clock = SettableClock(START)
        self.app = application("memory:", clock=self.clock)
        self.w: World = build_world(self.app, self.clock, units=8)
        self.customers = [self.w.customer(score=score) for score in (720, 650, 580)]
        self.money_in: dict[UUID, D] = {}
        self.refs = 0
        self.live: dict[UUID, dict[str, Any]] = {}
        self.history: dict[UUID, list[tuple[datetime, dict[str, Any]]]] = {}
        self.created: set[UUID] = set()
        self.saved: set[UUID] = set()
        self.checked: dict[UUID, int] = {}
        save = self.app.save

        def remembering_save(*aggregates: Aggregate, **kwargs: Any) -> Any:
            self.created.update(
                a.id for a in aggregates if a.pending_events and a.pending_events[0].originator_version == 1
            )
            recordings = save(*aggregates, **kwargs)
            now = self.clock.now()
            for aggregate in aggregates:
                self.live[aggregate.id] = state = state_of(aggregate)
                self.remember(aggregate.id, now, copy.deepcopy(state))
                if isinstance(aggregate, CreditLine):
                    assert aggregate.reserved_total <= aggregate.quota
            return recordings

        self.app.save = remembering_save  # type: ignore[method-assign]
        self.provider = SandboxPayments(self.clock, deliver=self.notified)
        self.app.gateways = {"sandbox": self.provider}
        self.freezes: dict[UUID, str] = {}
        for customer, mode in enumerate((DepositMode.WAIVER, DepositMode.PREAUTH, DepositMode.FULL)):
            self.place(customer, 12, False, 0, 3, customer == 1, mode)

    def notified(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.app.receive_notification("sandbox", body, headers)

    def remember(self, aggregate_id: UUID, now: datetime, state: dict[str, Any]) -> None:
        """The state an aggregate was saved in at the clock's instant: the last one saved at that instant."""
        history = self.history.setdefault(aggregate_id, [])
        if history and history[-1][0] == now:
            history.pop()
        history.append((now, state))
        self.saved.add(aggregate_id)

    def attempt(self, command: Any, *args: Any) -> bool:
        """Run a command; a refusal must leave the event store exactly as it was."""
        before = self.app.recorder.max_notification_id()
        try:
            command(*args)
        except LeaseError:
            assert self.app.recorder.max_notification_id() == before
            return False
        return True

    def ref(self, kind: str) -> str:
        self.refs += 1
        return f"{kind}-{self.refs}"

    def pay(self, command: Any, order: UUID, amount: D, backdate: int) -> None:
        """Money a provider reports as paid is always recorded: applied, or refunded as stray."""
        paid_at = max(self.app.lease(order).placed_at, self.clock.now() - timedelta(days=backdate))
        assert self.attempt(command, order, self.ref("pay"), amount, paid_at)
        self.money_in[order] += amount

    # Commands: mostly on an order in a state that allows them, sometimes on any order.

    def choose(self, data: st.DataObject, *statuses: LeaseStatus) -> UUID | None:
        """An order in one of `statuses` four times in five, else any order (invalid commands too)."""
        orders = list(self.money_in)
        if not orders:
            return None
        fitting = [o for o in orders if self.app.lease(o).status in statuses]
        if data.draw(st.integers(0, 4), label="off the path") < 4:
            return data.draw(st.sampled_from(fitting), label="order") if fitting else None
        return data.draw(st.sampled_from(orders), label="any order")

    @rule(data=st.data(), steps=st.integers(1, 12), damage=st.decimals(min_value=D("0"), max_value=D("4000"), places=2))
    def advance_an_order(self, data: st.DataObject, steps: int, damage: D) -> None:
        """Move a live order along its usual path, one natural command per step."""
        live = [o for o in self.money_in if not self.app.lease(o).status.is_final]
        if not live:
            return
        order = data.draw(st.sampled_from(live), label="order")
        for _ in range(steps):
            lease = self.app.lease(order)
            now = self.clock.now()
            match lease.status:
                case S.PENDING_PAYMENT if not self.app.deposit(order).is_secured:
                    self.freeze_deposit(order, D(0))
                case S.PENDING_PAYMENT:
                    self.pay(self.app.pay_checkout, order, lease.due_now, 0)
                case S.PENDING_REVIEW:
                    self.attempt(self.app.approve, order, "reviewer", "ok")
                case S.PENDING_CONTRACT:
                    self.attempt(self.app.record_contract, order, f"contract-{order}")
                case S.PENDING_SHIPMENT:
                    serials = list(self.app.units_held(order))
                    self.attempt(self.app.ship, order, serials, "SF", "SF-1")
                case S.SHIPPED:
                    self.attempt(self.app.confirm_receipt, order)
                case S.LEASING:
                    self.end_of_term(data, order, lease, now)
                case S.RETURNING:
                    self.attempt(self.app.record_return, order)
                case S.INSPECTING:
                    self.attempt(self.app.complete_inspection, order, damage, "inspected")
                case S.PENDING_SETTLEMENT:
                    self.pay(self.app.pay_balance, order, lease.owed(now), 0)
                case _:
                    return

    def end_of_term(self, data: st.DataObject, order: UUID, lease: Lease, now: datetime) -> None:
        """Pay what is due, let time run to the end of the term, then return, renew, swap or buy out."""
        assert lease.ends_on is not None
        window = lease.ends_on - timedelta(days=6)
        if lease.owed_by(now) > 0:
            self.pay(self.app.pay_installments, order, lease.owed_by(now), 0)
        elif lease.local_date(now) < window:
            self.clock.set(max(now, datetime.combine(window, time(10), tzinfo=SHANGHAI)))
            self.app.run_daily()
        else:
            choice = data.draw(st.sampled_from(["return", "renew", "swap", "buy out"]), label="end of term")
            if choice == "return":
                self.attempt(self.app.request_return, order, "SF-BACK")
            elif choice == "renew":
                self.attempt(self.app.renew, order, data.draw(st.integers(1, 6), label="months"))
            elif choice == "swap":
                if self.attempt(self.app.swap, order, self.w.sku_id, "SF-SWAP"):
                    self.money_in[self.app.lease(order).swapped_to] = D(0)  # type: ignore[index]
            else:
                try:
                    _, to_pay = self.app.buyout_quote(order)
                except LeaseError:
                    return
                if to_pay > 0:
                    self.pay(self.app.buy_out, order, to_pay, 0)
                else:
                    self.attempt(self.app.buy_out, order, self.ref("buyout"), D("0"), now)

    @rule(
        customer=st.integers(0, 2),
        months=st.sampled_from([6, 12]),
        short=st.booleans(),
        start_in=st.integers(0, 20),
        days=st.integers(3, 12),
        protection=st.booleans(),
        mode=st.sampled_from(DepositMode),
    )
    def place(
        self,
        customer: int,
        months: int,
        short: bool,
        start_in: int,
        days: int,
        protection: bool,
        mode: DepositMode,
    ) -> None:
        today = self.clock.now().date()
        plan = (
            ShortTerm(today + timedelta(days=start_in), today + timedelta(days=start_in + days - 1))
            if short
            else LongTerm(months)
        )
        request = self.w.request(plan, protection=protection, mode=mode)
        before = self.app.recorder.max_notification_id()
        try:
            order = self.app.place_order(self.customers[customer], request)
        except LeaseError:
            assert self.app.recorder.max_notification_id() == before
            return
        self.money_in[order] = D(0)

    @rule(data=st.data(), exact=st.integers(0, 9), backdate=st.integers(0, 2))
    def pay_checkout(self, data: st.DataObject, exact: int, backdate: int) -> None:
        order = self.choose(data, S.PENDING_PAYMENT)
        if order is not None:
            due = self.app.lease(order).due_now
            self.pay(self.app.pay_checkout, order, due + D("1.00") if exact == 9 else due, backdate)

    def freeze_deposit(self, order: UUID, credit: D) -> None:
        """The customer asks for the freeze and confirms it at the provider, `credit` of it waived on its credit."""
        try:
            request = self.app.collect_preauth(order)
        except LeaseError:
            return
        self.freezes[order] = request.out_request_no
        self.provider.freeze(request.out_request_no, min(credit, request.amount))

    @rule(data=st.data(), credit=st.sampled_from([D("0"), D("0.01"), D("300.00"), D("5000.00")]), late=st.booleans())
    def freeze(self, data: st.DataObject, credit: D, late: bool) -> None:
        """A freeze asked and confirmed; sometimes only asked, its notification coming later (the order may have
        been cancelled or timed out by then), and sometimes notified again."""
        if late and self.freezes:
            order = data.draw(st.sampled_from(sorted(self.freezes)), label="freeze notified late")
            self.provider.freeze(self.freezes[order], min(credit, self.app.deposit(order).to_freeze))
            return
        order = self.choose(data, S.PENDING_PAYMENT)
        if order is not None:
            self.freeze_deposit(order, credit)

    @rule(data=st.data())
    def ask_for_a_freeze_only(self, data: st.DataObject) -> None:
        order = self.choose(data, S.PENDING_PAYMENT)
        if order is not None:
            try:
                self.freezes[order] = self.app.collect_preauth(order).out_request_no
            except LeaseError:
                pass

    @rule(data=st.data())
    def send_freeze_operations(self, data: st.DataObject) -> None:
        if self.money_in:
            order = data.draw(st.sampled_from(sorted(self.money_in)), label="order")
            self.app.send_freeze_operations(order)

    @rule(data=st.data(), reject=st.integers(0, 3))
    def review(self, data: st.DataObject, reject: int) -> None:
        order = self.choose(data, S.PENDING_REVIEW)
        if order is not None:
            if reject < 3:
                self.attempt(self.app.approve, order, "reviewer", "looks fine")
            else:
                self.attempt(self.app.reject, order, "reviewer", "not this time")

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self.choose(data, S.PENDING_CONTRACT, S.PENDING_SHIPMENT)
        if order is not None:
            self.attempt(self.app.cancel, order, "changed my mind")

    @rule(data=st.data())
    def sign(self, data: st.DataObject) -> None:
        order = self.choose(data, S.PENDING_CONTRACT)
        if order is not None:
            self.attempt(self.app.record_contract, order, f"contract-{order}")

    @rule(data=st.data(), hold=st.booleans())
    def ship(self, data: st.DataObject, hold: bool) -> None:
        order = self.choose(data, S.PENDING_SHIPMENT, S.SHIPPED)
        if order is None:
            return
        serials = list(self.app.units_held(order))
        self.attempt(self.app.ship, order, serials, "SF", "SF-1")
        if not hold:
            self.attempt(self.app.confirm_receipt, order)

    @rule(data=st.data(), amount=amounts, backdate=st.integers(0, 10))
    def pay_installments(self, data: st.DataObject, amount: D, backdate: int) -> None:
        order = self.choose(data, S.LEASING)
        if order is not None:
            self.pay(self.app.pay_installments, order, amount, backdate)

    @rule(data=st.data(), backdate=st.integers(0, 10))
    def pay_what_is_due(self, data: st.DataObject, backdate: int) -> None:
        order = self.choose(data, S.LEASING)
        if order is not None:
            owed = self.app.lease(order).owed_by(self.clock.now())
            if owed > 0:
                self.pay(self.app.pay_installments, order, owed, backdate)

    @rule(minutes=st.integers(1, 25))
    def minutes_pass(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.app.run_daily()

    @rule(days=st.integers(1, 40))
    def days_pass(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        self.app.run_daily()

    @rule(data=st.data(), months=st.integers(0, 12))
    def renew(self, data: st.DataObject, months: int) -> None:
        order = self.choose(data, S.LEASING)
        if order is not None:
            self.attempt(self.app.renew, order, months)

    @rule(data=st.data(), swap=st.integers(0, 3))
    def send_back(self, data: st.DataObject, swap: int) -> None:
        order = self.choose(data, S.LEASING)
        if order is None:
            return
        if swap == 3:
            if self.attempt(self.app.swap, order, self.w.sku_id, "SF-SWAP"):
                self.money_in[self.app.lease(order).swapped_to] = D(0)  # type: ignore[index]
        else:
            self.attempt(self.app.request_return, order, "SF-BACK")

    @rule(data=st.data(), damage=st.decimals(min_value=D("0"), max_value=D("5000"), places=2))
    def receive_back_and_inspect(self, data: st.DataObject, damage: D) -> None:
        order = self.choose(data, S.RETURNING, S.INSPECTING)
        if order is not None:
            self.attempt(self.app.record_return, order)
            self.attempt(self.app.complete_inspection, order, damage, "inspected")

    @rule(data=st.data())
    def pay_the_balance(self, data: st.DataObject) -> None:
        order = self.choose(data, S.PENDING_SETTLEMENT)
        if order is not None:
            owed = self.app.lease(order).owed(self.clock.now())
            self.pay(self.app.pay_balance, order, owed if owed > 0 else D("1.00"), 0)

    @rule(data=st.data(), exact=st.integers(0, 5))
    def buy_out(self, data: st.DataObject, exact: int) -> None:
        order = self.choose(data, S.LEASING)
        if order is None:
            return
        try:
            _, to_pay = self.app.buyout_quote(order)
        except LeaseError:
            to_pay = D("100.00")
        amount = to_pay + D("5.00") if exact == 5 else to_pay
        if amount > 0:
            self.pay(self.app.buy_out, order, amount, 0)
        else:
            self.attempt(self.app.buy_out, order, self.ref("buyout"), D("0"), self.clock.now())

    # Invariants after every step.

    @invariant()
    def only_legal_transitions(self) -> None:
        for order in self.money_in:
            chain = [S.PENDING_PAYMENT]
            for event in self.app.events.get(order):
                after = STATUS_AFTER[type(event).__name__]
                if after is not None and type(event).__name__ != "OrderPlaced":
                    assert (chain[-1], after) in LEGAL, f"{chain[-1].value} → {after.value}"
                    chain.append(after)
            assert self.app.lease(order).status is chain[-1]

    @invariant()
    def money_is_conserved(self) -> None:
        for order, money_in in self.money_in.items():
            lease, deposit = self.app.lease(order), self.app.deposit(order)
            assert lease.paid_in == money_in
            kept = lease.collected().total + lease.unapplied + lease.charges_paid.total + deposit.held
            assert money_in + deposit.taken - lease.stray_refunded - deposit.refunded == kept
            assert money_in + deposit.taken - lease.refunded - deposit.refunded >= 0
            assert deposit.held >= 0 and deposit.deducted + deposit.refunded <= deposit.paid
            if lease.status is S.SETTLED:
                assert deposit.held == 0 and lease.owed(self.clock.now()) == 0

    @invariant()
    def frozen_money_is_conserved(self) -> None:
        """Frozen = taken + unfrozen + still frozen, for the deposit and for the provider alike; nothing stays frozen
        once the order has ended, and the provider moved exactly what the deposit recorded as confirmed."""
        held = {freeze.auth_no: freeze for freeze in self.provider.freeze_book.freezes.values() if freeze.frozen_at}
        for order in self.money_in:
            deposit, lease = self.app.deposit(order), self.app.lease(order)
            assert deposit.taken + deposit.unfrozen + deposit.still_frozen == deposit.frozen
            assert deposit.still_frozen >= 0 and deposit.frozen + deposit.waived_by_provider <= 2 * deposit.to_freeze
            if lease.status.is_final:
                assert deposit.still_frozen == 0
            if lease.status not in (S.PENDING_PAYMENT, S.CANCELLED) and deposit.preauth:
                assert deposit.is_secured
            for auth_no, freeze in deposit.freezes.items():
                provider = held[auth_no]
                assert provider.fund == freeze.fund
                assert provider.taken + provider.unfrozen + provider.rest == provider.fund
                done = [op for op in deposit.operations.values() if op.auth_no == auth_no and op.done]
                taken = sum((op.amount for op in done if op.kind is FreezeOperationKind.TAKE), D(0))
                assert (provider.taken, provider.unfrozen) == (taken, sum((op.amount for op in done), D(0)) - taken)

    @invariant()
    def each_waiver_is_released_exactly_once_when_the_order_ends(self) -> None:
        for customer in self.customers:
            try:
                line = self.app.credit_line(customer)
            except LeaseError:
                continue
            events = list(self.app.events.get(line.id))
            reserved = [e.order_id for e in events if isinstance(e, CreditLine.WaiverReserved)]
            released = [e.order_id for e in events if isinstance(e, CreditLine.WaiverReleased)]
            assert len(released) == len(set(released)) and set(released) <= set(reserved)
            for order in reserved:
                ended = self.app.lease(order).status in ENDED
                assert (order in released) == ended
                assert (order in line.reserved) == (not ended)
            assert line.reserved_total <= line.quota

    @invariant()
    def replayed_state_equals_live_state(self) -> None:
        for aggregate_id, live in self.live.items():
            assert state_of(self.app.repository.get(aggregate_id)) == live

    @invariant()
    def replay_at_an_instant_gives_the_state_saved_at_that_instant(self) -> None:
        """Replayed at the instant a state was saved, or until just before the next, an aggregate is in that state,
        and before its first event it is not found: each state is checked when saved and again once superseded."""
        for aggregate_id in self.saved:
            history = self.history[aggregate_id]
            start = max(self.checked.get(aggregate_id, 0) - 1, 0)
            if start == 0 and aggregate_id in self.created:
                with pytest.raises(NotFound):
                    replay(self.app, aggregate_id, at=history[0][0] - TICK)
            for index in range(start, len(history)):
                instant, state = history[index]
                assert replay(self.app, aggregate_id, at=instant).state == state
                if index + 1 < len(history):
                    assert replay(self.app, aggregate_id, at=history[index + 1][0] - TICK).state == state
            self.checked[aggregate_id] = len(history)
        self.saved.clear()


TestLeaseLifecycle = LeaseLifecycle.TestCase
TestLeaseLifecycle.settings = settings(
    max_examples=20, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.slow
class TestLeaseLifecycleAtLength(LeaseLifecycle.TestCase):  # type: ignore[misc, valid-type]
    settings = settings(
        max_examples=200, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )

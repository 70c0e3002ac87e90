"""Erasure end to end on SQLite and PostgreSQL: after a customer's personal data is erased, the stored rows hold
none of it in plain, every aggregate replays from its first event with every figure as before and its personal
fields "erased", the read models say "erased" and a rebuild from zero gives the same rows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

import projections.conversations
import projections.customers
import projections.orders
from api.backup import back_up, restore
from api.bootstrap import Platform, application, bootstrap, persistence_env
from api.privacy import erase_customer, erasures, seal_everything
from api.replays import jsonable
from api.store import ApiStore
from leasecore.application import LeaseApplication
from leasecore.application.privacy import OrdersStillOpen
from leasecore.clock import SettableClock
from leasecore.credit.customer import Customer
from leasecore.lease.lease import CallOutcome, Lease
from leasecore.values import ERASED_ADDRESS, LongTerm
from tests.support import START, World, build_world, close

PHONE, NAME, ID_NUMBER = "13912345678", "Han Meimei", "11010519491231002X"
PLAIN = (PHONE.encode(), NAME.encode(), ID_NUMBER.encode(), b"Test Street", b"13900000000", b"my flat")
TABLES = ("orders_view", "customers_view", "conversations_view", "conversation_messages_view", "collection_tasks_view")


class ErasureBehaviour:
    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def setup(self, database_url: str) -> Iterator[tuple[Platform, World]]:
        clock = SettableClock(START)
        platform = bootstrap(database_url, clock=clock)
        try:
            yield platform, build_world(platform.app, clock)
        finally:
            platform.close()

    def rows(self, platform: Platform) -> dict[str, list[Any]]:
        with platform.views.read() as connection:
            return {
                table: sorted(map(tuple, connection.execute(sqlalchemy.text(f"SELECT * FROM {table}"))), key=repr)
                for table in TABLES
            }

    def figures(self, app: Any, customer: Any, order: Any) -> tuple[Any, ...]:
        lease, deposit, line = app.lease(order), app.deposit(order), app.credit_line(customer)
        return (lease.status, lease.ledger, lease.schedule, deposit.deducted, deposit.paid, line.quota, line.available)

    def test_an_erased_customer_reads_erased_everywhere_and_every_figure_stays(
        self, setup: tuple[Platform, World], database_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        platform, world = setup
        app, clock = platform.app, world.clock
        customer = world.customer(phone=PHONE)
        order = world.leasing(customer, world.request(LongTerm(12)))
        open_order = None
        with pytest.raises(OrdersStillOpen, match=str(order)):
            erase_customer(app, platform.views, None, customer, "admin", "customer's request")
        app.record_call(order, CallOutcome.REACHED, "she is in my flat till May", None, "collector1")
        _, to_pay = app.buyout_quote(order)
        app.buy_out(order, "buyout-1", to_pay, clock.now())
        conversation = app.open_conversation(customer, "about my flat", f"call {PHONE}", order)
        app.answer_conversation(conversation, "staff1", f"Thank you {NAME}")
        platform.runner.catch_up()
        before = self.figures(app, customer, order)
        store = ApiStore(platform.views)
        store.setup()

        erasure = erase_customer(app, platform.views, store, customer, "admin", "customer's request")
        again = erase_customer(app, platform.views, store, customer, "admin", "customer's request")
        platform.runner.catch_up()

        assert (erasure.orders, erasure.conversations, erasure.keys_deleted) == ((order,), (conversation,), 1)
        assert (again.erased_at, again.orders, again.keys_deleted) == (erasure.erased_at, erasure.orders, 0)
        engine = sqlalchemy.create_engine(database_url)
        try:
            with engine.connect() as connection:
                states = connection.execute(sqlalchemy.text("SELECT state FROM leasecore_events")).scalars()
                stored = b"".join(bytes(state) for state in states)
        finally:
            engine.dispose()
        assert [plain for plain in PLAIN if plain in stored] == []

        fresh = application(database_url, clock=clock)
        try:
            assert self.figures(fresh, customer, order) == before
            replayed: Customer = fresh.customer(customer)
            assert (replayed.phone, replayed.name, replayed.id_number, replayed.erased) == (
                "erased",
                "erased",
                "erased",
                True,
            )
            assert not replayed.is_verified and replayed.score == app.customer(customer).score
            assert fresh.lease(order).address == ERASED_ADDRESS
            calls = [e for e in fresh.events.get(order) if isinstance(e, Lease.CallRecorded)]
            assert [(call.notes, call.outcome, call.staff) for call in calls] == [("erased", "reached", "collector1")]
            first = fresh.mapper.to_domain_event(fresh.recorder.select_events(order, limit=1)[0])
            assert first.address == ERASED_ADDRESS  # type: ignore[attr-defined]
        finally:
            close(fresh)

        view = projections.orders.order(platform.views, order)
        assert view is not None and (view.address.name, view.address.phone, view.address.line) == ("erased",) * 3
        found = projections.customers.customer(platform.views, customer)
        assert found is not None and (found.phone, found.name) == ("erased", "erased")
        talks = projections.conversations.customer_conversations(platform.views, customer, with_messages=True)
        assert [(c.subject, [m.text for m in c.messages]) for c in talks.items] == [("erased", ["erased", "erased"])]
        incremental = self.rows(platform)
        platform.runner.rebuild()
        assert self.rows(platform) == incremental

        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert PHONE not in logged and ID_NUMBER not in logged
        assert open_order is None

    def test_a_customer_who_registers_again_starts_anew_under_a_new_key(self, setup: tuple[Platform, World]) -> None:
        platform, world = setup
        app = platform.app
        customer = world.customer(phone=PHONE)
        erase_customer(app, platform.views, None, customer, "admin", "customer's request")
        assert app.register_customer(PHONE) == customer
        again = app.customer(customer)
        assert (again.phone, again.erased, again.is_verified) == (PHONE, False, False)
        assert app.personal_data is not None and app.personal_data.erase(customer) == 1


    def test_another_process_seals_a_conversations_later_messages_under_its_customers_key(
        self, setup: tuple[Platform, World], database_url: str
    ) -> None:
        platform, world = setup
        customer = world.customer(phone=PHONE)
        conversation = platform.app.open_conversation(customer, "hello", "first words")
        other = application(database_url, clock=world.clock)
        try:
            other.write_to_conversation(conversation, customer, "my flat is at 8 Test Street")
            other.answer_conversation(conversation, "staff1", f"Noted, {NAME}")
            texts = [getattr(event, "text", None) for event in other.events.get(conversation)]
            assert texts == ["first words", "my flat is at 8 Test Street", f"Noted, {NAME}"]
            assert platform.app.personal_data is not None and platform.app.personal_data.erase(customer) == 1
            other_texts = [getattr(event, "text", None) for event in application_events(database_url, conversation)]
            assert other_texts == ["erased", "erased", "erased"]
        finally:
            close(other)


def application_events(database_url: str, aggregate_id: Any) -> list[Any]:
    app = application(database_url)
    try:
        return list(app.events.get(aggregate_id))
    finally:
        close(app)


class TestErasureOnSqlite(ErasureBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestErasureOnPostgres(ErasureBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


class LegacyBehaviour:
    """Events stored plain by code older than sealing: sealed in place before an erasure, or all at once."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def legacy(self, database_url: str) -> tuple[Any, Any]:
        clock = SettableClock(START)
        app = LeaseApplication(persistence_env(database_url), clock=clock)
        try:
            world = build_world(app, clock)
            customer = world.customer(phone=PHONE)
            order = app.place_order(customer, world.request(LongTerm(12)))
            app.cancel(order, "changed my mind")
        finally:
            close(app)
        return customer, order

    def stored(self, database_url: str) -> bytes:
        engine = sqlalchemy.create_engine(database_url)
        try:
            with engine.connect() as connection:
                states = connection.execute(sqlalchemy.text("SELECT state FROM leasecore_events")).scalars()
                return b"".join(bytes(state) for state in states)
        finally:
            engine.dispose()

    def test_an_erasure_seals_what_earlier_code_stored_plain_before_deleting_the_keys(
        self, legacy: tuple[Any, Any], database_url: str
    ) -> None:
        customer, order = legacy
        assert PHONE.encode() in self.stored(database_url)
        platform = bootstrap(database_url, clock=SettableClock(START))
        try:
            platform.runner.catch_up()
            assert platform.app.lease(order).address.line.endswith("Shanghai")
            erase_customer(platform.app, platform.views, None, customer, "admin", "customer's request")
        finally:
            platform.close()
        assert [plain for plain in PLAIN if plain in self.stored(database_url)] == []
        fresh = application(database_url)
        try:
            assert (fresh.customer(customer).phone, fresh.lease(order).address) == ("erased", ERASED_ADDRESS)
        finally:
            close(fresh)

    def test_sealing_everything_changes_how_fields_are_stored_not_what_they_say(
        self, legacy: tuple[Any, Any], database_url: str
    ) -> None:
        customer, order = legacy
        app = application(database_url)
        try:
            before = [jsonable(vars(event)) for event in app.events.get(order)]
            before += [jsonable(vars(event)) for event in app.events.get(customer)]
            events, _ = seal_everything(app)
            assert events >= 3 and seal_everything(app) == (0, 0)
        finally:
            close(app)
        assert [plain for plain in PLAIN if plain in self.stored(database_url)] == []
        app = application(database_url)
        try:
            after = [jsonable(vars(event)) for event in app.events.get(order)]
            after += [jsonable(vars(event)) for event in app.events.get(customer)]
            assert after == before
        finally:
            close(app)


class TestLegacyOnSqlite(LegacyBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestLegacyOnPostgres(LegacyBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


def test_a_restore_brings_back_the_keys_and_the_journal_of_erasures_erases_again(tmp_path: Path) -> None:
    """The restore caveat, as docs/privacy.md states it: a backup taken before an erasure restores the customer's
    key; the erasures listed (`leasecore admin erasures`) made again erase them again."""
    url, restored_url = f"sqlite:///{tmp_path}/live.db", f"sqlite:///{tmp_path}/restored.db"
    clock = SettableClock(START)
    platform = bootstrap(url, clock=clock)
    try:
        customer = build_world(platform.app, clock).customer(phone=PHONE)
        backup = back_up(url, tmp_path / "before.backup")
        erase_customer(platform.app, platform.views, None, customer, "admin", "customer's request")
        journal = [event.originator_id for event in erasures(platform.app)]
    finally:
        platform.close()
    assert journal == [customer]
    restore(backup.path, restored_url)
    restored = bootstrap(restored_url, clock=clock)
    try:
        assert restored.app.customer(customer).phone == PHONE
        for customer_id in journal:
            erase_customer(restored.app, restored.views, None, customer_id, "admin", "re-applied after a restore")
        assert restored.app.customer(customer).phone == "erased"
    finally:
        restored.close()

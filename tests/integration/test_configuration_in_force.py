"""The configuration an order is quoted under is read once per version and checked at save: two processes
on one database (two applications here), one changing a document while the other keeps placing orders."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from api.bootstrap import application
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock
from leasecore.credit.customer import IdentityCheck
from leasecore.values import DepositMode
from tests.support import BILLING, CREDIT_LEVELS, SCORING_RULES, START, World, build_world, close, two_processes


class Reads:
    """Counts how often an application reads the configuration documents from the store."""

    def __init__(self, app: LeaseApplication, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        read = app._read_configured

        def counted() -> Any:
            self.count += 1
            return read()

        monkeypatch.setattr(app, "_read_configured", counted)


class ConfigurationInForceBehaviour:
    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def worlds(self, database_url: str) -> Iterator[tuple[World, LeaseApplication]]:
        with two_processes(database_url, units=12) as worlds:
            yield worlds

    def test_orders_read_the_documents_once_a_version_and_never_act_on_a_stale_one(
        self, worlds: tuple[World, LeaseApplication], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        world, other = worlds
        app, reads = world.app, Reads(world.app, monkeypatch)
        customer = world.customer(score=None)
        first = [app.place_order(customer, world.request(mode=DepositMode.FULL)) for _ in range(3)]
        assert reads.count == 1
        billing = app.lease(first[0]).config_versions["billing"]

        dearer = copy.deepcopy(BILLING)
        dearer["late_fee"]["daily_rate"] = "0.002"
        assert other.configure("billing", dearer, "finance") == billing + 1

        conflicts = app.conflicts
        later = app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert app.conflicts == conflicts + 1  # the save under the old version was refused, then run again
        lease = app.lease(later)
        assert lease.config_versions["billing"] == billing + 1
        assert str(lease.terms.late_fee.daily_rate) == "0.002"
        assert reads.count == 2

        app.place_order(customer, world.request(mode=DepositMode.FULL))
        assert reads.count == 2 and app.conflicts == conflicts + 1


    def test_a_refusal_decided_under_a_stale_copy_is_decided_again_under_the_documents_in_force(
        self, database_url: str
    ) -> None:
        clock = SettableClock(START)
        app, other = application(database_url, clock=clock), application(database_url, clock=clock)
        try:
            app.configure("scoring-rules", SCORING_RULES, "risk")
            assert other.score_range() == (350, 950)  # read outside a command: the copy now lacks credit levels
            customer = other.register_customer("13900000055")
            other.record_identity(customer, IdentityCheck("Zhao Lei", "11010519491231002X", verified=True))
            app.configure("credit-levels", CREDIT_LEVELS, "risk")
            conflicts = other.conflicts
            line = other.grant_credit(customer, 720, "bureau", {})
            assert (line.level, other.conflicts) == ("B", conflicts + 1)
        finally:
            close(app)
            close(other)


class TestOnMemoryIsNotShared:
    """In memory each application has its own store; the copy is still dropped when this one changes it."""

    def test_a_document_changed_here_is_in_force_for_the_next_order(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = SettableClock(START)
        app = application("memory:", clock=clock)
        try:
            world = build_world(app, clock)
            reads = Reads(app, monkeypatch)
            customer = world.customer(score=None)
            app.place_order(customer, world.request(mode=DepositMode.FULL))
            dearer = copy.deepcopy(BILLING)
            dearer["late_fee"]["daily_rate"] = "0.002"
            version = app.configure("billing", dearer, "finance")
            order = app.place_order(customer, world.request(mode=DepositMode.FULL))
            assert app.lease(order).config_versions["billing"] == version and reads.count == 2
        finally:
            close(app)


class TestOnSQLite(ConfigurationInForceBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ConfigurationInForceBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

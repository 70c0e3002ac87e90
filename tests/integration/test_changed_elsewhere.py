"""Two processes on one store: each keeps aggregates in memory between commands, and forgets those the other
changed (`forget_changed_elsewhere`), so that its next command on them loads them afresh instead of being refused
at its save and run again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.bootstrap import application, bootstrap
from leasecore.application import LeaseApplication
from leasecore.clock import SettableClock
from tests.support import START, World, build_world, close


class ChangedElsewhereBehaviour:
    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def two(self, database_url: str) -> Iterator[tuple[World, LeaseApplication]]:
        clock = SettableClock(START)
        here = application(database_url, clock=clock)
        there = application(database_url, clock=clock)
        try:
            yield build_world(here, clock, units=8), there
        finally:
            close(there)
            close(here)

    def test_what_the_other_process_changed_is_forgotten_and_the_next_command_runs_once(
        self, two: tuple[World, LeaseApplication]
    ) -> None:
        world, there = two
        here = world.app
        assert there.forget_changed_elsewhere() == 0  # the first call notes where the log ends

        kept_stale, forgotten = world.customer(), world.customer()
        for customer in (kept_stale, forgotten):
            there.place_order(customer, world.request())  # kept there: the customer, the credit line, units
            here.place_order(customer, world.request())  # changed here since
        assert there.lease(there.customer(forgotten).orders[-1]).customer_id == forgotten

        before = there.conflicts
        there.place_order(kept_stale, world.request())
        assert there.conflicts > before  # the copy kept was refused at the save, and the command ran again

        assert there.forget_changed_elsewhere() > 0
        assert there.forget_changed_elsewhere() == 0  # nothing more since
        here.place_order(forgotten, world.request())
        assert there.forget_changed_elsewhere() > 0
        before = there.conflicts
        order = there.place_order(forgotten, world.request())
        assert there.conflicts == before
        assert there.customer(forgotten).orders[-1] == order
        assert len(here.customer(forgotten).orders) == 4

    def test_its_own_saves_are_not_forgotten(self, two: tuple[World, LeaseApplication]) -> None:
        world, _ = two
        here = world.app
        here.forget_changed_elsewhere()
        customer = world.customer()
        here.place_order(customer, world.request())
        assert here.forget_changed_elsewhere() == 0


class TestOnSQLite(ChangedElsewhereBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ChangedElsewhereBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

    def test_the_runner_of_each_process_forgets_what_the_other_changed(self, postgres_url: str) -> None:
        clock = SettableClock(START)
        here = bootstrap(postgres_url, clock=clock, follow=True)
        there = bootstrap(postgres_url, clock=clock, follow=True)
        try:
            world = build_world(here.app, clock, units=8)
            customer = world.customer()
            there.app.place_order(customer, world.request())
            here.app.place_order(customer, world.request())
            assert there.read_your_writes(10.0, here.app.saved_position())
            deadline = time.monotonic() + 10
            while there.app.forgotten == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert there.app.forgotten > 0
            before = there.app.conflicts
            there.app.place_order(customer, world.request())
            assert there.app.conflicts == before
        finally:
            there.close()
            here.close()

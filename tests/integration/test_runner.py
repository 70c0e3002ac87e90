"""Runners: exactly once, read your writes, restarts, rebuilds killed part-way; and on
PostgreSQL one runner per projection across processes, woken by NOTIFY."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import sqlalchemy
from eventsourcing.persistence import Notification
from sqlalchemy import select, update

import projections.orders
from api.bootstrap import Platform, bootstrap
from leasecore.clock import SettableClock
from leasecore.lease import Lease, LeaseStatus
from leasecore.lease.reminders import Reminder
from leasecore.topics import stored_topics
from leasecore.values import LongTerm
from projections import read_models
from projections.orders import OrdersProjection
from projections.runner import ProjectionRunner, lock_key, tracking
from tests.integration.test_projections import snapshot
from tests.support import START, World, build_world

ALL = len(read_models())


def seed(world: World, orders: int) -> None:
    """Leases with a payment each, a third of them bought out, for a log of some size."""
    app, clock = world.app, world.clock
    customers = [world.customer() for _ in range(max(1, orders // 5))]
    for n in range(orders):
        order = world.leasing(customers[n % len(customers)], world.request(LongTerm(6)))
        app.pay_installments(order, f"rent-{n}", D("300.00"), clock.now())
        if n % 3 == 0:
            _, to_pay = app.buyout_quote(order)
            app.buy_out(order, f"buyout-{n}", to_pay, clock.now())
        clock.advance(timedelta(minutes=7))


def platform_for(url: str, **kwargs: Any) -> Platform:
    return bootstrap(url, clock=SettableClock(START), **kwargs)


class RunnerBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def platform(self, database_url: str) -> Iterator[Platform]:
        platform = platform_for(database_url, poll_interval=30.0)
        try:
            yield platform
        finally:
            platform.close()

    @pytest.fixture
    def world(self, platform: Platform) -> World:
        clock = platform.app.clock
        assert isinstance(clock, SettableClock)
        return build_world(platform.app, clock, units=30)

    def test_a_client_reads_its_own_order_right_after_placing_it(self, platform: Platform, world: World) -> None:
        platform.runner.start()
        customer = world.customer()
        for _ in range(3):
            order = platform.app.place_order(customer, world.request())
            assert platform.read_your_writes(timeout=5.0)
            assert order in [o.id for o in projections.orders.orders(platform.views, customer_id=customer).items]

    def test_waiting_for_a_position_never_written_gives_up_in_time(self, platform: Platform, world: World) -> None:
        started = time.monotonic()
        assert not platform.runner.wait_until(platform.runner.head() + 1_000, timeout=0.3)
        assert time.monotonic() - started < 1.5

    def test_status_shows_each_projections_position_and_lag(self, platform: Platform, world: World) -> None:
        head = platform.runner.head()
        assert {(s.position, s.lag) for s in platform.runner.status()} == {(0, head)}
        platform.runner.catch_up()
        assert {(s.position, s.head, s.lag) for s in platform.runner.status()} == {(head, head, 0)}

    def test_a_follower_that_fails_restarts_from_its_stored_position(self, platform: Platform, world: World) -> None:
        runner = platform.runner
        orders = runner.projections["orders"]
        assert isinstance(orders, OrdersProjection)
        failures = iter([RuntimeError("the disk hiccupped")])
        process = orders.process

        def flaky(batch: Any, event: Any) -> None:
            failure = next(failures, None)
            if failure is not None:
                raise failure
            process(batch, event)

        orders.process = flaky  # type: ignore[method-assign]
        runner.poll_interval = 0.05
        runner.start()
        customer = world.customer()
        order = platform.app.place_order(customer, world.request())
        assert platform.read_your_writes(timeout=10.0)
        assert runner.restarts == 1
        assert [o.id for o in projections.orders.orders(platform.views, customer_id=customer).items] == [order]

    def test_listeners_are_woken_by_batches_holding_their_topics_only(self, platform: Platform, world: World) -> None:
        """Processes wake for the events that give them work, not after every order; a topic no read model follows
        (a reminder) still wakes its listener, and a listener of every topic hears every batch."""
        runner = platform.runner
        runner.catch_up()
        woken: list[str] = []
        runner.listen(lambda: woken.append("shipped"), stored_topics(Lease.Shipped))
        runner.listen(lambda: woken.append("reminders"), stored_topics(Reminder.Queued))
        runner.listen(lambda: woken.append("all"))
        customer = world.customer()
        order = world.leasing(customer, world.request(LongTerm(6)))
        runner.catch_up()
        assert woken.count("all") >= 1
        assert "shipped" in woken and "reminders" not in woken
        woken.clear()
        platform.app.place_order(customer, world.request(LongTerm(6)))
        runner.catch_up()
        assert set(woken) == {"all"}
        woken.clear()
        world.clock.advance(timedelta(days=40))
        platform.app.send_reminder(order)
        runner.catch_up()
        assert set(woken) == {"all", "reminders"}

    def test_a_reader_waiting_for_its_write_ends_the_gathering_at_once(self, platform: Platform, world: World) -> None:
        """The follower gathers new events for a while before applying them, but a reader waiting for a position
        (read your writes) does not wait for the gathering: here it would last 30 seconds."""
        runner = platform.runner
        runner.gather = 30.0
        runner.start()
        customer = world.customer()
        for _ in range(2):
            platform.app.place_order(customer, world.request())
            started = time.monotonic()
            assert platform.read_your_writes(timeout=10.0)
            assert time.monotonic() - started < 5.0

    def test_the_follower_takes_the_events_this_process_saved_rather_than_decoding_them(
        self, platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Events this process saved reach its read models as saved (the very objects); the log's copies are
        decoded only for events saved elsewhere, or let go of (the process holds the latest few thousand)."""
        runner, app = platform.runner, platform.app
        runner.catch_up()
        decoded: list[int] = []
        decode = app.mapper.to_domain_event

        def counted(stored: Any) -> Any:
            if isinstance(stored, Notification):  # not an aggregate's load
                decoded.append(stored.id)
            return decode(stored)

        monkeypatch.setattr(app.mapper, "to_domain_event", counted)
        order = app.place_order(world.customer(), world.request())
        runner.catch_up()
        assert decoded == []
        assert order in [o.id for o in projections.orders.orders(platform.views).items]
        head = runner.head()
        app._recent.clear()
        app.cancel(order)
        app._recent.clear()
        runner.catch_up()
        assert decoded and min(decoded) > head

    def test_a_projection_whose_tables_changed_starts_over(self, platform: Platform, world: World) -> None:
        platform.runner.catch_up()
        with platform.views.begin() as connection:
            connection.execute(update(tracking).where(tracking.c.name == "orders").values(fingerprint="older"))
        assert platform.runner.setup() == ["orders"]
        positions = platform.runner.positions()
        assert positions["orders"] == 0 and positions["stock"] == platform.runner.head()
        platform.runner.catch_up()
        assert platform.runner.setup() == []


class SharedStoreBehaviour(RunnerBehaviour):
    """Stores several runners can share (an in-memory store lives in one process with one runner)."""

    def test_runners_racing_each_other_apply_every_batch_once(
        self, platform: Platform, world: World, database_url: str
    ) -> None:
        seed(world, 6)
        platform.runner.catch_up()
        expected = snapshot(platform.views)
        platform.runner.reset()
        racers = [platform_for(database_url, batch_size=3) for _ in range(3)]
        errors: list[BaseException] = []

        def race(runner: ProjectionRunner) -> None:
            try:
                runner.catch_up()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=race, args=(racer.runner,)) for racer in racers]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        finally:
            for racer in racers:
                racer.close()
        assert errors == []
        assert snapshot(platform.views) == expected

    def test_a_follower_whose_projections_another_runner_moved_applies_each_event_once(
        self, platform: Platform, world: World, database_url: str
    ) -> None:
        """The follower starts each run from the positions it last read or moved, without asking. Where another
        runner moved them meanwhile (SQLite has no locks; on PostgreSQL the other waits for the follower), the
        batch's move finds that, and the follower reads the stored positions again instead of applying twice."""
        runner = platform.runner
        seed(world, 2)
        runner.start()
        assert platform.read_your_writes(timeout=10.0)
        other = platform_for(database_url)
        try:
            seed(world, 3)
            other.runner.catch_up()
            seed(world, 2)
            assert platform.read_your_writes(timeout=10.0)
        finally:
            other.close()
        runner.stop()
        followed = snapshot(platform.views)
        assert {status.lag for status in runner.status()} == {0}
        runner.reset()
        runner.catch_up()
        assert snapshot(platform.views) == followed

    def test_a_rebuild_another_runner_moves_ahead_of_reads_back_what_it_kept(
        self, platform: Platform, world: World, database_url: str
    ) -> None:
        """A rebuild keeps the rows it wrote for its next batches only while nobody else wrote since: when another
        runner applied a batch in between (and changed rows the rebuild kept), the rebuild reads them back."""
        seed(world, 6)
        platform.runner.catch_up()
        expected = snapshot(platform.views)
        other = platform_for(database_url, batch_size=7)
        batches = 0

        def meanwhile(position: int, head: int, applied: int) -> None:
            nonlocal batches
            batches += 1
            if batches % 2 and position < head:
                other.runner._run(other.runner.names, min(head, position + 7), None)

        try:
            platform.runner.batch_size = 5
            platform.runner.rebuild(progress=meanwhile)
        finally:
            other.close()
        assert batches > 2
        assert snapshot(platform.views) == expected


class TestOnMemory(RunnerBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(SharedStoreBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(SharedStoreBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

    def test_one_runner_per_projection_however_many_processes_run(self, platform: Platform, world: World) -> None:
        url = str(platform.views.engine.url.render_as_string(hide_password=False))
        first = platform_for(url, follow=True, poll_interval=0.1)
        second = platform_for(url, follow=True, poll_interval=0.1)
        try:
            _eventually(lambda: len(first.runner.owned() | second.runner.owned()) == ALL)
            assert first.runner.owned().isdisjoint(second.runner.owned())
            assert _advisory_locks(platform, first, second) == ALL

            customer = world.customer()
            order = platform.app.place_order(customer, world.request())
            assert second.read_your_writes(timeout=5.0)
            assert [o.id for o in projections.orders.orders(second.views, customer_id=customer).items] == [order]

            first.close()
            _eventually(lambda: second.runner.owned() == set(second.runner.names))
            order = platform.app.place_order(customer, world.request())
            assert second.read_your_writes(timeout=5.0)
            assert projections.orders.orders(second.views, customer_id=customer).total == 2
            assert _advisory_locks(platform, second) == ALL
        finally:
            first.close()
            second.close()

    def test_a_standby_asks_for_the_locks_at_most_once_a_second_and_reads_nothing_else(
        self, platform: Platform, world: World
    ) -> None:
        """While another process runs every read model, each event wakes the standby's follower; it tries the
        locks in one statement a second at most, and reads neither the log's head nor the positions."""
        url = str(platform.views.engine.url.render_as_string(hide_password=False))
        first = platform_for(url, follow=True, poll_interval=0.1)
        _eventually(lambda: first.runner.owned() == set(first.runner.names))
        second = platform_for(url, follow=True, poll_interval=0.1)
        try:
            locks = second.runner._locks
            assert locks is not None
            _eventually(lambda: locks._next_try > 0)  # its first try found every lock taken
            tries: list[float] = []
            reads: list[str] = []
            acquire, head, positions = locks.acquire, second.runner.head, second.runner.positions

            def tried(names: Any) -> set[str]:
                before = locks._next_try
                held = acquire(names)
                if locks._next_try != before:
                    tries.append(time.monotonic())
                return held

            def read(what: str, how: Any) -> Any:
                reads.append(what)
                return how()

            locks.acquire = tried  # type: ignore[method-assign]
            second.runner.head = lambda: read("head", head)  # type: ignore[method-assign]
            second.runner.positions = lambda: read("positions", positions)  # type: ignore[method-assign]
            started = time.monotonic()
            for n in itertools.count():
                if time.monotonic() - started > 2.5:
                    break
                platform.app.register_customer(f"1380000{n:04d}")
                time.sleep(0.05)
            assert second.runner.owned() == set()
            assert 2 <= len(tries) <= 4, tries
            assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(tries))
            assert reads == []
        finally:
            first.close()
            second.close()

    def test_notify_wakes_the_follower_long_before_it_would_poll(self, platform: Platform, world: World) -> None:
        platform.runner.start()
        _eventually(lambda: platform.runner.owned() == set(platform.runner.names))
        customer = world.customer()
        order = platform.app.place_order(customer, world.request())
        started = time.monotonic()
        assert platform.runner.wait_until(platform.app.recorder.max_notification_id() or 0, timeout=5.0)
        assert time.monotonic() - started < 2.0  # it polls every 30 s
        assert projections.orders.order(platform.views, order) is not None

    def test_a_lost_connection_restarts_the_follower_from_its_stored_position(
        self, platform: Platform, world: World
    ) -> None:
        runner = platform.runner
        runner.poll_interval = 0.1
        runner.start()
        _eventually(lambda: runner.owned() == set(runner.names))
        assert runner._locks is not None
        pid = runner._locks.backend_pid()
        with platform.views.engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        customer = world.customer()
        order = platform.app.place_order(customer, world.request())
        assert platform.read_your_writes(timeout=10.0)
        # The follower learns of the loss at its next use of that connection (its next poll), which may come after
        # it applied the order: the batch's own transaction keeps its position either way.
        _eventually(lambda: runner.restarts >= 1)
        assert runner._locks.backend_pid() != pid
        assert projections.orders.order(platform.views, order) is not None
        again = platform.app.place_order(customer, world.request())
        assert platform.read_your_writes(timeout=10.0)
        assert projections.orders.order(platform.views, again) is not None

    def test_waiting_on_a_projection_another_process_holds_gives_up_in_time(
        self, platform: Platform, world: World
    ) -> None:
        platform.runner.catch_up()
        with platform.views.engine.connect() as holder:
            schema = holder.execute(sqlalchemy.text("SELECT current_schema()")).scalar_one()
            for name in platform.runner.names:
                holder.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(schema, name)})
            platform.app.place_order(world.customer(), world.request())
            started = time.monotonic()
            assert not platform.read_your_writes(timeout=0.5)
            assert time.monotonic() - started < 2.0
            assert platform.runner.owned() == set()
            holder.execute(sqlalchemy.text("SELECT pg_advisory_unlock_all()"))
        assert platform.read_your_writes(timeout=5.0)


def _eventually(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def _advisory_locks(platform: Platform, *holders: Platform) -> int:
    """Advisory locks granted to these runners' connections (other tests may hold their own)."""
    pids = [holder.runner._locks.backend_pid() for holder in holders if holder.runner._locks is not None]
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = ANY(:pids)"
    with platform.views.engine.connect() as connection:
        return int(connection.execute(sqlalchemy.text(query), {"pids": pids}).scalar_one())


# A rebuild killed part-way.


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_rebuild_killed_part_way_resumes_to_the_same_tables(request: pytest.FixtureRequest, store: str) -> None:
    url = str(request.getfixturevalue(f"{store}_url"))
    platform = platform_for(url)
    try:
        seed(build_world(platform.app, _clock(platform), units=80), 60)
        platform.runner.rebuild()
        expected = snapshot(platform.views)
        head = platform.runner.head()
    finally:
        platform.close()

    command = [sys.executable, "-m", "api.cli", "projections", "rebuild", "--batch-size", "5", "--database-url", url]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        position = _position_part_way(url, head, child)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert 0 < position < head, "the rebuild was not caught part-way"

    platform = platform_for(url)
    try:
        stopped_at = min(platform.runner.positions().values())
        assert stopped_at > 0
        applied = platform.runner.catch_up()
        assert snapshot(platform.views) == expected
        assert 0 < applied < head - stopped_at + 1
    finally:
        platform.close()


def _position_part_way(url: str, head: int, child: subprocess.Popen[bytes]) -> int:
    """The lowest stored position, as soon as the rebuild has reset it and committed something."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            try:
                with engine.connect() as connection:
                    positions = list(connection.execute(select(tracking.c.position)).scalars())
            except sqlalchemy.exc.OperationalError:
                positions = []
            if positions and 0 < min(positions) < head:
                return int(min(positions))
            time.sleep(0.005)
    finally:
        engine.dispose()
    raise AssertionError("the rebuild never started, or finished before it could be stopped")


def _clock(platform: Platform) -> SettableClock:
    clock = platform.app.clock
    assert isinstance(clock, SettableClock)
    return clock


@pytest.mark.slow
def test_on_sqlite_a_save_waits_in_the_process_for_a_batch_of_the_read_models(sqlite_url: str) -> None:
    """One SQLite file, one writer at a time. A save behind a batch of the read models waits on the process's one
    write lock and goes when the batch commits, however long it took; it no longer waits in SQLite's busy handler
    (sleeps of up to 50 ms, and `database is locked` after the event store's 5 s)."""
    platform = platform_for(sqlite_url)
    try:
        world = build_world(platform.app, platform.app.clock, units=3)  # type: ignore[arg-type]
        customer = world.customer()
        held = threading.Event()

        def batch_of_six_seconds() -> None:
            with platform.views.begin():
                held.set()
                time.sleep(6.0)

        writer = threading.Thread(target=batch_of_six_seconds)
        writer.start()
        assert held.wait(5)
        started = time.monotonic()
        order = platform.app.place_order(customer, world.request())
        waited = time.monotonic() - started
        writer.join()
        assert platform.app.lease(order).status is LeaseStatus.PENDING_PAYMENT
        assert waited >= 5.5
    finally:
        platform.close()

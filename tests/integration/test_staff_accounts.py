"""Staff accounts disabled and enabled through the application, and their read model, on memory, SQLite and
PostgreSQL: who disabled an account and why, nobody disabling their own, the last enabled admin kept, and the read
model rebuilding to the rows it was built to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

import projections.staff
from api.bootstrap import Platform, bootstrap
from leasecore.clock import SettableClock
from leasecore.errors import InvalidInput, InvalidState, NotFound
from leasecore.staff import LastEnabledAdmin, OwnAccount, Role, StaffAccount
from projections import read_models
from projections.projection import Batch
from projections.staff import StaffView, staff_view
from projections.store import ViewStore
from tests.support import START


def rows(views: ViewStore) -> list[tuple[object, ...]]:
    with views.read() as connection:
        return [tuple(row) for row in connection.execute(select(staff_view).order_by(staff_view.c.account_id))]


class StaffAccountsBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def platform(self, database_url: str) -> Iterator[Platform]:
        platform = bootstrap(database_url, clock=SettableClock(START))
        try:
            app = platform.app
            app.save_staff_account("boss", (Role.ADMIN,), "hash-boss")
            app.save_staff_account("Wang.Ops", (Role.OPERATOR, Role.FINANCE), "hash-wang")
            yield platform
        finally:
            platform.close()

    def later(self, platform: Platform, minutes: int) -> None:
        clock = platform.app.clock
        assert isinstance(clock, SettableClock)
        clock.advance(timedelta(minutes=minutes))

    def test_a_disabled_account_is_listed_with_who_disabled_it_when_and_why(self, platform: Platform) -> None:
        app, views = platform.app, platform.views
        self.later(platform, 30)
        app.disable_staff_account("wang.ops", "boss", "  left the company ")
        platform.runner.catch_up()
        assert app.staff_account("Wang.Ops").disabled
        boss, wang = projections.staff.staff_accounts(views)
        assert boss == StaffView("boss", frozenset({Role.ADMIN}), False, None, None, None, START, START)
        later = START + timedelta(minutes=30)
        assert wang == StaffView(
            "Wang.Ops",
            frozenset({Role.OPERATOR, Role.FINANCE}),
            True,
            "left the company",
            "boss",
            later,
            START,
            later,
        )
        assert not projections.staff.admits(views, "wang.ops", 1) and not projections.staff.admits(views, "WANG.OPS", 1)
        assert projections.staff.admits(views, "boss", 1)
        assert projections.staff.admits(views, "nobody", 0)

        self.later(platform, 30)
        app.enable_staff_account("Wang.Ops", "boss")
        platform.runner.catch_up()
        enabled = projections.staff.staff_account(views, "WANG.ops")
        assert enabled is not None and not enabled.disabled
        assert (enabled.disabled_reason, enabled.disabled_by, enabled.disabled_at) == (None, None, None)
        assert (enabled.created_at, enabled.updated_at) == (START, START + timedelta(hours=1))
        assert enabled.roles == frozenset({Role.OPERATOR, Role.FINANCE})
        assert not projections.staff.admits(views, "wang.ops", 1), "a token from before the disabling"
        assert projections.staff.admits(views, "wang.ops", 3), "a token from a login after the enabling"

    def test_a_role_change_shows_and_keeps_the_account_disabled(self, platform: Platform) -> None:
        app, views = platform.app, platform.views
        app.disable_staff_account("wang.ops", "boss", "on leave")
        app.save_staff_account("wang.ops", (Role.RISK,), "hash-wang")
        platform.runner.catch_up()
        found = projections.staff.staff_account(views, "wang.ops")
        assert found is not None and found.roles == frozenset({Role.RISK}) and found.disabled
        assert found.disabled_reason == "on leave"

    def test_nobody_disables_their_own_account(self, platform: Platform) -> None:
        app = platform.app
        with pytest.raises(OwnAccount, match="you cannot disable your own account"):
            app.disable_staff_account("boss", "BOSS", "testing")
        assert not app.staff_account("boss").disabled

    def test_the_last_enabled_admin_stays_enabled(self, platform: Platform) -> None:
        app = platform.app
        with pytest.raises(LastEnabledAdmin, match="boss is the last enabled admin; give another account the admin"):
            app.disable_staff_account("boss", "someone", "testing")
        app.save_staff_account("deputy", (Role.ADMIN, Role.RISK), "hash-deputy")
        app.disable_staff_account("deputy", "boss", "on leave")
        with pytest.raises(LastEnabledAdmin, match="boss is the last enabled admin"):
            app.disable_staff_account("boss", "someone", "testing")
        app.enable_staff_account("deputy", "boss")
        app.disable_staff_account("boss", "deputy", "handed over")
        assert app.staff_account("boss").disabled
        with pytest.raises(LastEnabledAdmin, match="deputy is the last enabled admin"):
            app.disable_staff_account("deputy", "someone", "testing")
        app.disable_staff_account("wang.ops", "deputy", "an operator is never the last admin")

    def test_a_disabling_needs_a_reason_and_an_account(self, platform: Platform) -> None:
        app = platform.app
        with pytest.raises(InvalidInput) as refused:
            app.disable_staff_account("wang.ops", "boss", " ")
        assert refused.value.field == "reason"
        with pytest.raises(NotFound):
            app.disable_staff_account("nobody", "boss", "gone")
        with pytest.raises(NotFound):
            app.enable_staff_account("nobody", "boss")
        with pytest.raises(InvalidState, match="is enabled"):
            app.enable_staff_account("wang.ops", "boss")

    def test_the_events_say_what_happened(self, platform: Platform) -> None:
        app = platform.app
        app.disable_staff_account("wang.ops", "boss", "on leave")
        app.enable_staff_account("wang.ops", "boss")
        events = list(app.events.get(StaffAccount.create_id("wang.ops")))
        assert [type(event) for event in events] == [
            StaffAccount.Created,
            StaffAccount.Disabled,
            StaffAccount.Enabled,
        ]
        assert [getattr(event, "by", None) for event in events] == [None, "boss", "boss"]

    def test_the_read_model_rebuilds_and_takes_each_event_once(self, platform: Platform) -> None:
        app, views = platform.app, platform.views
        app.disable_staff_account("wang.ops", "boss", "on leave")
        app.enable_staff_account("wang.ops", "boss")
        app.disable_staff_account("wang.ops", "boss", "left")
        app.save_staff_account("wang.ops", (Role.RISK,), "hash-wang")
        platform.runner.catch_up()
        built = rows(views)
        assert len(built) == 2

        platform.runner.rebuild(["staff"])
        assert rows(views) == built

        events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]
        (projection,) = [item for item in read_models() if item.name == "staff"]
        for event in events:
            with views.begin() as connection:
                batch = Batch(connection)
                projection.process(batch, event)
                projection.process(batch, event)
                batch.flush()
        assert rows(views) == built


class TestOnMemory(StaffAccountsBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(StaffAccountsBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(StaffAccountsBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

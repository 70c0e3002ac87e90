"""`leasecore logistics sweep`: the parcel watcher's sweep by hand, saying what it subscribed, asked and confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.bootstrap import Settings, bootstrap
from api.cli import main
from leasecore.clock import SettableClock
from leasecore.lease import LeaseStatus
from tests.support import build_world


def test_the_command_line_sweeps_once_and_says_what_it_found(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In sandbox mode the command's own sandbox carrier has never seen the parcel: it is subscribed there, and,
    shipped two days ago, asked about, still on its way."""
    clock = SettableClock(datetime.now(UTC) - timedelta(days=2))
    platform = bootstrap(sqlite_url, clock=clock)
    try:
        world = build_world(platform.app, clock)
        app = world.app
        order_id = app.place_order(world.customer(), world.request())
        app.pay_checkout(order_id, "checkout", app.lease(order_id).due_now, clock.now())
        if app.lease(order_id).status is LeaseStatus.PENDING_REVIEW:
            app.approve(order_id, "reviewer", "ok")
        app.record_contract(order_id, "contract")
        app.ship(order_id, list(app.units_held(order_id)), "SF Express", "SF2000000001")
        platform.runner.catch_up()
    finally:
        platform.close()
    for name in ("LEASECORE_PROVIDERS", "LEASECORE_MODE", "LEASECORE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    assert main(["logistics", "sweep", "--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out == (
        "subscribed 1 parcel(s); asked about 1 out too long: 0 delivered (receipt confirmed), 0 failed\n"
        f"    subscribed {order_id}\n"
    )
    assert main(["logistics", "sweep", "--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out.startswith("subscribed 0 parcel(s); asked about 0 out too long")


def test_how_long_a_parcel_may_be_out_before_it_is_asked_about_is_configured_in_hours() -> None:
    assert Settings.from_env({}).parcel_query_after == timedelta(hours=24)
    assert Settings.from_env({"LEASECORE_PARCEL_QUERY_HOURS": "36"}).parcel_query_after == timedelta(hours=36)
    for wrong in ("soon", "0", "-3"):
        with pytest.raises(ValueError, match="LEASECORE_PARCEL_QUERY_HOURS"):
            Settings.from_env({"LEASECORE_PARCEL_QUERY_HOURS": wrong})

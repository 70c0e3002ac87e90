"""A staff account disabled and enabled again: the events, who did it and why, and the rules a disabling keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leasecore.errors import InvalidInput, InvalidState
from leasecore.staff import REASON_LENGTH, OwnAccount, Role, StaffAccount

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


def account(username: str = "wang.ops", *roles: Role) -> StaffAccount:
    created = StaffAccount.create(username, roles or (Role.OPERATOR,), "hash", NOW)
    created.collect_events()
    return created


def test_disabling_records_who_and_why_and_enabling_brings_the_account_back() -> None:
    ops = account()
    ops.disable("boss", "  left the company ", NOW + timedelta(hours=1))
    (disabled,) = ops.collect_events()
    assert isinstance(disabled, StaffAccount.Disabled)
    assert (disabled.by, disabled.reason, disabled.timestamp) == ("boss", "left the company", NOW + timedelta(hours=1))
    assert ops.disabled and ops.roles == (Role.OPERATOR,)

    ops.enable("boss", NOW + timedelta(days=1))
    (enabled,) = ops.collect_events()
    assert isinstance(enabled, StaffAccount.Enabled) and enabled.by == "boss"
    assert not ops.disabled and ops.roles == (Role.OPERATOR,)


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_disabling_needs_a_reason(reason: str) -> None:
    ops = account()
    with pytest.raises(InvalidInput) as refused:
        ops.disable("boss", reason, NOW)
    assert refused.value.field == "reason"
    assert not ops.disabled and ops.collect_events() == []


def test_a_reason_is_at_most_its_length() -> None:
    ops = account()
    ops.disable("boss", "x" * REASON_LENGTH, NOW)
    with pytest.raises(InvalidInput, match=f"at most {REASON_LENGTH} characters"):
        account().disable("boss", "x" * (REASON_LENGTH + 1), NOW)


@pytest.mark.parametrize("by", ["Boss", "boss", " BOSS "])
def test_nobody_disables_their_own_account_whatever_the_case(by: str) -> None:
    boss = account("boss", Role.ADMIN)
    with pytest.raises(OwnAccount, match="you cannot disable your own account"):
        boss.disable(by, "testing", NOW)
    assert not boss.disabled


def test_disabling_twice_or_enabling_an_enabled_account_names_the_state() -> None:
    ops = account()
    with pytest.raises(InvalidState, match="cannot enable it: staff account wang.ops is enabled"):
        ops.enable("boss", NOW)
    ops.disable("boss", "on leave", NOW)
    with pytest.raises(InvalidState, match="cannot disable it: staff account wang.ops is disabled"):
        ops.disable("boss", "again", NOW)


def test_an_enabled_admin_is_an_admin_not_disabled() -> None:
    admin, ops = account("chief", Role.ADMIN, Role.FINANCE), account()
    assert admin.is_enabled_admin and not ops.is_enabled_admin
    admin.disable("boss", "audit", NOW)
    assert not admin.is_enabled_admin


def test_replaying_the_events_gives_the_same_account() -> None:
    ops = StaffAccount.create("wang.ops", (Role.OPERATOR,), "hash", NOW)
    ops.disable("boss", "on leave", NOW)
    ops.enable("boss", NOW)
    ops.disable("boss", "left", NOW)
    events = ops.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, StaffAccount)
    assert (replayed.disabled, replayed.version, replayed.roles) == (True, 4, (Role.OPERATOR,))

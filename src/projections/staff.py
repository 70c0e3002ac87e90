"""The back-office accounts as the Staff screen lists them and as every door checks them: each account's roles,
whether it is disabled (by whom, when and why), when it was created and last changed. A staff token is checked
against it on every use (`admits`: one read by primary key)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, String, Table, Text, Uuid, func, select

from leasecore.staff import Role, StaffAccount
from projections.projection import Batch, Event, Projection, blank, build, is_new, on
from projections.store import Instant, ViewStore, metadata

staff_view = Table(
    "staff_view",
    metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("username", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("disabled_by", String(64)),
    Column("disabled_at", Instant),
    Column("disabled_version", Integer),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("tokens_version", Integer),
)
"""One row per account, keyed by the account's id (derived from its username in any case). `roles`: their values,
in the order `Role` declares them; `disabled_*`: the latest disabling, null while the account is enabled, but for
`disabled_version`, the account's version at its latest disabling, kept once it is enabled again (a token issued
before it stays refused). `tokens_version`: the account's version at its latest disabling or change (of roles or
password): a token issued before it is refused, so new roles take effect at the next login and at once."""

ROLE_ORDER = tuple(Role)


class StaffProjection(Projection):
    """A row per back-office account, from the account's own events."""

    name = "staff"
    tables = (staff_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(staff_view, "account_id").prefetch(event.originator_id for event in events)

    @on(StaffAccount.Created)
    def created(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(staff_view, "account_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            staff_view,
            account_id=event.originator_id,
            version=event.originator_version,
            username=event.username,
            roles=_role_values(event.roles),
            disabled=False,
            created_at=event.timestamp,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(StaffAccount.Changed)
    def changed(self, batch: Batch, event: Event) -> None:
        row = _seen(batch, event)
        if row is not None:
            row["roles"] = _role_values(event.roles)
            row["tokens_version"] = event.originator_version

    @on(StaffAccount.Disabled)
    def disabled(self, batch: Batch, event: Event) -> None:
        row = _seen(batch, event)
        if row is not None:
            row["disabled"], row["disabled_reason"] = True, event.reason
            row["disabled_by"], row["disabled_at"] = event.by, event.timestamp
            row["disabled_version"] = row["tokens_version"] = event.originator_version

    @on(StaffAccount.Enabled)
    def enabled(self, batch: Batch, event: Event) -> None:
        row = _seen(batch, event)
        if row is not None:
            row["disabled"] = False
            row["disabled_reason"] = row["disabled_by"] = row["disabled_at"] = None


def _seen(batch: Batch, event: Event) -> dict[str, Any] | None:
    """The account's row moved on to this event, or None when the row has seen it already."""
    row = batch.rows(staff_view, "account_id").one(event.originator_id)
    if row is None or not is_new(row, event):
        return None
    row["version"], row["updated_at"] = event.originator_version, event.timestamp
    return row


def _role_values(roles: Iterable[Role | str]) -> list[str]:
    held = {Role(role) for role in roles}
    return [role.value for role in ROLE_ORDER if role in held]


# Queries.


@dataclass(frozen=True)
class StaffView:
    """An account as the Staff screen lists it; `disabled_*` say who disabled it, when and why (None while enabled)."""

    username: str
    roles: frozenset[Role]
    disabled: bool
    disabled_reason: str | None
    disabled_by: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


def staff_accounts(views: ViewStore) -> list[StaffView]:
    """Every account, by username (any case)."""
    query = select(staff_view).order_by(func.lower(staff_view.c.username), staff_view.c.account_id)
    with views.read() as connection:
        return [_view(row) for row in connection.execute(query).mappings()]


def staff_account(views: ViewStore, username: str) -> StaffView | None:
    query = select(staff_view).where(staff_view.c.account_id == StaffAccount.create_id(username))
    with views.read() as connection:
        row = connection.execute(query).mappings().first()
    return None if row is None else _view(row)


def admits(views: ViewStore, username: str, version: int) -> bool:
    """Whether a token issued to this username when its account stood at `version` may still act: never while the
    account is disabled, nor after, when it was issued before the latest disabling or change of roles or password.
    A username with no account is admitted (its token is left to its signature)."""
    columns = staff_view.c
    query = select(columns.disabled, columns.disabled_version, columns.tokens_version).where(
        staff_view.c.account_id == StaffAccount.create_id(username)
    )
    with views.read() as connection:
        row = connection.execute(query).first()
    if row is None:
        return True
    disabled, disabled_version, tokens_version = row
    return not disabled and version >= max(disabled_version or 0, tokens_version or 0)


def _view(row: Any) -> StaffView:
    return build(StaffView, row, roles=frozenset(Role(value) for value in row["roles"]))

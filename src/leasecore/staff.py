"""Back-office accounts: operators, risk reviewers, finance staff and admins."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState, Refused
from leasecore.values import derived_id

REASON_LENGTH = 200
"""How long a reason for disabling an account may be."""


class Role(Enum):
    OPERATOR = "operator"
    RISK = "risk"
    FINANCE = "finance"
    ADMIN = "admin"


class OwnAccount(Refused):
    """Nobody disables their own account: they would lock themselves out."""

    def __init__(self) -> None:
        super().__init__("you cannot disable your own account; another admin can")


class LastEnabledAdmin(Refused):
    """The last enabled admin stays enabled, so someone can always manage the accounts."""

    def __init__(self, username: str) -> None:
        super().__init__(f"{username} is the last enabled admin; give another account the admin role first")
        self.username = username


class StaffAccount(Aggregate):
    """A back-office account; the password is kept only as a one-way hash made outside the core. A disabled account
    keeps its roles and history but opens nothing until it is enabled again."""

    @staticmethod
    def create_id(username: str) -> UUID:
        return derived_id("operator", username.lower())

    class Created(Aggregate.Created):
        username: str
        roles: tuple[Role, ...]
        password_hash: str

    @event(Created)
    def __init__(self, username: str, roles: tuple[Role, ...], password_hash: str, timestamp: datetime) -> None:
        self.username, self.roles, self.password_hash = username, tuple(roles), password_hash
        self.disabled = False

    @classmethod
    def create(cls, username: str, roles: tuple[Role, ...], password_hash: str, now: datetime) -> StaffAccount:
        """A username of letters, digits, dots, dashes or underscores, with at least one role."""
        name = username.strip()
        if not name or not all(c.isalnum() or c in "._-" for c in name) or len(name) > 64:
            raise InvalidInput("username", "use 1–64 letters, digits, dots, dashes or underscores")
        if not roles:
            raise InvalidInput("roles", "give at least one role")
        return cls(name, tuple(dict.fromkeys(roles)), password_hash, timestamp=now)

    def change(self, roles: tuple[Role, ...], password_hash: str, now: datetime) -> None:
        if not roles:
            raise InvalidInput("roles", "give at least one role")
        if (tuple(roles), password_hash) != (self.roles, self.password_hash):
            self._changed(tuple(dict.fromkeys(roles)), password_hash, timestamp=now)

    class Changed(Aggregate.Event):
        roles: tuple[Role, ...]
        password_hash: str

    @event(Changed)
    def _changed(self, roles: tuple[Role, ...], password_hash: str, timestamp: datetime) -> None:
        self.roles, self.password_hash = tuple(roles), password_hash

    def disable(self, by: str, reason: str, now: datetime) -> None:
        """Nobody disables their own account (they would lock themselves out); the reason is kept with who gave it."""
        why = reason.strip()
        if not why:
            raise InvalidInput("reason", "say why the account is disabled")
        if len(why) > REASON_LENGTH:
            raise InvalidInput("reason", f"at most {REASON_LENGTH} characters")
        if by.strip().lower() == self.username.lower():
            raise OwnAccount
        if self.disabled:
            raise InvalidState(f"staff account {self.username}", "disabled", "disable it")
        self._disabled(by, why, timestamp=now)

    class Disabled(Aggregate.Event):
        """`by` (a member of staff's username) disabled the account, for `reason`."""

        by: str
        reason: str

    @event(Disabled)
    def _disabled(self, by: str, reason: str, timestamp: datetime) -> None:
        self.disabled = True

    def enable(self, by: str, now: datetime) -> None:
        """A disabled account may log in again, with the roles it had."""
        if not self.disabled:
            raise InvalidState(f"staff account {self.username}", "enabled", "enable it")
        self._enabled(by, timestamp=now)

    class Enabled(Aggregate.Event):
        """`by` (a member of staff's username) enabled the account again."""

        by: str

    @event(Enabled)
    def _enabled(self, by: str, timestamp: datetime) -> None:
        self.disabled = False

    @property
    def is_enabled_admin(self) -> bool:
        return Role.ADMIN in self.roles and not self.disabled

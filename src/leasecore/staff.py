"""Back-office accounts: operators, risk reviewers, finance staff and admins."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput
from leasecore.values import derived_id


class Role(Enum):
    OPERATOR = "operator"
    RISK = "risk"
    FINANCE = "finance"
    ADMIN = "admin"


class StaffAccount(Aggregate):
    """A back-office account; the password is kept only as a one-way hash made outside the core."""

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

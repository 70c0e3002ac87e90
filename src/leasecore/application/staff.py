"""Back-office accounts: operators, risk reviewers, finance staff and admins."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from leasecore.application.base import Commands, command
from leasecore.errors import NotFound
from leasecore.staff import LastEnabledAdmin, Role, StaffAccount
from leasecore.topics import stored_topics

CREATED_TOPICS = stored_topics(StaffAccount.Created)


class StaffCommands(Commands):
    """Back-office accounts: operators, risk reviewers, finance staff and admins."""

    @command
    def save_staff_account(self, username: str, roles: tuple[Role, ...], password_hash: str) -> UUID:
        """Create a back-office account, or change its roles and password if it exists."""
        now = self.clock.now()
        try:
            account = self.staff_account(username)
            account.change(roles, password_hash, now)
        except NotFound:
            account = StaffAccount.create(username, roles, password_hash, now)
        self.save(account)
        return account.id

    @command
    def disable_staff_account(self, username: str, by: str, reason: str) -> None:
        """The account opens nothing until enabled again; nobody disables their own, and the last enabled admin
        stays enabled, so someone can always manage the accounts."""
        account = self.staff_account(username)
        was_enabled_admin = account.is_enabled_admin
        account.disable(by, reason, self.clock.now())
        if was_enabled_admin and not any(
            other.is_enabled_admin for other in self.staff_accounts() if other.id != account.id
        ):
            raise LastEnabledAdmin(account.username)
        self.save(account)

    @command
    def enable_staff_account(self, username: str, by: str) -> None:
        """A disabled account may log in again, with the roles it had."""
        account = self.staff_account(username)
        account.enable(by, self.clock.now())
        self.save(account)

    def staff_account(self, username: str) -> StaffAccount:
        return self.get(StaffAccount, StaffAccount.create_id(username), "staff account")

    def staff_accounts(self) -> Iterator[StaffAccount]:
        """Every account as it stands, found in the log by the event that created it: accounts are few, and a rule
        over all of them (the last enabled admin) is checked against the events, not a read model that may lag."""
        position = 0
        while batch := self.recorder.select_notifications(
            position, 500, topics=CREATED_TOPICS, inclusive_of_start=False
        ):
            for notification in batch:
                yield self.get(StaffAccount, UUID(str(notification.originator_id)), "staff account", to_change=False)
            position = batch[-1].id

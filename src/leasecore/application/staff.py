"""Back-office accounts: operators, risk reviewers, finance staff and admins."""

from __future__ import annotations

from uuid import UUID

from leasecore.application.base import Commands, command
from leasecore.errors import NotFound
from leasecore.staff import Role, StaffAccount


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

    def staff_account(self, username: str) -> StaffAccount:
        return self.get(StaffAccount, StaffAccount.create_id(username), "staff account")

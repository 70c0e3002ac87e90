"""Back-office accounts (admin): every account as it stands, one disabled with a reason (its back-office sessions end
and its tokens open nothing from their next use), enabled again, or let in again after a lockout for failed logins.
The Staff screen does the same through `disable`, `enable` and `unlock`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import projections.staff
from api.http.endpoint import Call, Endpoints, staff
from api.http.schemas import admin_staff as schemas
from api.web.sessions import WebSessions
from leasecore.errors import NotFound
from leasecore.staff import Role
from projections.staff import StaffView

if TYPE_CHECKING:
    from api.bootstrap import Service

endpoints = Endpoints("back office: staff")
ADMIN = staff(Role.ADMIN)
BY_USERNAME = {"username": schemas.Username}


def disable(service: Service, username: str, by: str, reason: str) -> None:
    """The account is disabled by `by` for `reason`, and every back-office session of it ends (so enabling it later
    brings none back)."""
    account = service.app.staff_account(username)
    service.app.disable_staff_account(account.username, by, reason)
    WebSessions(service.store, service.clock).end_all(account.username)
    service.written()


def enable(service: Service, username: str, by: str) -> None:
    service.app.enable_staff_account(username, by)
    service.written()


def unlock(service: Service, username: str) -> None:
    """The account's failed logins are forgotten: it may log in at once (404 for a username with no account)."""
    service.passwords.unlock(service.app.staff_account(username).username)


def account_out(service: Service, username: str) -> schemas.StaffAccountOut:
    found = projections.staff.staff_account(service.views, username)
    if found is None:
        raise NotFound("staff account", username)
    return _out(found, service.passwords.locked_until([found.username]).get(found.username))


def _out(found: StaffView, locked_until: datetime | None) -> schemas.StaffAccountOut:
    roles = [role for role in Role if role in found.roles]
    return schemas.StaffAccountOut(
        username=found.username,
        roles=roles,
        disabled=found.disabled,
        disabled_reason=found.disabled_reason,
        disabled_by=found.disabled_by,
        disabled_at=found.disabled_at,
        locked_until=locked_until,
        created_at=found.created_at,
        updated_at=found.updated_at,
    )


@endpoints.get("/v1/admin/staff", access=ADMIN, answer=list[schemas.StaffAccountOut], summary="Staff accounts")
def staff_accounts(call: Call[None, None]) -> list[schemas.StaffAccountOut]:
    """Every back-office account by username: its roles, whether it is disabled (by whom, when, why) and whether it
    is locked out after repeated failed logins (until when)."""
    found = projections.staff.staff_accounts(call.views)
    locked = call.service.passwords.locked_until(account.username for account in found)
    return [_out(account, locked.get(account.username)) for account in found]


@endpoints.post(
    "/v1/admin/staff/{username}/disable",
    access=ADMIN,
    body=schemas.DisableAccount,
    answer=schemas.StaffAccountOut,
    path_types=BY_USERNAME,
    summary="Disable a staff account",
)
def disable_account(call: Call[schemas.DisableAccount, None]) -> schemas.StaffAccountOut:
    """The account can no longer log in (401, as for a wrong password), its tokens answer 401 from their next use and
    its back-office sessions end; its roles and history are kept. 422 naming `reason` without one; 409 for one's own
    account, for the last enabled admin, or an account already disabled; 404 for a username with no account."""
    disable(call.service, call.path["username"], call.username, call.body.reason)
    return account_out(call.service, call.path["username"])


@endpoints.post(
    "/v1/admin/staff/{username}/enable",
    access=ADMIN,
    answer=schemas.StaffAccountOut,
    path_types=BY_USERNAME,
    summary="Enable a staff account",
)
def enable_account(call: Call[None, None]) -> schemas.StaffAccountOut:
    """A disabled account may log in again, with the roles it had (a new login: its old tokens and sessions stay
    ended). 409 for an account that is not disabled; 404 for a username with no account."""
    enable(call.service, call.path["username"], call.username)
    return account_out(call.service, call.path["username"])


@endpoints.post(
    "/v1/admin/staff/{username}/unlock",
    access=ADMIN,
    answer=schemas.StaffAccountOut,
    path_types=BY_USERNAME,
    summary="Unlock a staff account",
)
def unlock_account(call: Call[None, None]) -> schemas.StaffAccountOut:
    """The account's failed logins are forgotten, so a lockout (10 failures in 15 minutes) lifts at once; the password
    is unchanged. 404 for a username with no account."""
    unlock(call.service, call.path["username"])
    return account_out(call.service, call.path["username"])

"""Staff (admin only): the back-office accounts from the staff read model, with their roles, whether they may log in
(disabled by whom, when and why) and whether a lockout after failed logins holds them (until when); a new account
with its roles and password, an account's roles changed, an account disabled with a reason or enabled again, and a
lockout lifted, through the same commands as the API's (`api.http.endpoints.admin_staff`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

import projections.staff
from api.http.endpoints import admin_reports, admin_staff
from api.http.security import MIN_PASSWORD_LENGTH, hash_password
from api.web import i18n
from api.web.admin.console import ROLE_ORDER, Page, Pages, Screen
from leasecore.errors import InvalidInput, InvalidState, NotFound
from leasecore.staff import REASON_LENGTH, LastEnabledAdmin, OwnAccount, Role, StaffAccount

pages = Pages()

WORDS: dict[str, tuple[str, str]] = {
    "staff.title": ("员工账号", "Staff accounts"),
    "staff.col.username": ("用户名", "Username"),
    "staff.col.roles": ("角色", "Roles"),
    "staff.col.state": ("状态", "State"),
    "staff.col.since": ("创建时间", "Created"),
    "staff.col.change": ("修改角色", "Change roles"),
    "staff.col.access": ("停用或启用", "Disable or enable"),
    "staff.enabled": ("可登录", "Enabled"),
    "staff.disabled": ("已停用", "Disabled"),
    "staff.you": ("（你）", "(you)"),
    "staff.create": ("新建账号", "New account"),
    "staff.username": ("用户名", "Username"),
    "staff.username_hint": (
        "字母、数字、点、横线或下划线，最多 64 个字符",
        "Letters, digits, dots, dashes or underscores; up to 64",
    ),
    "staff.password": ("初始密码", "Password"),
    "staff.password_hint": ("至少 {length} 个字符", "At least {length} characters"),
    "staff.roles": ("角色", "Roles"),
    "staff.roles_of": ("{username} 的角色", "Roles of {username}"),
    "staff.submit_create": ("创建账号", "Create the account"),
    "staff.submit_roles": ("保存角色", "Save roles"),
    "staff.exists": ("已有此用户名的账号", "An account with this username exists"),
    "staff.need_role": ("至少选择一个角色", "Choose at least one role"),
    "staff.own_admin": ("不能取消自己的管理员角色", "You cannot take the admin role from yourself"),
    "staff.disabled_why": ("原因：{reason}", "Why: {reason}"),
    "staff.disabled_when": ("{by} 于 {at} 停用", "By {by} at {at}"),
    "staff.locked": ("锁定至 {time}", "Locked until {time}"),
    "staff.locked_why": (
        "登录失败次数过多，暂时不能登录",
        "Too many failed logins; cannot log in for now",
    ),
    "staff.unlock": ("解除锁定", "Unlock"),
    "staff.reason": ("停用 {username} 的原因", "Why {username} is disabled"),
    "staff.reason_hint": ("停用原因", "Reason"),
    "staff.disable": ("停用", "Disable"),
    "staff.disable_confirm": (
        "确认停用此账号？停用后该员工立即退出后台，不能再登录，直到重新启用。",
        "Disable this account? Its holder is logged out at once and cannot log in until it is enabled again.",
    ),
    "staff.enable": ("启用", "Enable"),
    "staff.need_reason": ("请填写停用原因", "Say why the account is disabled"),
    "staff.own_disable": ("不能停用自己的账号", "You cannot disable your own account"),
    "staff.last_admin": (
        "{username} 是最后一个可登录的管理员，不能停用；请先给另一个账号管理员角色",
        "{username} is the last enabled admin and cannot be disabled; give another account the admin role first",
    ),
    "staff.not_now": ("账号状态已变化，请刷新后再试", "The account changed meanwhile; reload and try again"),
    "flash.staff_created": ("账号已创建", "Account created"),
    "flash.staff_roles": ("角色已更新", "Roles updated"),
    "flash.staff_disabled": ("账号已停用，其后台会话已结束", "Account disabled; its sessions have ended"),
    "flash.staff_enabled": ("账号已启用", "Account enabled"),
    "flash.staff_unlocked": ("已解除锁定", "Account unlocked"),
    "audit.event.StaffAccount.Disabled": ("账号停用", "Account disabled"),
    "audit.event.StaffAccount.Enabled": ("账号启用", "Account enabled"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Account:
    """A row of the list: times in the billing timezone; `locked_until` (`HH:MM`) only while a lockout holds."""

    username: str
    roles: frozenset[Role]
    disabled: bool
    reason: str | None
    disabled_by: str | None
    disabled_at: str
    since: str
    locked_until: str | None


@pages.get("/staff", access=admin_reports.ADMIN)
def staff_list(page: Page) -> Response:
    """Every account, by username, with a form to change its roles, and the form for a new one."""
    return _staff_page(page)


@pages.post("/staff", access=admin_reports.ADMIN)
def create(page: Page) -> Response:
    """A new account (a username not taken), at least one role, a password kept only as its argon2 hash."""
    form = page.form
    username = form.get("username", "").strip()
    roles = _roles(form, "new")
    errors: dict[str, str] = {}
    if username and _find(page, username) is not None:
        errors["username"] = page.t("staff.exists")
    if not roles:
        errors["roles"] = page.t("staff.need_role")
    password = form.get("password", "")
    try:
        password_hash = hash_password(password)
    except ValueError as error:
        errors["password"] = str(error)
    if not errors:
        try:
            page.app.save_staff_account(username, roles, password_hash)
        except InvalidInput as error:
            errors[error.field] = error.message
        else:
            page.service.written()
            return page.redirect("/staff", done="staff_created")
    return _staff_page(page, 422, errors=errors, new={"username": username, "roles": roles})


@pages.post("/staff/{username}/roles", access=admin_reports.ADMIN)
def change_roles(page: Page) -> Response:
    """The account's roles replaced (its password kept); an admin keeps their own admin role."""
    account = _account(page)
    roles = _roles(page.form, account.username)
    assert page.user is not None
    error = None
    if not roles:
        error = page.t("staff.need_role")
    elif account.username == page.user.username and Role.ADMIN not in roles:
        error = page.t("staff.own_admin")
    if error:
        return _staff_page(page, 422, errors={f"roles:{account.username}": error})
    page.app.save_staff_account(account.username, roles, account.password_hash)
    page.service.written()
    return page.redirect("/staff", done="staff_roles")


@pages.post("/staff/{username}/disable", access=admin_reports.ADMIN)
def disable(page: Page) -> Response:
    """The account disabled with a reason (asked to confirm first): its sessions end at once, it cannot log in, and
    its API tokens are refused. Not one's own account, nor the last enabled admin."""
    account = _account(page)
    assert page.user is not None
    key, reason = f"disable:{account.username}", page.form.get("reason", "")
    try:
        admin_staff.disable(page.service, account.username, page.user.username, reason)
    except InvalidInput as error:
        return _staff_page(page, 422, errors={key: error.message if reason.strip() else page.t("staff.need_reason")})
    except OwnAccount:
        return _staff_page(page, 409, errors={key: page.t("staff.own_disable")})
    except LastEnabledAdmin:
        return _staff_page(page, 409, errors={key: page.t("staff.last_admin", username=account.username)})
    except InvalidState:
        return _staff_page(page, 409, errors={key: page.t("staff.not_now")})
    return page.redirect("/staff", done="staff_disabled")


@pages.post("/staff/{username}/enable", access=admin_reports.ADMIN)
def enable(page: Page) -> Response:
    """A disabled account may log in again, with the roles it had."""
    account = _account(page)
    assert page.user is not None
    try:
        admin_staff.enable(page.service, account.username, page.user.username)
    except InvalidState:
        return _staff_page(page, 409, errors={f"disable:{account.username}": page.t("staff.not_now")})
    return page.redirect("/staff", done="staff_enabled")


@pages.post("/staff/{username}/unlock", access=admin_reports.ADMIN)
def unlock(page: Page) -> Response:
    """The account's failed logins are forgotten: it may log in at once."""
    admin_staff.unlock(page.service, _account(page).username)
    return page.redirect("/staff", done="staff_unlocked")


def _staff_page(
    page: Page, status: int = 200, *, errors: dict[str, str] | None = None, new: dict[str, object] | None = None
) -> Response:
    return page.render(
        "admin/staff.html",
        status,
        accounts=accounts(page),
        roles=ROLE_ORDER,
        errors=errors or {},
        new=new or {"username": "", "roles": ()},
        min_length=MIN_PASSWORD_LENGTH,
        reason_length=REASON_LENGTH,
    )


def accounts(page: Page) -> list[Account]:
    """Every account as the staff read model has it, by username, with the lockouts holding now (one query)."""
    found = projections.staff.staff_accounts(page.views)
    locked = page.service.passwords.locked_until(account.username for account in found)
    zone = page.zone()
    return [
        Account(
            account.username,
            account.roles,
            account.disabled,
            account.disabled_reason,
            account.disabled_by,
            page.time(account.disabled_at),
            page.time(account.created_at),
            locked[account.username].astimezone(zone).strftime("%H:%M") if account.username in locked else None,
        )
        for account in found
    ]


def _account(page: Page) -> StaffAccount:
    """The account of the path's `{username}` (404 when there is none)."""
    username = str(page.request.path_params["username"])
    account = _find(page, username)
    if account is None:
        raise NotFound("staff account", username)
    return account


def _find(page: Page, username: str) -> StaffAccount | None:
    try:
        return page.app.staff_account(username)
    except NotFound:
        return None


def _roles(form: Mapping[str, str], prefix: str) -> tuple[Role, ...]:
    """The roles ticked: a checkbox per role, named `{prefix}:{role}` (a form keeps one value per name)."""
    return tuple(role for role in ROLE_ORDER if form.get(f"{prefix}:{role.value}"))


screen = Screen("staff", "nav.staff", "/staff", admin_reports.ADMIN, pages)

"""Staff (admin only): the back-office accounts with their roles and whether they may log in; a new account with its
roles and password, and an account's roles changed, through the command `leasecore admin create-user` runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from starlette.responses import Response

from api.http.endpoints import admin_reports
from api.http.security import MIN_PASSWORD_LENGTH, hash_password
from api.web import i18n
from api.web.admin.console import ROLE_ORDER, Page, Pages, Screen
from leasecore.errors import InvalidInput, NotFound
from leasecore.staff import Role, StaffAccount
from leasecore.topics import stored_topics

pages = Pages()

WORDS: dict[str, tuple[str, str]] = {
    "staff.title": ("员工账号", "Staff accounts"),
    "staff.col.username": ("用户名", "Username"),
    "staff.col.roles": ("角色", "Roles"),
    "staff.col.state": ("状态", "State"),
    "staff.col.since": ("创建时间", "Created"),
    "staff.col.change": ("修改角色", "Change roles"),
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
    "staff.no_disable": (
        "停用或启用账号：平台还没有这条命令（停用状态只能读取），因此这里不提供。",
        "Disabling or enabling an account: the platform has no such command yet (the state can only be read), "
        "so it is not offered here.",
    ),
    "flash.staff_created": ("账号已创建", "Account created"),
    "flash.staff_roles": ("角色已更新", "Roles updated"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Account:
    username: str
    roles: frozenset[Role]
    disabled: bool
    since: str


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
            return page.redirect("/staff", done="staff_created")
    return _staff_page(page, 422, errors=errors, new={"username": username, "roles": roles})


@pages.post("/staff/{username}/roles", access=admin_reports.ADMIN)
def change_roles(page: Page) -> Response:
    """The account's roles replaced (its password kept); an admin keeps their own admin role."""
    username = str(page.request.path_params["username"])
    account = _find(page, username)
    if account is None:
        raise NotFound("staff account", username)
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
    return page.redirect("/staff", done="staff_roles")


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
    )


def accounts(page: Page) -> list[Account]:
    """Every account as it is now, by username: found in the event log by the event that created it (there is no
    read model of accounts), then loaded."""
    topics = list(stored_topics(StaffAccount.Created))
    found: list[Account] = []
    position = 0
    while batch := page.app.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
        for notification in batch:
            account: StaffAccount = page.app.repository.get(UUID(str(notification.originator_id)))
            found.append(
                Account(
                    account.username,
                    frozenset(account.roles),
                    bool(getattr(account, "disabled", False)),
                    page.time(account.created_on),
                )
            )
        position = batch[-1].id
    return sorted(found, key=lambda item: item.username.lower())


def _find(page: Page, username: str) -> StaffAccount | None:
    try:
        return page.app.staff_account(username)
    except NotFound:
        return None


def _roles(form: Mapping[str, str], prefix: str) -> tuple[Role, ...]:
    """The roles ticked: a checkbox per role, named `{prefix}:{role}` (a form keeps one value per name)."""
    return tuple(role for role in ROLE_ORDER if form.get(f"{prefix}:{role.value}"))


screen = Screen("staff", "nav.staff", "/staff", admin_reports.ADMIN, pages)

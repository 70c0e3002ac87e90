"""Staff accounts over HTTP, on SQLite and PostgreSQL: a disabled account cannot log in (401 as for a wrong
password) and its token is refused at its next use; enabled again, it logs in and works, its old token still refused;
nobody disables their own account nor the last enabled admin, and the refusal says so; a lockout shows and an admin
lifts it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from api.http.security import hash_password
from api.web.sessions import WebSessions
from leasecore.staff import Role
from tests.e2e.support import Api, running

PASSWORDS = {"boss": "boss-password", "deputy": "deputy-password", "ops": "ops-password"}


def log_in(api: Api, username: str, status: int = 200) -> Any:
    return api.post("/v1/admin/login", status, json={"username": username, "password": PASSWORDS[username]})


def bearer(login: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {login['token']}"}


class StaffAccountsOverHttp:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def api(self, database_url: str) -> Iterator[Api]:
        with running(database_url) as api:
            app = api.service.app
            app.save_staff_account("boss", (Role.ADMIN,), hash_password(PASSWORDS["boss"]))
            app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORDS["ops"]))
            api.service.written()
            yield api

    def test_a_disabled_account_cannot_log_in_and_its_token_is_refused_until_enabled(self, api: Api) -> None:
        boss, ops = bearer(log_in(api, "boss")), bearer(log_in(api, "ops"))
        assert api.get("/v1/admin/orders", who=ops) == []
        sessions = WebSessions(api.service.store, api.service.clock)
        session_id, _ = sessions.open("ops")

        disabled = api.post("/v1/admin/staff/ops/disable", who=boss, json={"reason": " left the company "})
        assert disabled["disabled"] is True
        assert (disabled["disabled_reason"], disabled["disabled_by"]) == ("left the company", "boss")
        assert disabled["roles"] == ["operator"] and disabled["disabled_at"] is not None

        refused = api.get("/v1/admin/orders", 401, who=ops)
        assert refused["detail"] == "the token is no longer valid; log in again"
        assert log_in(api, "ops", 401)["detail"] == "wrong username or password"
        wrong = api.post("/v1/admin/login", 401, json={"username": "ops", "password": "not-the-password"})
        assert wrong["detail"] == "wrong username or password"
        assert sessions.find(session_id) is None
        listed = {account["username"]: account for account in api.get("/v1/admin/staff", who=boss)}
        assert listed["ops"]["disabled"] and listed["ops"]["disabled_reason"] == "left the company"
        assert not listed["boss"]["disabled"] and listed["boss"]["disabled_reason"] is None

        enabled = api.post("/v1/admin/staff/OPS/enable", who=boss)
        assert (enabled["username"], enabled["disabled"], enabled["disabled_reason"]) == ("ops", False, None)
        again = log_in(api, "ops")
        assert again["roles"] == ["operator"]
        assert api.get("/v1/admin/orders", who=bearer(again)) == []
        api.get("/v1/admin/orders", 401, who=ops)  # a token from before the disabling

    def test_nobody_disables_their_own_account(self, api: Api) -> None:
        boss = bearer(log_in(api, "boss"))
        refused = api.post("/v1/admin/staff/boss/disable", 409, who=boss, json={"reason": "testing"})
        assert refused["type"] == "/problems/refused"
        assert refused["detail"] == "you cannot disable your own account; another admin can"
        assert api.get("/v1/admin/orders", who=boss) == []

    def test_the_last_enabled_admin_stays_enabled(self, api: Api) -> None:
        app = api.service.app
        boss = bearer(log_in(api, "boss"))
        stale = api.staff(Role.ADMIN, username="ops")  # as a token keeps roles taken away since
        refused = api.post("/v1/admin/staff/boss/disable", 409, who=stale, json={"reason": "testing"})
        assert refused["detail"] == "boss is the last enabled admin; give another account the admin role first"

        app.save_staff_account("deputy", (Role.ADMIN,), hash_password(PASSWORDS["deputy"]))
        deputy = bearer(log_in(api, "deputy"))
        assert api.post("/v1/admin/staff/boss/disable", who=deputy, json={"reason": "handed over"})["disabled"]
        api.get("/v1/admin/staff", 401, who=boss)
        refused = api.post("/v1/admin/staff/deputy/disable", 409, who=stale, json={"reason": "testing"})
        assert refused["detail"] == "deputy is the last enabled admin; give another account the admin role first"

    def test_what_a_disabling_needs(self, api: Api) -> None:
        boss = bearer(log_in(api, "boss"))
        blank = api.post("/v1/admin/staff/ops/disable", 422, who=boss, json={"reason": "  "})
        assert blank["errors"] == [{"field": "reason", "message": "say why the account is disabled"}]
        assert api.post("/v1/admin/staff/ops/disable", 422, who=boss, json={})["errors"][0]["field"] == "reason"
        api.post("/v1/admin/staff/nobody/disable", 404, who=boss, json={"reason": "x"})
        api.post("/v1/admin/staff/no%20one/enable", 422, who=boss)
        assert api.post("/v1/admin/staff/ops/enable", 409, who=boss)["detail"] == (
            "cannot enable it: staff account ops is enabled"
        )
        api.post("/v1/admin/staff/ops/disable", who=boss, json={"reason": "on leave"})
        assert api.post("/v1/admin/staff/ops/disable", 409, who=boss, json={"reason": "again"})["detail"] == (
            "cannot disable it: staff account ops is disabled"
        )

    def test_only_an_admin_manages_accounts(self, api: Api) -> None:
        ops = bearer(log_in(api, "ops"))
        for role in (Role.OPERATOR, Role.RISK, Role.FINANCE):
            who = api.staff(role, username="ops")
            api.post("/v1/admin/staff/boss/disable", 403, who=who, json={"reason": "x"})
            api.get("/v1/admin/staff", 403, who=who)
        api.post("/v1/admin/staff/boss/disable", 403, who=ops, json={"reason": "x"})
        api.post("/v1/admin/staff/boss/disable", 401, json={"reason": "x"})

    def test_a_lockout_shows_until_when_and_an_admin_lifts_it(self, api: Api) -> None:
        assert api.real_time is not None
        boss = bearer(log_in(api, "boss"))
        failed_at = api.real_time.now()
        for _ in range(10):
            api.post("/v1/admin/login", 401, json={"username": "OPS", "password": "guess-guess"})
            api.real_time.advance(timedelta(minutes=1))
        log_in(api, "ops", 429)
        listed = {account["username"]: account for account in api.get("/v1/admin/staff", who=boss)}
        assert listed["ops"]["locked_until"] == (failed_at + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
        assert listed["boss"]["locked_until"] is None

        unlocked = api.post("/v1/admin/staff/ops/unlock", who=boss)
        assert unlocked["locked_until"] is None
        assert log_in(api, "ops")["username"] == "ops"
        api.post("/v1/admin/staff/nobody/unlock", 404, who=boss)


class TestOnSQLite(StaffAccountsOverHttp):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(StaffAccountsOverHttp):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

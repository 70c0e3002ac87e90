"""Logging in: SMS codes expire after 5 minutes of real time, work once, allow a few attempts,
and only a few go out per phone per hour; staff log in with argon2 passwords and get their roles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from api.cli import DEMO_PASSWORD, demo_accounts
from api.http.security import hash_password
from leasecore.staff import Role
from tests.e2e.support import Api, new_phone, running


@pytest.fixture
def api() -> Iterator[Api]:
    with running("memory:") as api:
        yield api


def later(api: Api, **delta: float) -> None:
    """Real time passes (what tokens, codes and lockouts expire by)."""
    assert api.real_time is not None
    api.real_time.advance(timedelta(**delta))


def test_a_code_expires_after_five_minutes(api: Api) -> None:
    phone = new_phone()
    sent = api.post("/v1/auth/otp", 202, json={"phone": phone})
    assert sent["expires_at"] == "2026-01-31T02:05:00Z"
    code = api.code(phone)
    later(api, minutes=5)
    problem = api.post("/v1/auth/login", 401, json={"phone": phone, "code": code})
    assert (problem["type"], problem["detail"]) == (
        "/problems/unauthorized",
        "no valid code for this phone; ask for a new one",
    )
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    later(api, minutes=4, seconds=59)
    assert api.post("/v1/auth/login", json={"phone": phone, "code": api.code(phone)})["token"]


def test_a_code_works_once_and_a_new_code_replaces_the_old(api: Api) -> None:
    phone = new_phone()
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    first = api.code(phone)
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    second = api.code(phone)
    if first != second:
        api.post("/v1/auth/login", 401, json={"phone": phone, "code": first})
    login = api.post("/v1/auth/login", json={"phone": phone, "code": second})
    api.post("/v1/auth/login", 401, json={"phone": phone, "code": second})
    again = api.log_in(phone)
    assert login["customer_id"] == again["customer_id"]  # the same phone is the same customer


def test_five_wrong_attempts_burn_the_code(api: Api) -> None:
    phone = new_phone()
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    code = api.code(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    details = [api.post("/v1/auth/login", 401, json={"phone": phone, "code": wrong})["detail"] for _ in range(5)]
    assert details[0] == "wrong code (4 attempt(s) left)" and details[-1] == "wrong code; ask for a new one"
    burnt = api.post("/v1/auth/login", 401, json={"phone": phone, "code": code})
    assert burnt["detail"] == "too many wrong attempts; ask for a new code"


def test_five_codes_per_phone_per_hour(api: Api) -> None:
    phone = new_phone()
    for _ in range(5):
        api.post("/v1/auth/otp", 202, json={"phone": phone})
        later(api, minutes=1)
    response = api.http.post("/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 429 and response.json()["type"] == "/problems/too-many-requests"
    assert int(response.headers["Retry-After"]) == 55 * 60 + 1
    assert len(api.get("/v1/sandbox/sms", params={"phone": phone})) == 5
    api.post("/v1/auth/otp", 202, json={"phone": new_phone()})  # another phone is not limited
    later(api, minutes=55, seconds=1)
    api.post("/v1/auth/otp", 202, json={"phone": phone})


def test_a_phone_number_is_validated_and_normalised(api: Api) -> None:
    problem = api.post("/v1/auth/otp", 422, json={"phone": "call me"})
    assert problem["errors"][0]["field"] == "phone"
    api.post("/v1/auth/otp", 202, json={"phone": "139-0000 9999"})
    assert api.get("/v1/sandbox/sms", params={"phone": "13900009999"})[0]["phone"] == "13900009999"


def test_a_customer_token_expires_after_twelve_hours(api: Api) -> None:
    who = api.customer(verified=False, score=None)
    later(api, hours=11, minutes=59)
    api.get("/v1/me/credit-line", who=who)
    later(api, minutes=1)
    assert "expired" in api.get("/v1/me/credit-line", 401, who=who)["detail"]


def test_staff_log_in_with_their_password_and_get_their_roles(api: Api) -> None:
    assert demo_accounts(api.service.app) == 4
    assert demo_accounts(api.service.app) == 0  # idempotent
    login = api.post("/v1/admin/login", json={"username": "risk", "password": DEMO_PASSWORD})
    assert (login["username"], login["roles"]) == ("risk", ["risk"])
    headers = {"Authorization": f"Bearer {login['token']}"}
    assert api.get("/v1/admin/reviews", headers=headers) == []
    assert api.post("/v1/admin/jobs/daily", 403, headers=headers, json={})["type"] == "/problems/forbidden"
    wrong = api.post("/v1/admin/login", 401, json={"username": "risk", "password": "not-the-password"})
    assert wrong["detail"] == "wrong username or password"
    assert api.post("/v1/admin/login", 401, json={"username": "nobody", "password": DEMO_PASSWORD})["detail"] == (
        "wrong username or password"
    )


def test_repeated_staff_login_failures_lock_the_account_for_a_while(api: Api) -> None:
    api.service.app.save_staff_account("ops", (Role.OPERATOR,), hash_password("the-right-one"))
    for _ in range(10):
        api.post("/v1/admin/login", 401, json={"username": "ops", "password": "guess-guess"})
    assert api.post("/v1/admin/login", 429, json={"username": "ops", "password": "guess-guess"})["type"] == (
        "/problems/too-many-requests"
    )
    later(api, minutes=15, seconds=1)
    api.post("/v1/admin/login", 401, json={"username": "ops", "password": "guess-guess"})


def test_moving_the_sandbox_clock_moves_business_time_only_not_tokens_or_codes(api: Api) -> None:
    who = api.customer(verified=False, score=None)
    phone = new_phone()
    api.post("/v1/auth/otp", 202, json={"phone": phone})
    code = api.code(phone)
    month_later = api.service.clock.now() + timedelta(days=31)
    api.post("/v1/sandbox/clock", json={"now": month_later.isoformat()})
    assert api.get("/v1/me/credit-line", who=who)["quota"] == "0.00"
    assert api.post("/v1/auth/login", json={"phone": phone, "code": code})["token"]

"""What every answer is guarded by: logging out (staff, customers, the phone screens) and changing an account revoke
its tokens at once; codes and logins are limited per client address as well as per phone and account; bodies too
large answer 413 and bodies too slow 408; every answer carries the security headers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from starlette.types import Message

from api.bootstrap import Settings
from api.http.app import create_app
from api.http.guard import Guard, client_address
from api.http.security import hash_password
from leasecore.staff import Role
from tests.conftest import postgres_schema
from tests.e2e.support import Api, new_phone, running

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "the-right-one"


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The service on in-memory SQLite, and on PostgreSQL where the tables of tokens and limits differ most."""
    if request.param == "postgres":
        with postgres_schema() as url, running(url) as api:
            yield api
    else:
        with running("memory:") as api:
            yield api


def from_address(api: Api, address: str, **options: object) -> TestClient:
    """A client whose connection comes from `address` (the test client's own has no IP address)."""
    return TestClient(create_app(api.service), client=(address, 50000), raise_server_exceptions=False, **options)


def log_in(api: Api, username: str, password: str = PASSWORD) -> dict[str, str]:
    token = api.post("/v1/admin/login", json={"username": username, "password": password})["token"]
    return {"Authorization": f"Bearer {token}"}


# Token revocation.


def test_a_staff_token_logged_out_is_refused_at_once_and_others_are_not(api: Api) -> None:
    api.service.app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORD))
    first, second = log_in(api, "ops"), log_in(api, "ops")
    assert api.get("/v1/admin/orders", who=first) == []
    assert api.post("/v1/admin/logout", 204, who=first).status_code == 204
    problem = api.get("/v1/admin/orders", 401, who=first)
    assert (problem["type"], problem["detail"]) == (
        "/problems/unauthorized",
        "the token has been revoked; log in again",
    )
    api.post("/v1/admin/logout", 401, who=first)
    assert api.get("/v1/admin/orders", who=second) == []


def test_a_customer_token_logged_out_is_refused_at_once_and_the_customer_s_other_token_is_not(api: Api) -> None:
    phone = new_phone()
    first = {"Authorization": f"Bearer {api.log_in(phone)['token']}"}
    second = {"Authorization": f"Bearer {api.log_in(phone)['token']}"}
    assert api.get("/v1/orders", who=first) == []
    assert api.post("/v1/auth/logout", 204, who=first).status_code == 204
    problem = api.get("/v1/orders", 401, who=first)
    assert (problem["type"], problem["detail"]) == (
        "/problems/unauthorized",
        "the token has been revoked; log in again",
    )
    assert api.post("/v1/auth/logout", 401, who=first)["detail"] == "the token has been revoked; log in again"
    assert api.get("/v1/me/credit-line", who=second)["quota"] == "0.00"
    api.post("/v1/auth/logout", 401)


def test_the_phone_screens_log_out_ends_the_session_on_the_server(api: Api) -> None:
    phone, http = new_phone(), TestClient(create_app(api.service), raise_server_exceptions=False)
    token = csrf(http.get("/m/login").text)
    assert http.post("/m/login/code", data={"phone": phone, "csrf": token}).status_code == 200
    form = {"phone": phone, "code": api.code(phone), "csrf": token}
    answer = http.post("/m/login", data=form, follow_redirects=False)
    assert answer.status_code in (302, 303)
    cookie = http.cookies["leasecore_m"]
    assert http.get("/m/me", follow_redirects=False).status_code == 200
    token = csrf(http.get("/m/me").text)
    assert http.post("/m/logout", data={"csrf": token}, follow_redirects=False).status_code in (302, 303)
    replayed = TestClient(create_app(api.service), cookies={"leasecore_m": cookie})
    answer = replayed.get("/m/me", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/m/login?next=%2Fm%2Fme")


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_a_role_change_ends_every_token_of_the_account_and_the_next_login_carries_the_new_roles(api: Api) -> None:
    app = api.service.app
    app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORD))
    app.save_staff_account("other", (Role.OPERATOR,), hash_password(PASSWORD))
    ops, other = log_in(api, "ops"), log_in(api, "other")
    app.save_staff_account("ops", (Role.FINANCE,), app.staff_account("ops").password_hash)
    api.service.written()
    assert api.get("/v1/admin/orders", 401, who=ops)["detail"] == "the token is no longer valid; log in again"
    assert api.get("/v1/admin/orders", who=other) == []
    again = api.post("/v1/admin/login", json={"username": "ops", "password": PASSWORD})
    assert again["roles"] == ["finance"]
    headers = {"Authorization": f"Bearer {again['token']}"}
    assert api.get("/v1/admin/refunds", who=headers) == []
    assert api.post("/v1/admin/skus/00000000-0000-0000-0000-000000000001/units", 403, who=headers, json={})


def test_a_password_change_ends_the_account_s_tokens_too(api: Api) -> None:
    app = api.service.app
    app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORD))
    before = log_in(api, "ops")
    app.save_staff_account("ops", (Role.OPERATOR,), hash_password("another-one"))
    api.service.written()
    api.get("/v1/admin/orders", 401, who=before)
    assert api.get("/v1/admin/orders", who=log_in(api, "ops", "another-one")) == []


# Limits per client address.


def test_codes_are_limited_per_client_address_whatever_the_phones(api: Api) -> None:
    client = from_address(api, "203.0.113.7")
    for _ in range(10):
        assert client.post("/v1/auth/otp", json={"phone": new_phone()}).status_code == 202
    refused = client.post("/v1/auth/otp", json={"phone": new_phone()})
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/too-many-requests"
    assert "10 codes per address per hour" in refused.json()["detail"]
    assert 3590 <= int(refused.headers["retry-after"]) <= 3601
    assert from_address(api, "203.0.113.8").post("/v1/auth/otp", json={"phone": new_phone()}).status_code == 202
    assert api.real_time is not None
    api.real_time.advance(timedelta(hours=1, seconds=1))
    assert client.post("/v1/auth/otp", json={"phone": new_phone()}).status_code == 202


def test_failed_logins_are_limited_per_client_address_across_accounts_and_codes(api: Api) -> None:
    api.service.app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORD))
    client = from_address(api, "198.51.100.4")
    for n in range(10):
        assert (
            client.post("/v1/admin/login", json={"username": f"user{n}", "password": "guess-guess"}).status_code == 401
        )
        assert client.post("/v1/auth/login", json={"phone": new_phone(), "code": "000000"}).status_code == 401
    for attempt in (
        client.post("/v1/admin/login", json={"username": "ops", "password": PASSWORD}),
        client.post("/v1/auth/login", json={"phone": new_phone(), "code": "000000"}),
    ):
        assert attempt.status_code == 429, attempt.text
        assert "20 failed logins per address" in attempt.json()["detail"]
        assert int(attempt.headers["retry-after"]) > 0
    elsewhere = from_address(api, "198.51.100.5").post(
        "/v1/admin/login", json={"username": "ops", "password": PASSWORD}
    )
    assert elsewhere.status_code == 200


def test_the_back_office_login_screen_counts_against_the_same_address(api: Api) -> None:
    api.service.app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORD))
    client = from_address(api, "198.51.100.6", follow_redirects=False)
    for n in range(20):
        assert client.post("/v1/admin/login", json={"username": f"user{n}", "password": "guess"}).status_code == 401
    form = client.get("/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    fields = {"csrf": token.group(1), "username": "ops", "password": PASSWORD, "next": "/admin/"}
    assert client.post("/admin/login", data=fields).status_code == 429


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy() -> None:
    def scope(peer: str, forwarded: str) -> dict[str, object]:
        return {"client": (peer, 1234), "headers": [(b"x-forwarded-for", forwarded.encode())]}

    spoofed = scope("203.0.113.9", "10.1.1.1")
    assert client_address(spoofed) == "203.0.113.9"
    assert client_address(spoofed, ("127.0.0.1",)) == "203.0.113.9"
    proxied = scope("10.0.0.2", "1.2.3.4, 198.51.100.20, 10.0.0.3")
    assert client_address(proxied, ("10.0.0.0/8",)) == "198.51.100.20"
    assert client_address(scope("10.0.0.2", ""), ("10.0.0.0/8",)) == "10.0.0.2"
    assert client_address({"client": ("testclient", 50000), "headers": []}) is None


# Bodies.


def test_a_body_over_the_limit_answers_413_naming_it_and_closes_the_connection(api: Api) -> None:
    limit = api.service.settings.max_body_bytes
    assert limit == 1024 * 1024
    too_large = api.http.post("/v1/auth/otp", content=b"x" * (limit + 1), headers={"content-type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == f"a body is at most {limit} bytes"
    assert too_large.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = api.http.post("/v1/auth/otp", content=chunks(), headers={"content-type": "application/json"})
    assert (streamed.status_code, streamed.json()["type"]) == (413, "/problems/payload-too-large")


def test_the_identity_route_takes_its_photos_above_the_general_limit(api: Api) -> None:
    customer = api.customer(verified=False, score=None)
    photo = "A" * (3 * 1024 * 1024)
    body = {"name": "Han Meimei", "id_number": customer.id_number, "id_card_image": photo, "selfie_image": photo}
    answer = api.http.post("/v1/me/identity", json=body, headers=customer.headers)
    assert answer.status_code != 413, answer.text
    assert answer.status_code < 500, answer.text


def test_the_body_limit_is_a_setting(api: Api) -> None:
    service = replace(api.service, settings=replace(api.service.settings, max_body_bytes=100))
    client = TestClient(create_app(service), raise_server_exceptions=False)
    assert client.post("/v1/auth/otp", json={"phone": new_phone()}).status_code == 202
    answer = client.post("/v1/auth/otp", json={"phone": new_phone(), "padding": "x" * 100})
    assert (answer.status_code, answer.json()["detail"]) == (413, "a body is at most 100 bytes")
    assert Settings.from_env({"LEASECORE_MAX_BODY_BYTES": "2048"}, database_url="memory:").max_body_bytes == 2048
    with pytest.raises(ValueError, match="LEASECORE_BODY_TIMEOUT is a number above 0"):
        Settings.from_env({"LEASECORE_BODY_TIMEOUT": "0"}, database_url="memory:")


def test_a_body_that_does_not_arrive_in_time_is_cut_off_with_408() -> None:
    read: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        try:
            await receive()  # type: ignore[operator]
        except Exception as error:
            read.append(type(error).__name__)
            await send({"type": "http.response.start", "status": 500, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b"dropped"})  # type: ignore[operator]

    async def never() -> Message:
        await asyncio.sleep(60)
        raise AssertionError("the body never comes")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"100")], "scheme": "http"}
    started = asyncio.run(_timed(Guard(app, body_timeout=0.2)(scope, never, send)))
    assert started < 2
    assert read == ["BodyTimeout"]
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 408
    headers = dict(sent[0]["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"did not arrive within 0.2 s" in sent[1]["body"]


def test_a_trickled_body_buys_no_more_time_than_its_bytes_pay_for() -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        with contextlib.suppress(Exception):
            while (await receive())["more_body"]:  # type: ignore[operator]
                pass

    async def trickle() -> Message:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"1000000000")], "scheme": "http"}
    took = asyncio.run(_timed(Guard(app, body_timeout=0.5)(scope, trickle, send)))
    assert 0.5 <= took < 1.5
    assert sent[0]["status"] == 408


async def _timed(work: object) -> float:
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await work  # type: ignore[misc]
    return loop.time() - begun


# Security headers.


def test_every_answer_carries_the_security_headers(api: Api) -> None:
    for answer in (api.http.get("/v1/health"), api.http.get("/v1/no-such-route"), api.http.get("/openapi.json")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in answer.headers
    authenticated = api.http.get("/v1/admin/orders", headers=api.staff(Role.OPERATOR))
    assert authenticated.headers["cache-control"] == "no-store"
    screen = api.http.get("/admin/login")
    assert screen.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in screen.headers


def test_answers_over_https_ask_browsers_to_stay_on_https(api: Api) -> None:
    client = TestClient(create_app(api.service), base_url="https://testserver", raise_server_exceptions=False)
    assert client.get("/v1/health").headers["strict-transport-security"].startswith("max-age=31536000")

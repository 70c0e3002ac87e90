"""Erasing a customer's personal data over HTTP (admins only) and from the command line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from api.bootstrap import bootstrap, persistence_env
from api.cli import main
from api.http.security import hash_password
from leasecore.application import LeaseApplication
from leasecore.credit.customer import IdentityCheck
from leasecore.staff import Role
from tests.e2e.support import Api, running
from tests.support import close

PASSWORDS = {"boss": "boss-password", "ops": "ops-password"}
PHONE = "13912345678"


def bearer(api: Api, username: str) -> dict[str, str]:
    login = api.post("/v1/admin/login", json={"username": username, "password": PASSWORDS[username]})
    return {"Authorization": f"Bearer {login['token']}"}


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with running(sqlite_url) as api:
        app = api.service.app
        app.save_staff_account("boss", (Role.ADMIN,), hash_password(PASSWORDS["boss"]))
        app.save_staff_account("ops", (Role.OPERATOR,), hash_password(PASSWORDS["ops"]))
        api.service.written()
        yield api


def test_an_admin_erases_a_customer_and_the_back_office_shows_erased(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = api.service.app
    customer = app.register_customer(PHONE)
    app.record_identity(customer, IdentityCheck("Han Meimei", "11010519491231002X", True))
    api.service.written()
    boss, ops = bearer(api, "boss"), bearer(api, "ops")
    path = f"/v1/admin/customers/{customer}/erase"
    token, _ = api.service.tokens.for_customer(customer)
    as_customer = {"Authorization": f"Bearer {token}"}
    assert api.get("/v1/me/credit-line", who=as_customer)["quota"] == "0.00"

    api.post(path, 403, who=ops, json={"reason": "customer's request"})
    refused: dict[str, Any] = api.post(path, 422, who=boss, json={"reason": "  "})
    assert "reason" in refused["detail"]
    api.post("/v1/admin/customers/00000000-0000-0000-0000-000000000000/erase", 404, who=boss, json={"reason": "x"})

    erased = api.post(path, who=boss, json={"reason": "customer's request"})
    assert (erased["customer_id"], erased["by"], erased["orders"], erased["keys_deleted"]) == (
        str(customer),
        "boss",
        [],
        1,
    )
    again = api.post(path, who=boss, json={"reason": "customer's request"})
    assert {**again, "keys_deleted": 1} == erased and again["keys_deleted"] == 0
    shown = api.get(f"/v1/admin/customers/{customer}", who=boss)
    assert (shown["phone"], shown["name"]) == ("erased", "erased")
    assert api.get("/v1/me/credit-line", 401, who=as_customer)["detail"] == "the token has been revoked; log in again"
    assert api.real_time is not None
    api.real_time.advance(timedelta(seconds=2))
    fresh, _ = api.service.tokens.for_customer(customer)
    assert api.get("/v1/me/credit-line", who={"Authorization": f"Bearer {fresh}"})["quota"] == "0.00"
    logged = "\n".join(caplog.text.splitlines() + [record.getMessage() for record in caplog.records])
    assert [secret for secret in (PHONE, "11010519491231002X", token, fresh) if secret in logged] == []
    assert "erased by boss" in logged and "/erase" in logged


def test_the_command_line_erases_a_customer(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    platform = bootstrap(sqlite_url)
    try:
        customer = platform.app.register_customer(PHONE)
    finally:
        platform.close()
    nobody = "00000000-0000-0000-0000-000000000000"
    erase = ["admin", "erase-customer", str(customer), nobody, "--reason", "ticket 4711", "--database-url", sqlite_url]
    assert main(erase) == 1
    said = capsys.readouterr()
    assert f"customer {customer}: personal data erased" in said.out
    assert f"customer {nobody} not erased: customer {nobody} not found" in said.err
    assert main(["admin", "erasures", "--json", "--database-url", sqlite_url]) == 0
    journal = json.loads(capsys.readouterr().out)
    assert [(e["customer_id"], e["by"], e["reason"]) for e in journal] == [(str(customer), "cli", "ticket 4711")]
    platform = bootstrap(sqlite_url)
    try:
        assert platform.app.customer(customer).phone == "erased"
    finally:
        platform.close()


def test_the_command_line_seals_what_earlier_code_stored_plain(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = LeaseApplication(persistence_env(sqlite_url))
    try:
        app.register_customer(PHONE)
    finally:
        close(app)
    assert main(["admin", "seal-personal-data", "--database-url", sqlite_url]) == 0
    assert "sealed the personal fields of 1 event(s)" in capsys.readouterr().out
    assert main(["admin", "seal-personal-data", "--database-url", sqlite_url]) == 0
    assert "of 0 event(s) and 0 snapshot(s)" in capsys.readouterr().out

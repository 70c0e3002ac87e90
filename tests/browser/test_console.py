"""The back office's frame without a browser (fast): both languages have every word, sessions end by the clock and
are known to every process on the database until logout, the cookie is Secure behind HTTPS, the navigation lists
only what a role may use, pages of orders are stable, and the service starts without node_modules."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from api.bootstrap import Service, Settings, build_service
from api.cli import DEMO_PASSWORD, demo_accounts
from api.demo import seed_demo
from api.http.app import create_app
from api.web import assets, i18n
from api.web.admin import SCREENS, admin_app
from api.web.pages import TEMPLATES
from api.web.sessions import WebSessions
from leasecore.clock import SettableClock
from leasecore.credit.customer import IdentityCheck
from leasecore.lease.quote import OrderRequest
from leasecore.staff import Role
from leasecore.values import Address, DepositMode, LongTerm
from tests.support import START

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SRC = Path(__file__).resolve().parents[2] / "src" / "api" / "web"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("frame")
    settings = Settings(database_url=f"sqlite:///{folder}/leasecore.db")
    service = build_service(settings, clock=SettableClock(START), real_clock=SettableClock(START))
    seed_demo(service.app)
    demo_accounts(service.app)
    service.platform.runner.catch_up()
    yield service
    service.close()


def client(app: Starlette, **options: object) -> TestClient:
    return TestClient(app, follow_redirects=False, **options)  # type: ignore[arg-type]


def log_in(http: TestClient, username: str, **headers: str) -> httpx.Response:
    form = http.get("/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    fields = {"csrf": token.group(1), "username": username, "password": DEMO_PASSWORD, "next": "/admin/"}
    answer: httpx.Response = http.post("/admin/login", data=fields, headers=headers)
    assert answer.status_code == 303, answer.text
    return answer


def csrf(http: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', http.get("/admin/").text)
    assert found
    return found.group(1)


def test_every_word_is_in_both_languages_and_every_word_the_screens_use_is_there() -> None:
    assert all(len(pair) == 2 and all(text.strip() for text in pair) for pair in i18n.MESSAGES.values())
    used = set()
    for path in [*TEMPLATES.rglob("*.html"), *SRC.rglob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", path.read_text()))
    assert len(used) > 100
    assert sorted(key for key in used if not i18n.known(key)) == []


def test_a_session_ends_by_the_clock(service: Service) -> None:
    clock = SettableClock(START)
    sessions = WebSessions(service.store, clock)
    session_id, session = sessions.open("admin")
    assert sessions.find(session_id) == session
    clock.advance(timedelta(hours=8) - timedelta(seconds=1))
    assert sessions.find(session_id) is not None
    clock.advance(timedelta(seconds=1))
    assert sessions.find(session_id) is None
    assert sessions.find("not a session") is None


def test_every_process_on_the_database_knows_a_session_until_it_is_logged_out(service: Service) -> None:
    other = build_service(Settings(database_url=service.settings.database_url), clock=SettableClock(START))
    try:
        first, second = client(create_app(service)), client(create_app(other))
        log_in(first, "finance")
        second.cookies = first.cookies
        assert "finance" in second.get("/admin/").text
        assert first.post("/admin/logout", data={"csrf": csrf(first)}).status_code == 303
        answer = second.get("/admin/orders")
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin/login?next=%2Fadmin%2Forders")
    finally:
        other.close()


def test_the_cookie_is_http_only_and_lax_and_secure_behind_https(service: Service) -> None:
    plain = log_in(client(create_app(service)), "admin").headers["set-cookie"]
    assert "leasecore_admin=" in plain and "HttpOnly" in plain and "SameSite=lax" in plain and "Secure" not in plain
    proxied = log_in(client(create_app(service)), "admin", **{"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert "Secure" in proxied


def test_a_part_of_a_page_htmx_asks_for_after_the_session_ended_sends_the_whole_page_to_the_login(
    service: Service,
) -> None:
    answer = client(create_app(service)).get("/admin/", headers={"HX-Request": "true"})
    assert (answer.status_code, answer.headers["HX-Redirect"]) == (204, "/admin/login?next=%2Fadmin%2F")


def test_a_logout_without_the_token_is_refused_and_the_session_goes_on(service: Service) -> None:
    http = client(create_app(service))
    log_in(http, "admin")
    refused = http.post("/admin/logout", data={"csrf": "forged"})
    assert refused.status_code == 403 and "安全令牌不符" in refused.text
    assert http.get("/admin/").status_code == 200


def test_the_navigation_lists_only_the_screens_a_role_may_use(service: Service) -> None:
    app = Starlette(routes=[Mount("/admin", admin_app(service))])
    app.state.service = service
    for username, finance in (("risk", 403), ("finance", 200), ("operator", 403), ("admin", 200)):
        http = client(app)
        log_in(http, username)
        allowed = [screen.key for screen in SCREENS if Role(username) in screen.access.roles]
        assert re.findall(r'data-nav="(\w+)"', http.get("/admin/").text) == allowed
        assert ("finance" in allowed, http.get("/admin/finance").status_code) == (finance == 200, finance)
    assert "此页面需要以下角色之一：" in client_for(app, "operator").get("/admin/finance").text


def client_for(app: Starlette, username: str) -> TestClient:
    http = client(app)
    log_in(http, username)
    return http


def test_pages_of_orders_are_stable_and_each_order_is_on_one(service: Service) -> None:
    app = service.app
    sku_id = next(sku for key, sku in seed_demo(app).skus.items() if key == "earphones-pro/usb-c")
    app.receive_units(sku_id, [f"PAGE-{n:03d}" for n in range(30)])
    customer_id = app.register_customer("13700000099")
    app.record_identity(customer_id, IdentityCheck("分页客户", "11010519491231002X", verified=True))
    request = OrderRequest(
        sku_id=sku_id,
        quantity=1,
        plan=LongTerm(6),
        protection=False,
        deposit_mode=DepositMode.FULL,
        channel="h5",
        address=Address("分页客户", "13700000099", "1 Page Road"),
    )
    placed = {str(app.place_order(customer_id, request)) for _ in range(25)}
    service.platform.read_your_writes()
    http = client(create_app(service))
    log_in(http, "operator")
    def rows(answer: httpx.Response) -> list[str]:
        return re.findall(r'<tr data-order="([0-9a-f-]+)"', answer.text)

    def link(answer: httpx.Response, text: str) -> str | None:
        found = re.search(rf'<a href="([^"]+)"[^>]*>{text}</a>', answer.text.replace("&amp;", "&"))
        return found.group(1) if found else None

    first = http.get("/admin/orders", params={"customer": str(customer_id)})
    assert "共 25 条" in first.text and link(first, "上一页") is None
    following = link(first, "下一页")
    assert following is not None  # all 25 placed at one instant: the cursor breaks the tie on the order id
    second = http.get(following)
    assert (len(rows(first)), len(rows(second))) == (20, 5) and link(second, "下一页") is None
    seen = rows(first) + rows(second)
    assert len(seen) == len(set(seen)) == 25 and set(seen) == placed
    back = link(second, "上一页")
    assert back is not None and rows(http.get(back)) == rows(first)
    last = link(first, "末页")
    assert last is not None and rows(http.get(last)) == seen[-20:]
    assert "分页客户" in second.text and "13700000099" in second.text


def test_unknown_pages_and_orders_answer_a_page(service: Service) -> None:
    http = client(create_app(service))
    log_in(http, "admin")
    assert http.get("/admin").headers["location"].endswith("/admin/")
    for path in ("/admin/nope", f"/admin/orders/{uuid4()}", "/admin/orders/not-an-id"):
        answer = http.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html"), path
        assert "content-security-policy" in answer.headers


def test_without_node_modules_the_pages_work_and_a_warning_says_so_once(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(assets, "node_modules", lambda: None)
    assets.htmx.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="api.web.assets"):
            http = client(create_app(service))
            create_app(service)
        assert [record.getMessage() for record in caplog.records if "htmx" in record.getMessage()] != []
        assert len([record for record in caplog.records if record.name == "api.web.assets"]) == 1
        log_in(http, "admin")
        page = http.get("/admin/orders")
        assert page.status_code == 200 and "htmx.min.js" not in page.text
        assert http.get("/admin/assets/htmx.min.js").status_code == 404
    finally:
        assets.htmx.cache_clear()

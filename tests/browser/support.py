"""The back office in a real browser: the service on a free port (uvicorn in a thread, SQLite in a temp folder,
sandbox mode, the demo catalog and staff), Debian's Chromium driven by Playwright, and the helpers a tester would
write: log in as a role, read a figure, scan for accessibility problems, keep a screenshot."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page

from api.bootstrap import Service, Settings, build_service
from api.cli import DEMO_PASSWORD, demo_accounts
from api.demo import seed_demo
from api.http.app import create_app
from api.web import assets
from leasecore.clock import SettableClock
from tests.e2e.support import Api, Customer, new_phone
from tests.support import START

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class Console:
    """The service behind a real port, the API helper over the same service, and the demo SKUs."""

    base: str
    """`http://127.0.0.1:PORT`"""
    service: Service
    api: Api
    skus: dict[str, UUID]
    clock: SettableClock

    @property
    def admin(self) -> str:
        return f"{self.base}/admin"


@contextmanager
def serving(folder: Path, start: datetime = START) -> Iterator[Console]:
    """The whole service, as `leasecore demo` and `leasecore serve` would leave it, on a port of its own."""
    clock = SettableClock(start)
    service = build_service(
        Settings(database_url=f"sqlite:///{folder}/leasecore.db"), clock=clock, real_clock=SettableClock(start)
    )
    seeded = seed_demo(service.app)
    demo_accounts(service.app)
    service.platform.runner.catch_up()
    service.refunds.start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.02)
    api = Api(service)
    api.settle = True  # the screens read the read models without X-Read-After
    try:
        yield Console(f"http://127.0.0.1:{port}", service, api, dict(seeded.skus), clock)
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
        api.close()


def customer(api: Api, name: str, *, score: int = 720, phone: str | None = None) -> Customer:
    """A customer verified under `name` (any text the API accepts) with a bureau score evaluated."""
    who = api.customer(verified=False, score=None, phone=phone or new_phone())
    identity = {"name": name, "id_number": who.id_number, "id_card_image": "aWQ=", "selfie_image": "bWU="}
    assert api.post("/v1/me/identity", who=who, json=identity)["status"] == "verified"
    api.post("/v1/sandbox/credit-scores", json={"id_number": who.id_number, "score": score})
    assert api.post("/v1/me/credit", who=who, json={})["score"] == score
    return who


def order(api: Api, who: Customer, sku_id: UUID, *, paid: bool = True, signed: bool = False, **fields: Any) -> str:
    """An order placed (and its checkout paid, and its contract signed, when asked)."""
    placed = api.place(who, api.order_body(sku_id, **fields))
    if paid:
        api.pay(who, placed["id"], "checkout")
    if signed:
        api.post(f"/v1/orders/{placed['id']}/contract/sign", who=who)
    order_id: str = placed["id"]
    return order_id


# The browser.


def new_context(browser: Browser, *, javascript: bool = True, bypass_csp: bool = False) -> BrowserContext:
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,
        locale="zh-CN",
    )
    context.set_default_timeout(10_000)
    return context


def log_in(page: Page, console: Console, username: str, password: str = DEMO_PASSWORD) -> None:
    """Through the login form, as a person would; lands on the dashboard."""
    page.goto(f"{console.admin}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{console.admin}/")


def figure(page: Page, key: str) -> str:
    """The value shown by the dashboard tile `data-figure=key`."""
    return page.locator(f'[data-figure="{key}"] .figure').inner_text().strip()


def count(text: str) -> int:
    """The number in a tile's text (`3 笔` → 3)."""
    found = re.search(r"\d[\d,]*", text)
    assert found, text
    return int(found.group(0).replace(",", ""))


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (axe as npm installed it; the context must bypass
    the CSP to inject it)."""
    path = assets.asset(assets.AXE)
    assert path is not None, "node_modules/axe-core is missing: run `make` (npm ci)"
    page.add_script_tag(path=str(path))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{item['id']} ({item['impact']}): {item['help']} at {[node['target'] for node in item['nodes']][:3]}"
        for item in result["violations"]
        if item["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """A PNG of the viewport: into docs/screenshots/ when LEASECORE_SCREENSHOTS=docs (`make screenshots`), else
    into the test's own folder, so a test run leaves the repository as it was."""
    target = SCREENSHOTS if os.environ.get("LEASECORE_SCREENSHOTS") == "docs" else folder
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path))
    return path

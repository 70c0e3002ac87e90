"""`/docs` renders in a real browser from this service alone: Swagger UI draws every route of the contract, a
route opens on its request example, and the page fetches nothing from any other host."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Request

from tests.browser.support import Console, new_context, screenshot


def test_the_docs_page_draws_every_route_and_its_examples_offline(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    document = console.api.get("/openapi.json")
    operations = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    elsewhere: list[str] = []
    context = new_context(browser)
    page = context.new_page()

    def note(request: Request) -> None:
        if urlsplit(request.url).netloc != urlsplit(console.base).netloc and not request.url.startswith("data:"):
            elsewhere.append(request.url)

    page.on("request", note)
    try:
        page.goto(f"{console.base}/docs")
        page.locator(".opblock").first.wait_for()
        drawn = {
            f"{block.locator('.opblock-summary-method').inner_text().strip()} "
            f"{block.locator('.opblock-summary-path').get_attribute('data-path')}"
            for block in page.locator(".opblock").all()
        }
        assert drawn == operations
        place_order = page.locator("#operations-orders-place_order, .opblock-post:has([data-path='/v1/orders'])")
        place_order.first.locator(".opblock-summary").click()
        example = place_order.first.locator(".body-param__example, .microlight").first
        example.wait_for()
        shown = json.loads(example.inner_text())
        assert {"sku_id", "plan"} <= set(shown)
        screenshot(page, "docs", tmp_path)
    finally:
        context.close()
    assert elsewhere == []

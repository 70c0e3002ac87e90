"""The demo: a realistic catalog and configuration, seeded idempotently; one order walked through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.bootstrap import application
from api.cli import main
from api.demo import seed_demo, walk_through
from leasecore.application import LeaseApplication
from leasecore.catalog import Product
from leasecore.configuration import DOCUMENT_NAMES
from leasecore.lease import LeaseStatus
from tests.support import close


@pytest.fixture
def app(sqlite_url: str) -> Iterator[LeaseApplication]:
    app = application(sqlite_url)
    try:
        yield app
    finally:
        close(app)


def test_the_demo_catalog_covers_every_kind_of_product(app: LeaseApplication) -> None:
    seeded = seed_demo(app)
    tree = app.categories()
    names = {node.name for node in tree.nodes.values()}
    assert {"Phones", "Laptops", "Tablets", "Cameras", "Drones", "Watches", "Earphones"} <= names

    products: list[Product] = [app.product(product_id) for product_id in seeded.products.values()]
    assert any(p.long_term and not p.short_term for p in products)
    assert any(p.short_term and not p.long_term for p in products)
    assert any(p.long_term and p.short_term for p in products)
    assert any(p.protection.mandatory for p in products)
    today = app.local_today()
    assert all(any(u.is_free(today, None) for u in app.stock_units(sku_id)) for sku_id in seeded.skus.values())
    assert set(app.configured().versions) == set(DOCUMENT_NAMES)


def test_seeding_the_demo_twice_changes_nothing(app: LeaseApplication) -> None:
    seed_demo(app)
    head = app.recorder.max_notification_id()
    again = seed_demo(app)

    assert app.recorder.max_notification_id() == head
    assert again.units_received == 0 and set(again.documents.values()) == {1}


def test_the_walk_through_takes_one_order_to_settlement(app: LeaseApplication) -> None:
    steps = list(walk_through(app))

    assert steps[-1].startswith("bought out and settled")
    (order,) = map(app.lease, app.customer(app.register_customer("13800138000")).orders)
    assert order.status is LeaseStatus.SETTLED
    assert app.credit_line(order.customer_id).reserved_total == 0


def test_the_demo_command_also_makes_the_staff_accounts_once(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database-url", sqlite_url]) == 0
    assert "(4 new)" in capsys.readouterr().out
    assert main(["demo", "--database-url", sqlite_url]) == 0
    assert "(0 new)" in capsys.readouterr().out

"""What the benchmarks share: a throwaway database per backend, and a small world of stocked SKUs and
verified customers built through the application's own commands."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import sqlalchemy

from api.demo import seed_demo
from leasecore.application import LeaseApplication
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, Sku, TermPrice
from leasecore.credit.customer import IdentityCheck
from leasecore.lease.quote import OrderRequest
from leasecore.values import Address, DepositMode, LongTerm

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
SKUS_PER_PRODUCT = 4
SERIALS_PER_CALL = 500
D = Decimal


@contextmanager
def database(backend: str, postgres_url: str, prefix: str) -> Iterator[str | None]:
    """A temporary SQLite file, or a fresh PostgreSQL schema dropped afterwards (None if unreachable)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/{prefix}.db"
        return
    if backend not in ("postgresql", "postgres"):
        raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    engine = sqlalchemy.create_engine(postgres_url)
    schema = f"{prefix}_{uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    except sqlalchemy.exc.OperationalError:
        engine.dispose()
        yield None
        return
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def list_skus(app: LeaseApplication, count: int, units: int) -> list[UUID]:
    """`count` phone SKUs, a few to a product, each stocked with `units` units."""
    category = seed_demo(app).categories["Phones"]
    skus: list[UUID] = []
    for first in range(0, count, SKUS_PER_PRODUCT):
        built = [phone_sku(k) for k in range(min(SKUS_PER_PRODUCT, count - first))]
        app.list_product(
            ProductDetails(category, f"Bench Phone {first // SKUS_PER_PRODUCT}", "Bench", channels=("app",)),
            LongTermOffer((6, 12)),
            ShortTermOffer(3, 30),
            Protection(True, False, D("19.90"), D("2.00"), D("300.00")),
            built,
        )
        for sku in built:
            for start in range(0, units, SERIALS_PER_CALL):
                serials = range(start, min(units, start + SERIALS_PER_CALL))
                app.receive_units(sku.id, [f"BENCH-{sku.id.hex[:8]}-{n:05d}" for n in serials])
            skus.append(sku.id)
    return skus


def phone_sku(k: int) -> Sku:
    return Sku(
        id=uuid4(),
        specs={"storage": f"{128 * (k + 1)}G"},
        market_value=D("6999.00") + 1000 * k,
        deposit=D("3000.00") + 500 * k,
        term_prices=(TermPrice(6, D("299.00"), D("3600.00")), TermPrice(12, D("239.00"), D("2600.00"))),
        renewal_monthly_rent=D("199.00"),
        daily_rent=D("39.00"),
    )


def verified_customer(app: LeaseApplication, n: int) -> UUID:
    """A customer with a verified identity and a score of 720."""
    customer_id = app.register_customer(f"139{n:08d}")
    app.record_identity(customer_id, IdentityCheck("Bench Customer", "11010519491231002X", True))
    app.grant_credit(customer_id, 720, "bureau", {})
    return customer_id


def order_request(sku_id: UUID) -> OrderRequest:
    """A 12-month lease of one unit with the full deposit (no credit waiver)."""
    address = Address("Bench Customer", "13900000000", "1 Bench Road, Shanghai")
    return OrderRequest(sku_id, 1, LongTerm(12), False, DepositMode.FULL, "app", address)


def close(app: LeaseApplication) -> None:
    """Release the event store's connections (PostgreSQL keeps a pool per engine)."""
    engine = getattr(getattr(app.factory, "datastore", None), "engine", None)
    if engine is not None:
        engine.dispose()
    app.close()

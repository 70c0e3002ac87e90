"""The catalog as customers browse it: the live category tree and each product with its plans,
protection and SKUs, one row per product (its document as JSON); and the queries that read them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Uuid, bindparam, select

from leasecore.catalog import (
    CategoryTree,
    LongTermOffer,
    Product,
    ProductDetails,
    Protection,
    ShortTermOffer,
    Sku,
    TermPrice,
)
from projections.prepared import Prepared
from projections.projection import Batch, Event, Projection, blank, is_new, on
from projections.store import Instant, ViewStore, metadata

catalog_categories_view = Table(
    "catalog_categories_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", String(128), nullable=False),
    Column("parent_id", Uuid),
    Column("retired", Boolean, nullable=False),
    Column("added_at", Instant, nullable=False),
)

catalog_products_view = Table(
    "catalog_products_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("category_id", Uuid, nullable=False),
    Column("name", String(128), nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("document", JSON, nullable=False),
    Column("listed_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_catalog_products_view_category", "category_id", "listed_at"),
)


class CatalogProjection(Projection):
    """Categories and products as the catalog routes answer them; retired ones are kept, marked."""

    name = "catalog"
    tables = (catalog_categories_view, catalog_products_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(catalog_products_view, "id").prefetch(
            event.originator_id for event in events if isinstance(event, Product.Event)
        )
        batch.rows(catalog_categories_view, "id").prefetch(
            event.category_id for event in events if hasattr(event, "category_id")
        )

    @on(CategoryTree.CategoryAdded)
    def category_added(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(catalog_categories_view, "id")
        if not is_new(rows.one(event.category_id), event):
            return
        row = blank(
            catalog_categories_view,
            id=event.category_id,
            version=event.originator_version,
            name=event.name,
            parent_id=event.parent_id,
            retired=False,
            added_at=event.timestamp,
        )
        rows.put(event.category_id, [row])

    @on(CategoryTree.CategoryRenamed, CategoryTree.CategoryMoved, CategoryTree.CategoryRetired)
    def category_changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(catalog_categories_view, "id").one(event.category_id)
        if row is None or not is_new(row, event):
            return
        row["version"] = event.originator_version
        if isinstance(event, CategoryTree.CategoryRenamed):
            row["name"] = event.name
        elif isinstance(event, CategoryTree.CategoryMoved):
            row["parent_id"] = event.parent_id
        else:
            row["retired"] = True

    @on(Product.Listed)
    def listed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(catalog_products_view, "id")
        if not is_new(rows.one(event.originator_id), event):
            return
        document = {
            "details": _plain(event.details),
            "long_term": _plain(event.long_term),
            "short_term": _plain(event.short_term),
            "protection": _plain(event.protection),
            "skus": [],
        }
        row = blank(
            catalog_products_view,
            id=event.originator_id,
            version=event.originator_version,
            category_id=event.details.category_id,
            name=event.details.name,
            retired=False,
            document=document,
            listed_at=event.timestamp,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(Product.Revised, Product.PlansChanged, Product.SkuAdded, Product.SkuRepriced, Product.Retired)
    def product_changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(catalog_products_view, "id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        document = {**row["document"], "skus": list(row["document"]["skus"])}
        if isinstance(event, Product.Revised):
            document["details"], document["protection"] = _plain(event.details), _plain(event.protection)
            row["category_id"], row["name"] = event.details.category_id, event.details.name
        elif isinstance(event, Product.PlansChanged):
            document["long_term"], document["short_term"] = _plain(event.long_term), _plain(event.short_term)
        elif isinstance(event, Product.SkuAdded | Product.SkuRepriced):
            sku = _plain(event.sku)
            others = [item for item in document["skus"] if item["id"] != sku["id"]]
            document["skus"] = [*others, sku] if isinstance(event, Product.SkuAdded) else _replaced(document, sku)
        else:
            row["retired"] = True
        row.update(document=document, version=event.originator_version, updated_at=event.timestamp)


# Queries.


@dataclass(frozen=True)
class CategoryView:
    id: UUID
    name: str
    parent_id: UUID | None
    retired: bool


@dataclass(frozen=True)
class ProductView:
    """A product as listed now: its details, plans, protection and SKUs in the order they were added."""

    id: UUID
    details: ProductDetails
    long_term: LongTermOffer | None
    short_term: ShortTermOffer | None
    protection: Protection
    skus: tuple[Sku, ...]
    retired: bool
    listed_at: datetime
    version: int


def categories(views: ViewStore, *, include_retired: bool = False) -> list[CategoryView]:
    """Every category, in the order they were added."""
    table = catalog_categories_view.c
    query = select(catalog_categories_view).order_by(table.added_at, table.name, table.id)
    if not include_retired:
        query = query.where(table.retired.is_(False))
    with views.read() as connection:
        rows = connection.execute(query).mappings().all()
    return [CategoryView(row["id"], row["name"], row["parent_id"], row["retired"]) for row in rows]


def products(
    views: ViewStore, *, category_ids: Iterable[UUID] | None = None, include_retired: bool = False
) -> list[ProductView]:
    """Products in these categories (all when None), oldest listed first."""
    table = catalog_products_view.c
    query = select(catalog_products_view).order_by(table.listed_at, table.id)
    if category_ids is not None:
        query = query.where(table.category_id.in_(list(category_ids)))
    if not include_retired:
        query = query.where(table.retired.is_(False))
    with views.read() as connection:
        return [_product(row) for row in connection.execute(query).mappings()]


def product_names(views: ViewStore, *, include_retired: bool = True) -> dict[UUID, str]:
    """Every product's name by id, oldest listed first, without reading the products' documents: for pickers and
    for naming what a list's rows rent."""
    query = _PRODUCT_NAMES if include_retired else _LISTED_PRODUCT_NAMES
    return {product_id: name for product_id, name in query.tuples(views)}


_PRODUCT_NAMES = Prepared(
    select(catalog_products_view.c.id, catalog_products_view.c.name).order_by(
        catalog_products_view.c.listed_at, catalog_products_view.c.id
    )
)
_LISTED_PRODUCT_NAMES = Prepared(_PRODUCT_NAMES.statement.where(catalog_products_view.c.retired.is_(False)))


def product(views: ViewStore, product_id: UUID) -> ProductView | None:
    row = _PRODUCT.first(views, product_id=product_id)
    return _product(row) if row else None


_PRODUCT = Prepared(select(catalog_products_view).where(catalog_products_view.c.id == bindparam("product_id")))


def _product(row: Any) -> ProductView:
    document = row["document"]
    long_term, short_term = document["long_term"], document["short_term"]
    details = document["details"]
    return ProductView(
        id=row["id"],
        details=ProductDetails(
            category_id=UUID(details["category_id"]),
            name=details["name"],
            brand=details["brand"],
            description=details["description"],
            images=tuple(details["images"]),
            channels=tuple(details["channels"]),
        ),
        long_term=LongTermOffer(tuple(long_term["terms"])) if long_term else None,
        short_term=ShortTermOffer(short_term["min_days"], short_term["max_days"]) if short_term else None,
        protection=Protection(
            offered=document["protection"]["offered"],
            mandatory=document["protection"]["mandatory"],
            monthly=Decimal(document["protection"]["monthly"]),
            daily=Decimal(document["protection"]["daily"]),
            damage_excess=Decimal(document["protection"]["damage_excess"]),
        ),
        skus=tuple(_sku(item) for item in document["skus"]),
        retired=row["retired"],
        listed_at=row["listed_at"],
        version=row["version"],
    )


def _sku(item: dict[str, Any]) -> Sku:
    def amount(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return Sku(
        id=UUID(item["id"]),
        specs=dict(item["specs"]),
        market_value=Decimal(item["market_value"]),
        deposit=Decimal(item["deposit"]),
        term_prices=tuple(
            TermPrice(price["months"], Decimal(price["monthly_rent"]), Decimal(price["buyout_price"]))
            for price in item["term_prices"]
        ),
        renewal_monthly_rent=amount(item["renewal_monthly_rent"]),
        daily_rent=amount(item["daily_rent"]),
    )


def _replaced(document: dict[str, Any], sku: dict[str, Any]) -> list[dict[str, Any]]:
    return [sku if item["id"] == sku["id"] else item for item in document["skus"]]


def _plain(value: Any) -> Any:
    """A value object as JSON: dataclasses as objects, money and ids as strings, tuples as lists."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"no JSON form for {value!r}")

"""Catalog editing in the back office: categories, products, SKUs, plans and stock units."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import projections.stock
from api.http import answers
from api.http.endpoint import Answered, Call, Endpoints, staff
from api.http.errors import ApiError
from api.http.schemas import admin_catalog as schemas
from api.http.schemas.catalog import ProductOut, SkuOut
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, Sku, TermPrice
from leasecore.errors import NotFound
from leasecore.staff import Role
from projections import catalog

endpoints = Endpoints("back office: catalog")
EDITORS = staff(Role.OPERATOR, Role.ADMIN)


def sku(body: schemas.SkuIn, sku_id: UUID, field_path: str = "") -> Sku:
    """A SKU from its body; every term with a monthly rent has a buyout price and the other way round."""
    rents, buyouts = body.monthly_rent, body.buyout_price
    if rents.keys() != buyouts.keys():
        prefix = f"{field_path}." if field_path else ""
        terms = ", ".join(sorted(rents.keys() ^ buyouts.keys(), key=int))
        message = f"monthly_rent and buyout_price name the same terms (differ on {terms})"
        raise ApiError(
            422, "validation", f"{prefix}buyout_price: {message}", errors=[(f"{prefix}buyout_price", message)]
        )
    return Sku(
        id=sku_id,
        specs=dict(body.specs),
        market_value=body.market_value,
        deposit=body.deposit,
        term_prices=tuple(TermPrice(int(months), rents[months], buyouts[months]) for months in sorted(rents, key=int)),
        renewal_monthly_rent=body.renewal_monthly_rent,
        daily_rent=body.daily_rent,
    )


def plans(body: schemas.PlansIn | schemas.ProductIn) -> tuple[LongTermOffer | None, ShortTermOffer | None]:
    long_term = LongTermOffer(tuple(body.long_term.terms)) if body.long_term else None
    short_term = ShortTermOffer(body.short_term.min_days, body.short_term.max_days) if body.short_term else None
    return long_term, short_term


def product_answer(call: Call[Any, Any], product_id: UUID) -> ProductOut:
    view = catalog.product(call.views, product_id)
    if view is None:
        raise NotFound("product", product_id)
    return answers.product_out(call.views, view, call.app.local_today(), None)


@endpoints.post(
    "/v1/admin/categories",
    access=EDITORS,
    body=schemas.NewCategory,
    answer=schemas.CategoryOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Add a category",
)
def add_category(call: Call[schemas.NewCategory, None]) -> schemas.CategoryOut:
    """A new device category at the root or under a live parent."""
    category_id = call.app.add_category(call.body.name.strip(), call.body.parent_id, call.derived_id("category"))
    call.written()
    return schemas.CategoryOut(id=category_id, name=call.body.name.strip(), parent_id=call.body.parent_id)


@endpoints.post(
    "/v1/admin/products",
    access=EDITORS,
    body=schemas.ProductIn,
    answer=ProductOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    rules={"category_id": "a category that exists and is not retired"},
    summary="List a product",
)
def list_product(call: Call[schemas.ProductIn, None]) -> Answered:
    """A product in a live category, offered long-term, short-term or both, with its SKUs (ids are given)."""
    body = call.body
    details = ProductDetails(
        body.category_id,
        body.name.strip(),
        body.brand.strip(),
        body.description,
        tuple(body.images),
        tuple(body.channels),
    )
    protection = Protection(
        body.protection.offered,
        body.protection.mandatory,
        body.protection.monthly,
        body.protection.daily,
        body.protection.damage_excess,
    )
    long_term, short_term = plans(body)
    skus = [
        sku(item, call.derived_id(f"sku {index}") or uuid4(), f"skus[{index}]") for index, item in enumerate(body.skus)
    ]
    product_id = call.app.list_product(
        details, long_term, short_term, protection, skus, product_id=call.derived_id("product")
    )
    call.written()
    return Answered(product_answer(call, product_id), {"Location": f"/v1/catalog/products/{product_id}"})


@endpoints.post(
    "/v1/admin/products/{id}/skus",
    access=EDITORS,
    body=schemas.SkuIn,
    answer=SkuOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Add a SKU",
)
def add_sku(call: Call[schemas.SkuIn, None]) -> SkuOut:
    """A SKU priced for every plan its product offers; it starts with no units."""
    sku_id = call.app.add_sku(call.id, sku(call.body, call.derived_id("sku") or uuid4()))
    call.written()
    found = next(item for item in product_answer(call, call.id).skus if item.id == sku_id)
    return found


@endpoints.post(
    "/v1/admin/products/{id}/plans",
    access=EDITORS,
    body=schemas.PlansIn,
    answer=ProductOut,
    summary="Change the plans offered",
)
def change_plans(call: Call[schemas.PlansIn, None]) -> ProductOut:
    """New terms or short-term limits for new orders; every SKU must stay priced for every term."""
    long_term, short_term = plans(call.body)
    call.app.change_plans(call.id, long_term, short_term)
    call.written()
    return product_answer(call, call.id)


@endpoints.post(
    "/v1/admin/skus/{id}/units",
    access=EDITORS,
    body=schemas.Units,
    answer=schemas.StockOut,
    status=201,
    idempotent=True,
    summary="Receive stock units",
)
def receive_units(call: Call[schemas.Units, None]) -> schemas.StockOut:
    """New units by serial / IMEI; a serial already in stock is refused (422)."""
    call.app.receive_units(call.id, [serial.strip() for serial in call.body.serials])
    call.written()
    level = projections.stock.stock(call.views, call.app.local_today(), sku_ids=[call.id])[0]
    return schemas.StockOut.model_validate(level, from_attributes=True)


@endpoints.get(
    "/v1/admin/skus/{id}/units",
    access=EDITORS,
    answer=list[schemas.UnitOut],
    summary="A SKU's units and where each is",
)
def list_units(call: Call[None, None]) -> list[schemas.UnitOut]:
    """Every unit by serial with its state and the order it is with: booked by an order not shipped yet, leased,
    on its way back, back and waiting for its order's inspection, retired, sold, or available."""
    if not projections.stock.stock(call.views, call.app.local_today(), sku_ids=[call.id]):
        raise NotFound("sku", call.id)
    return [
        schemas.UnitOut.model_validate(unit, from_attributes=True)
        for unit in projections.stock.unit_states(call.views, call.id)
    ]

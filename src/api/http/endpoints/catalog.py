"""The catalog customers browse: categories, products with SKUs, plans, protection and free units."""

from __future__ import annotations

from api.http import answers
from api.http.endpoint import PUBLIC, Call, Endpoints
from api.http.schemas import catalog as schemas
from leasecore.errors import NotFound
from projections import catalog

endpoints = Endpoints("catalog")


@endpoints.get("/v1/catalog/categories", access=PUBLIC, answer=list[schemas.CategoryNode], summary="Category tree")
def categories(call: Call[None, None]) -> list[schemas.CategoryNode]:
    """The live device categories (设备类型) as a tree."""
    return answers.category_tree(call.views)


@endpoints.get(
    "/v1/catalog/products",
    access=PUBLIC,
    query=schemas.ProductsQuery,
    answer=list[schemas.ProductOut],
    summary="Products",
)
def products(call: Call[None, schemas.ProductsQuery]) -> list[schemas.ProductOut]:
    """Live products, in a category and those under it when `category_id` is given."""
    category_id = call.query.category_id
    chosen = None if category_id is None else answers.descendants(call.views, category_id)
    today = call.app.local_today()
    return [
        answers.product_out(call.views, view, today, None) for view in catalog.products(call.views, category_ids=chosen)
    ]


@endpoints.get(
    "/v1/catalog/products/{id}",
    access=PUBLIC,
    query=schemas.ProductQuery,
    answer=schemas.ProductOut,
    summary="A product",
)
def product(call: Call[None, schemas.ProductQuery]) -> schemas.ProductOut:
    """A product with its SKUs, plans and protection; `available_units` counts units free from today on,
    or over `start`–`end` when given (short-term availability)."""
    view = catalog.product(call.views, call.id)
    if view is None:
        raise NotFound("product", call.id)
    start = call.query.start or call.app.local_today()
    return answers.product_out(call.views, view, start, call.query.end)

"""The catalog the operator edits: the category tree, products with SKUs and plans, and stock units."""

from leasecore.catalog.categories import CATEGORY_TREE_ID, Category, CategoryTree
from leasecore.catalog.product import (
    NO_PROTECTION,
    LongTermOffer,
    Product,
    ProductDetails,
    Protection,
    ShortTermOffer,
    Sku,
    TermPrice,
)
from leasecore.catalog.stock import Booking, Inventory, StockUnit, Unit, UnitStatus, plan_dates

__all__ = [
    "CATEGORY_TREE_ID",
    "NO_PROTECTION",
    "Booking",
    "Category",
    "CategoryTree",
    "Inventory",
    "LongTermOffer",
    "Product",
    "ProductDetails",
    "Protection",
    "ShortTermOffer",
    "Sku",
    "StockUnit",
    "TermPrice",
    "Unit",
    "UnitStatus",
    "plan_dates",
]

"""Catalog editing: categories, products, SKUs and their prices by term, plans and stock units."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from api.http.schemas.common import LINE_PATTERN, Answer, Body, Money, Name, Notes, Serial, Slug, rules


class LongTermIn(Body):
    terms: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1, max_length=24)]


class ShortTermIn(Body):
    min_days: Annotated[int, Field(ge=1, le=3650)]
    max_days: Annotated[int, Field(ge=1, le=3650)]


class ProtectionIn(Body):
    offered: bool
    mandatory: bool = False
    monthly: Money = Decimal("0.00")
    daily: Money = Decimal("0.00")
    damage_excess: Money = Decimal("0.00")


TermKey = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}$")]


SKU: dict[str, Any] = {
    "specs": {"colour": "black", "storage": "256G"},
    "market_value": "8999.00",
    "deposit": "6000.00",
    "monthly_rent": {"6": "399.00", "12": "329.00"},
    "buyout_price": {"6": "5200.00", "12": "3100.00"},
    "renewal_monthly_rent": "299.00",
    "daily_rent": "49.00",
}
LONG_TERM: dict[str, Any] = {"terms": [6, 12]}
SHORT_TERM: dict[str, Any] = {"min_days": 3, "max_days": 60}


class SkuIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [SKU]})
    RULES = rules({"buyout_price": "monthly_rent and buyout_price name the same terms"})

    specs: Annotated[
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=LINE_PATTERN)],
            Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)],
        ],
        Field(max_length=16),
    ] = Field(default={})
    market_value: Money
    deposit: Money
    monthly_rent: Annotated[dict[TermKey, Money], Field(max_length=24)] = Field(default={})
    buyout_price: Annotated[dict[TermKey, Money], Field(max_length=24)] = Field(default={})
    renewal_monthly_rent: Money | None = None
    daily_rent: Money | None = None


class ProductIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category_id": "942c8493-6227-48ee-9837-e485c5ffa490",
                    "name": "Phone X 256G",
                    "brand": "Phone Co",
                    "description": "6.1-inch screen, 256G storage",
                    "images": ["/images/phone-x-front.jpg"],
                    "channels": ["app", "h5", "alipay_mini", "wechat_mini"],
                    "long_term": LONG_TERM,
                    "short_term": SHORT_TERM,
                    "protection": {
                        "offered": True,
                        "mandatory": False,
                        "monthly": "19.90",
                        "daily": "2.00",
                        "damage_excess": "300.00",
                    },
                    "skus": [SKU],
                }
            ]
        }
    )

    category_id: UUID
    name: Name
    brand: Name
    description: Notes = ""
    images: Annotated[
        list[Annotated[str, StringConstraints(max_length=500, pattern=LINE_PATTERN)]], Field(max_length=20)
    ] = Field(default=[])
    channels: Annotated[list[Slug], Field(max_length=16)] = Field(default=[])
    long_term: LongTermIn | None = None
    short_term: ShortTermIn | None = None
    protection: ProtectionIn = ProtectionIn(offered=False)
    skus: Annotated[list[SkuIn], Field(max_length=50)] = Field(default=[])


class PlansIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"long_term": LONG_TERM, "short_term": SHORT_TERM}]})

    long_term: LongTermIn | None = None
    short_term: ShortTermIn | None = None


class NewCategory(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Phones"}]})

    name: Name
    parent_id: UUID | None = None


class CategoryOut(Answer):
    id: UUID
    name: str
    parent_id: UUID | None


class Units(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"serials": ["356938035643809", "356938035643817"]}]})

    serials: Annotated[list[Serial], Field(min_length=1, max_length=1000)]


class StockOut(Answer):
    sku_id: UUID
    product_id: UUID
    units: int
    available: int
    in_stock: int
    leased: int
    sold: int
    retired: int


class UnitOut(Answer):
    """A unit of a SKU: `available`, `booked` (held by an order not shipped yet), `leased`, `returning`,
    `inspecting` (back, its order not inspected yet), `retired`, or `sold` (bought out; added to the contract)."""

    serial: str
    status: Literal["available", "booked", "leased", "returning", "inspecting", "retired", "sold"]
    order_id: UUID | None

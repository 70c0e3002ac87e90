"""The catalog customers browse: the category tree, products with SKUs, plans, protection and free units."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import AliasPath, Field, ValidationInfo, field_validator, model_validator

from api.http.schemas.common import Answer, Money, Query, QueryDate, Row, not_before, rules


class CategoryNode(Answer):
    id: UUID
    name: str
    parent_id: UUID | None
    children: list[CategoryNode]


class LongTermOut(Answer):
    terms: list[int]


class ShortTermOut(Answer):
    min_days: int
    max_days: int


class ProtectionOut(Answer):
    offered: bool
    mandatory: bool
    monthly: Money
    daily: Money
    damage_excess: Money


class SkuOut(Answer):
    id: UUID
    product_id: UUID
    specs: dict[str, str]
    market_value: Money
    deposit: Money
    monthly_rent: dict[str, Money]
    buyout_price: dict[str, Money]
    renewal_monthly_rent: Money | None
    daily_rent: Money | None
    available_units: int

    @model_validator(mode="before")
    @classmethod
    def _by_term(cls, sku: Any) -> Any:
        """Rent and buyout price keyed by the term in months, from the SKU's prices per term."""
        prices = getattr(sku, "term_prices", None)
        if prices is None:
            return sku
        return Row(
            sku,
            monthly_rent={str(price.months): price.monthly_rent for price in prices},
            buyout_price={str(price.months): price.buyout_price for price in prices},
        )


class ProductOut(Answer):
    id: UUID
    category_id: UUID = Field(validation_alias=AliasPath("details", "category_id"))
    name: str = Field(validation_alias=AliasPath("details", "name"))
    brand: str = Field(validation_alias=AliasPath("details", "brand"))
    description: str = Field(validation_alias=AliasPath("details", "description"))
    images: list[str] = Field(validation_alias=AliasPath("details", "images"))
    channels: list[str] = Field(validation_alias=AliasPath("details", "channels"))
    long_term: LongTermOut | None
    short_term: ShortTermOut | None
    protection: ProtectionOut
    skus: list[SkuOut]
    retired: bool


class ProductsQuery(Query):
    category_id: UUID | None = None


class ProductQuery(Query):
    """Units free over these dates (short-term); free from today on when not given."""

    RULES = rules({"end": "give both start and end, or neither; end on or after start"})

    start: QueryDate | None = None
    end: QueryDate | None = Field(default=None, validate_default=True)

    @field_validator("end")
    @classmethod
    def _dates(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if (start is None) != (end is None) and "start" in info.data:
            raise ValueError("give both start and end, or neither")
        return not_before(end, start)


CategoryNode.model_rebuild()

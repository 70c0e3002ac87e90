"""Customers in the back office: found by phone, name or id, with their credit line and orders."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, StringConstraints

from api.http.schemas.admin_reports import CreditLineAdminOut
from api.http.schemas.common import UNPRINTABLE, Answer, Money, PageQuery
from api.http.schemas.orders import OrderOut

Search = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64, pattern=rf"^[^{UNPRINTABLE}]*$")]


class CustomersQuery(PageQuery):
    q: Search | None = None
    """A phone or a customer id by its beginning, or any part of a name (any case); every customer without it."""


class CustomerOut(Answer):
    customer_id: UUID
    phone: str
    name: str | None
    identity_status: Literal["unverified", "verified", "rejected"]
    score: int | None
    level: str | None
    quota: Money
    reserved: Money
    available: Money
    open_orders: int
    orders_placed: int
    registered_at: AwareDatetime


class CustomerDetailOut(CustomerOut):
    credit_line: CreditLineAdminOut | None
    orders: list[OrderOut]

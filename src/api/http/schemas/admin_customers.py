"""Customers in the back office: found by phone, name or id, with their credit line and orders."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, StringConstraints

from api.http.schemas.admin_reports import CreditLineAdminOut
from api.http.schemas.common import NOTES_PATTERN, UNPRINTABLE, Answer, Body, Money, PageQuery
from api.http.schemas.orders import OrderOut
from leasecore.application.privacy import REASON_LENGTH as ERASE_REASON_LENGTH

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


class EraseCustomer(Body):
    """Why the customer's personal data is erased (their request, a ticket number): 422 naming `reason` without
    one. Never the personal data itself."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "customer's request, ticket 4711"}]})

    reason: Annotated[str, StringConstraints(max_length=ERASE_REASON_LENGTH, pattern=NOTES_PATTERN)] = ""


class ErasureOut(Answer):
    """An erasure: when and by whom, the orders and conversations whose personal fields now read "erased", and how
    many keys were deleted (0 when asked again: the answer is otherwise the same)."""

    customer_id: UUID
    erased_at: AwareDatetime
    by: str
    orders: list[UUID]
    conversations: list[UUID]
    keys_deleted: int

"""Customers in the back office: finding one by phone, name or id, and one with its credit line and orders."""

from __future__ import annotations

import projections.credit_lines
import projections.customers
import projections.installments
import projections.orders
from api import privacy
from api.http import answers
from api.http.endpoint import Answered, Call, Endpoints, staff
from api.http.schemas import admin_customers as schemas
from api.http.schemas.common import Row
from leasecore.errors import NotFound
from leasecore.staff import Role

endpoints = Endpoints("back office: customers")
EVERYONE = staff(Role.OPERATOR, Role.RISK, Role.FINANCE, Role.ADMIN)
DETAIL_ORDERS = 100
"""The newest orders a customer's answer carries; the order list (`?customer_id`) pages through them all."""


@endpoints.get(
    "/v1/admin/customers",
    access=EVERYONE,
    query=schemas.CustomersQuery,
    answer=list[schemas.CustomerOut],
    summary="Find customers",
)
def find_customers(call: Call[None, schemas.CustomersQuery]) -> Answered:
    """Customers whose phone or id begins with `q`, or whose name holds it (any case), newest first; every
    customer without `q`. `X-Total-Count` says how many match in all."""
    query = call.query
    page = projections.customers.customers(call.views, query.q, limit=query.limit, offset=query.offset)
    items = [schemas.CustomerOut.model_validate(item, from_attributes=True) for item in page.items]
    return Answered(items, {"X-Total-Count": str(page.total)})


@endpoints.get("/v1/admin/customers/{id}", access=EVERYONE, answer=schemas.CustomerDetailOut, summary="A customer")
def get_customer(call: Call[None, None]) -> schemas.CustomerDetailOut:
    """The customer, its credit line (null before any) and its newest 100 orders with their installments."""
    found = projections.customers.customer(call.views, call.id)
    if found is None:
        raise NotFound("customer", call.id)
    line = projections.credit_lines.credit_line(call.views, call.id)
    page = projections.orders.orders(call.views, customer_id=call.id, limit=DETAIL_ORDERS)
    installments = projections.installments.installments
    orders = [answers.order_out(call.app, order, installments(call.views, order.id)) for order in page.items]
    return schemas.CustomerDetailOut.model_validate(Row(found, credit_line=line, orders=orders), from_attributes=True)


@endpoints.post(
    "/v1/admin/customers/{id}/erase",
    access=staff(Role.ADMIN),
    body=schemas.EraseCustomer,
    answer=schemas.ErasureOut,
    summary="Erase a customer's personal data",
)
def erase_customer(call: Call[schemas.EraseCustomer, None]) -> schemas.ErasureOut:
    """PIPL's right to deletion: the customer's keys are deleted, so their phone, name, ID number, addresses and
    conversations read "erased" in every event, snapshot, read model and backup taken from now on; orders, payments
    and every figure stay; the customer's tokens are refused from now on. 409 naming the orders while any has not
    ended (rejected, cancelled or settled); 422 naming `reason` without one; 404 for no such customer. Erasing again
    answers the same."""
    service = call.service
    erasure = privacy.erase_customer(
        call.app, call.views, service.store, call.id, call.username, call.body.reason, service.tokens
    )
    call.written()
    return schemas.ErasureOut.model_validate(erasure, from_attributes=True)

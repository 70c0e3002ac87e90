"""The customer's orders: quotes, placing, cancelling, contract, receipt, installments and end of term."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.responses import Response

import projections.installments
import projections.orders
import projections.refunds
from api.http import answers
from api.http.endpoint import CUSTOMER, Answered, Call, Endpoints, require
from api.http.schemas import orders as schemas
from leasecore.lease.quote import OrderRequest
from leasecore.lease.reasons import BY_CUSTOMER
from leasecore.ports import SigningSession
from leasecore.values import Address, DepositMode, LongTerm, Plan, ShortTerm

endpoints = Endpoints("orders")


def order_request(body: schemas.QuoteRequest) -> OrderRequest:
    """The domain's request from the contract's body."""
    plan: Plan = (
        LongTerm(body.plan.months)
        if isinstance(body.plan, schemas.LongPlan)
        else ShortTerm(body.plan.start, body.plan.end)
    )
    address = None
    if isinstance(body, schemas.PlaceOrder):
        address = Address(body.address.name.strip(), body.address.phone, body.address.line.strip())
    return OrderRequest(
        sku_id=body.sku_id,
        quantity=body.quantity,
        plan=plan,
        protection=body.protection,
        deposit_mode=DepositMode(body.deposit_mode),
        channel=body.channel,
        address=address,
    )


@endpoints.post(
    "/v1/quotes", access=CUSTOMER, body=schemas.QuoteRequest, answer=schemas.QuoteOut, summary="Quote an order"
)
def quote(call: Call[schemas.QuoteRequest, None]) -> schemas.QuoteOut:
    """Every figure of an order for this customer now, without placing it: deposit, waiver, installments."""
    found = call.app.quote(call.customer_id, order_request(call.body))
    return schemas.QuoteOut.model_validate(found, from_attributes=True)


@endpoints.post(
    "/v1/orders",
    access=CUSTOMER,
    body=schemas.PlaceOrder,
    answer=schemas.OrderOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Place an order",
)
def place_order(call: Call[schemas.PlaceOrder, None]) -> Answered:
    """Reserves the credit waiver on the customer's line and the units for the plan's dates; pay `due_now` next.
    Answered from what was saved, without waiting for the read models: a read that must see the order passes the
    answer's `X-Read-Position` back as `X-Read-After`."""
    before = call.app.saved_position()
    order_id = call.app.place_order(call.customer_id, order_request(call.body), order_id=call.derived_id("order"))
    return Answered(as_saved(call, order_id, before), {"Location": f"/v1/orders/{order_id}"})


def as_saved(call: Call[Any, Any], order_id: UUID, before: int | None) -> schemas.OrderOut:
    """The order from what the command saved, without waiting for the read models (`answers.order_as_saved`). One
    that saved nothing (it had been done before) has no position of its own to answer: it answers once the read
    models show the order."""
    if call.app.saved_position() == before:
        call.written()
    return answers.order_as_saved(call.app, order_id)


@endpoints.get(
    "/v1/orders", access=CUSTOMER, query=schemas.OrdersQuery, answer=list[schemas.OrderOut], summary="My orders"
)
def list_orders(call: Call[None, schemas.OrdersQuery]) -> Answered:
    """The customer's own orders, newest first; `X-Total-Count` says how many there are in all."""
    page = projections.orders.orders(
        call.views,
        customer_id=call.customer_id,
        status=call.query.status,
        limit=call.query.limit,
        offset=call.query.offset,
    )
    schedules = projections.installments.installments_of(call.views, [view.id for view in page.items])
    items = [answers.order_out(call.app, view, schedules[view.id]) for view in page.items]
    return Answered(items, {"X-Total-Count": str(page.total)})


@endpoints.get("/v1/orders/{id}", access=CUSTOMER, answer=schemas.OrderOut, summary="One of my orders")
def get_order(call: Call[None, None]) -> schemas.OrderOut:
    """The order with its installments; another customer's order answers 404."""
    return answers.order(call.app, call.views, call.id, call.customer_id)


@endpoints.post(
    "/v1/orders/{id}/cancel",
    access=CUSTOMER,
    body=schemas.Cancel,
    answer=schemas.OrderOut,
    idempotent=True,
    summary="Cancel before shipping",
)
def cancel(call: Call[schemas.Cancel, None]) -> schemas.OrderOut:
    """Refunds what was paid and releases the waiver and the units; 409 once shipped. Answered from what was saved,
    without waiting for the read models (as placing an order is)."""
    answers.own(call.app, call.id, call.customer_id)
    before = call.app.saved_position()
    call.app.cancel(call.id, call.body.reason or str(BY_CUSTOMER))
    return as_saved(call, call.id, before)


@endpoints.post(
    "/v1/orders/{id}/contract/sign",
    access=CUSTOMER,
    answer=schemas.ContractOut,
    also={202: schemas.SigningOut},
    idempotent=True,
    summary="Sign the lease contract",
)
def sign_contract(call: Call[None, None]) -> schemas.ContractOut | Response:
    """The contract is signed through the e-signature provider by the verified customer, then recorded. A provider
    that signs at once (the sandbox) answers 200 with the signed contract; one whose signer signs on its own page
    answers 202 with that page's `sign_url` (asking again answers the same flow's page), and the contract is
    recorded when the provider calls back."""
    answers.own(call.app, call.id, call.customer_id)
    signed = call.app.sign_contract(call.id)
    call.written()
    if isinstance(signed, SigningSession):
        body = schemas.SigningOut(flow_id=signed.flow_id, sign_url=signed.sign_url or "")
        return Response(body.model_dump_json(), 202, media_type="application/json")
    return schemas.ContractOut.model_validate(signed, from_attributes=True)


@endpoints.post("/v1/orders/{id}/receipt", access=CUSTOMER, answer=schemas.OrderOut, summary="Confirm receipt")
def confirm_receipt(call: Call[None, None]) -> schemas.OrderOut:
    """The lease starts today; the installment schedule is fixed from this day. Answered from what was saved,
    without waiting for the read models (as placing an order is)."""
    answers.own(call.app, call.id, call.customer_id)
    before = call.app.saved_position()
    call.app.confirm_receipt(call.id)
    return as_saved(call, call.id, before)


@endpoints.get(
    "/v1/orders/{id}/installments",
    access=CUSTOMER,
    answer=list[schemas.InstallmentOut],
    summary="The order's installments",
)
def installments(call: Call[None, None]) -> list[schemas.InstallmentOut]:
    """Each installment: due date, amount, paid, late fee and status (due, paid, overdue), as of today."""
    order = answers.owned(call.views, call.id, call.customer_id)
    _, current = answers.as_of_today(call.app, order, projections.installments.installments(call.views, call.id))
    return [schemas.InstallmentOut.model_validate(item, from_attributes=True) for item in current]


@endpoints.post(
    "/v1/orders/{id}/end-of-term",
    access=CUSTOMER,
    body=schemas.EndOfTerm,
    answer=schemas.OrderOut,
    idempotent=True,
    summary="Return, renew, buy out or swap",
)
def end_of_term(call: Call[schemas.EndOfTerm, None]) -> schemas.OrderOut:
    """Return, renew and swap open 7 days before the term ends, buyout any time while leasing; none while
    an installment is overdue. A buyout the deposit held does not cover is paid with `purpose: buyout`."""
    answers.own(call.app, call.id, call.customer_id)
    body, app = call.body, call.app
    if body.choice == "return":
        require(body.tracking_no is not None, "tracking_no", "the parcel's tracking number is required to return")
        app.request_return(call.id, body.tracking_no or "")
    elif body.choice == "renew":
        require(body.months is not None, "months", "say how many months to renew for")
        app.renew(call.id, body.months or 0)
    elif body.choice == "swap":
        require(body.sku_id is not None, "sku_id", "name the SKU to swap to")
        require(body.tracking_no is not None, "tracking_no", "the parcel's tracking number is required to swap")
        assert body.sku_id is not None and body.tracking_no is not None
        app.swap(call.id, body.sku_id, body.tracking_no)
    else:
        app.buy_out_with_deposit(call.id)
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.get(
    "/v1/orders/{id}/tracking",
    access=CUSTOMER,
    answer=schemas.TrackingOut,
    errors=(409, 502),
    summary="Where the parcel is",
)
def tracking(call: Call[None, None]) -> schemas.TrackingOut:
    """The carrier's tracking of the order's shipment."""
    answers.owned(call.views, call.id, call.customer_id)
    return schemas.TrackingOut.model_validate(call.app.track(call.id), from_attributes=True)


@endpoints.get(
    "/v1/orders/{id}/payments",
    access=CUSTOMER,
    answer=list[schemas.PaymentRecord],
    summary="The order's payments",
)
def order_payments(call: Call[None, None]) -> list[schemas.PaymentRecord]:
    """Every payment asked of the order, its outcome and what has been refunded of it."""
    answers.owned(call.views, call.id, call.customer_id)
    payments = projections.refunds.payments(call.views, call.id)
    return [schemas.PaymentRecord.model_validate(item, from_attributes=True) for item in payments]

"""Orders in the back office: review, shipping, returns and inspection, and the order list."""

from __future__ import annotations

from api import answers, schemas
from api.endpoint import Answered, Call, Endpoints, staff
from leasecore.staff import Role
from projections import queries

endpoints = Endpoints("back office: orders")
REVIEWERS = staff(Role.RISK)
WAREHOUSE = staff(Role.OPERATOR, Role.ADMIN)
EVERYONE = staff(Role.OPERATOR, Role.RISK, Role.FINANCE, Role.ADMIN)


@endpoints.get(
    "/v1/admin/reviews",
    access=REVIEWERS,
    query=schemas.PageQuery,
    answer=list[schemas.ReviewOut],
    summary="The manual review queue",
)
def reviews(call: Call[None, schemas.PageQuery]) -> list[schemas.ReviewOut]:
    """Orders automated review could not pass, oldest first, with the reasons."""
    items = queries.review_queue(call.views, limit=call.query.limit, offset=call.query.offset)
    return [
        schemas.ReviewOut(
            order_id=item.order_id,
            customer_id=item.customer_id,
            sku_id=item.sku_id,
            channel=item.channel,
            deposit_mode=item.deposit_mode,
            deposit=item.deposit,
            waiver=item.waiver,
            due_now=item.due_now,
            reasons=list(item.reasons),
            placed_at=item.placed_at,
            queued_at=item.queued_at,
        )
        for item in items
    ]


@endpoints.post(
    "/v1/admin/orders/{id}/approve",
    access=REVIEWERS,
    body=schemas.Decision,
    answer=schemas.OrderOut,
    summary="Approve an order under review",
)
def approve(call: Call[schemas.Decision, None]) -> schemas.OrderOut:
    """The reviewer passes the order; it goes on to the contract."""
    call.app.approve(call.id, call.username, call.body.reason)
    call.written()
    return answers.order(call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/reject",
    access=REVIEWERS,
    body=schemas.Rejection,
    answer=schemas.OrderOut,
    idempotent=True,
    summary="Reject an order under review",
)
def reject(call: Call[schemas.Rejection, None]) -> schemas.OrderOut:
    """Refunds the checkout and releases the waiver and the units; the reason is required."""
    call.app.reject(call.id, call.username, call.body.reason)
    call.written()
    return answers.order(call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/ship",
    access=WAREHOUSE,
    body=schemas.Shipment,
    answer=schemas.OrderOut,
    summary="Ship an order",
)
def ship(call: Call[schemas.Shipment, None]) -> schemas.OrderOut:
    """A specific unit (serial / IMEI) goes out with a carrier and a tracking number."""
    call.app.ship(call.id, call.body.serials, call.body.carrier.strip(), call.body.tracking_no.strip())
    call.written()
    return answers.order(call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/returned", access=WAREHOUSE, answer=schemas.OrderOut, summary="Record a returned device"
)
def record_return(call: Call[None, None]) -> schemas.OrderOut:
    """The device shipped back (return or swap) has arrived; the order waits for inspection."""
    call.app.record_return(call.id)
    call.written()
    return answers.order(call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/inspection",
    access=WAREHOUSE,
    body=schemas.Inspection,
    answer=schemas.OrderOut,
    idempotent=True,
    summary="Complete the inspection",
)
def inspect(call: Call[schemas.Inspection, None]) -> schemas.OrderOut:
    """Sets the damage fee (protection caps the liability at the excess), deducts everything owed from the
    deposit, refunds the rest and settles; if the deposit does not cover it, the order waits for a payment."""
    call.app.complete_inspection(call.id, call.body.damage_fee, call.body.notes)
    call.written()
    return answers.order(call.views, call.id)


@endpoints.get(
    "/v1/admin/orders",
    access=EVERYONE,
    query=schemas.AdminOrdersQuery,
    answer=list[schemas.OrderOut],
    summary="The order list",
)
def list_all_orders(call: Call[None, schemas.AdminOrdersQuery]) -> Answered:
    """Orders by status, by customer, or both, newest first; `X-Total-Count` says how many in all."""
    query = call.query
    page = queries.orders(
        call.views, customer_id=query.customer_id, status=query.status, limit=query.limit, offset=query.offset
    )
    items = [answers.order_out(view, queries.installments(call.views, view.id)) for view in page.items]
    return Answered(items, {"X-Total-Count": str(page.total)})


@endpoints.get("/v1/admin/orders/{id}", access=EVERYONE, answer=schemas.OrderOut, summary="An order")
def get_any_order(call: Call[None, None]) -> schemas.OrderOut:
    """Any customer's order, with its installments."""
    return answers.order(call.views, call.id)

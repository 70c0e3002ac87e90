"""Orders in the back office: review, shipping, returns and inspection, finance's adjustments, and the order list."""

from __future__ import annotations

from starlette.responses import Response

import projections.installments
import projections.orders
import projections.review_queue
from api.http import answers, exports
from api.http.endpoint import Answered, Call, Endpoints, staff
from api.http.schemas import admin_orders as schemas
from api.http.schemas.admin_jobs import MessageOut
from api.http.schemas.common import PageQuery
from api.http.schemas.orders import OrderOut
from api.processes import outbox
from leasecore.lease import CallOutcome
from leasecore.staff import Role

endpoints = Endpoints("back office: orders")
REVIEWERS = staff(Role.RISK)
WAREHOUSE = staff(Role.OPERATOR, Role.ADMIN)
FINANCE = staff(Role.FINANCE, Role.ADMIN)
EVERYONE = staff(Role.OPERATOR, Role.RISK, Role.FINANCE, Role.ADMIN)
COLLECTORS = staff(Role.FINANCE, Role.OPERATOR, Role.ADMIN)


class OrdersFileQuery(schemas.AdminOrdersQuery, exports.FileQuery):
    """The order list's filters and the format to answer in."""


@endpoints.get(
    "/v1/admin/reviews",
    access=REVIEWERS,
    query=PageQuery,
    answer=list[schemas.ReviewOut],
    summary="The manual review queue",
)
def reviews(call: Call[None, PageQuery]) -> list[schemas.ReviewOut]:
    """Orders automated review could not pass, oldest first, with the reasons."""
    items = projections.review_queue.review_queue(call.views, limit=call.query.limit, offset=call.query.offset)
    return [schemas.ReviewOut.model_validate(item, from_attributes=True) for item in items]


@endpoints.post(
    "/v1/admin/orders/{id}/approve",
    access=REVIEWERS,
    body=schemas.Decision,
    answer=OrderOut,
    summary="Approve an order under review",
)
def approve(call: Call[schemas.Decision, None]) -> OrderOut:
    """The reviewer passes the order; it goes on to the contract."""
    call.app.approve(call.id, call.username, call.body.reason)
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/reject",
    access=REVIEWERS,
    body=schemas.Rejection,
    answer=OrderOut,
    idempotent=True,
    summary="Reject an order under review",
)
def reject(call: Call[schemas.Rejection, None]) -> OrderOut:
    """Refunds the checkout and releases the waiver and the units; the reason is required."""
    call.app.reject(call.id, call.username, call.body.reason)
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/ship",
    access=WAREHOUSE,
    body=schemas.Shipment,
    answer=OrderOut,
    summary="Ship an order",
)
def ship(call: Call[schemas.Shipment, None]) -> OrderOut:
    """A specific unit (serial / IMEI) goes out with a carrier and a tracking number."""
    call.app.ship(call.id, call.body.serials, call.body.carrier.strip(), call.body.tracking_no.strip())
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.post("/v1/admin/orders/{id}/returned", access=WAREHOUSE, answer=OrderOut, summary="Record a returned device")
def record_return(call: Call[None, None]) -> OrderOut:
    """The device shipped back (return or swap) has arrived; the order waits for inspection."""
    call.app.record_return(call.id)
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/inspection",
    access=WAREHOUSE,
    body=schemas.Inspection,
    answer=OrderOut,
    idempotent=True,
    summary="Complete the inspection",
)
def inspect(call: Call[schemas.Inspection, None]) -> OrderOut:
    """Sets the damage fee (protection caps the liability at the excess), deducts everything owed from the
    deposit, refunds the rest and settles; if the deposit does not cover it, the order waits for a payment."""
    call.app.complete_inspection(call.id, call.body.damage_fee, call.body.notes)
    call.written()
    return answers.order(call.app, call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/adjustments",
    access=FINANCE,
    body=schemas.AdjustmentIn,
    answer=schemas.AdminOrderOut,
    idempotent=True,
    rerun_safe=True,
    summary="Waive a late fee or grant a goodwill credit",
)
def adjust(call: Call[schemas.AdjustmentIn, None]) -> schemas.AdminOrderOut:
    """Finance waives at most the late fee assessed and unpaid on installment `seq` (for good: later days accrue
    their own fees, the waived ones are never charged again), or credits the order an amount, at most the rent and
    fees it still owes, that pays them oldest first like money but is no money in. Either needs a reason and is
    recorded with who made it; the order must be paying rent (leasing to settlement), else 409."""
    body, staff_name, request_id = call.body, call.username, call.derived_id("adjustment")
    if body.kind == "waive_late_fee":
        assert body.seq is not None
        call.app.waive_late_fee(
            call.id, body.seq, body.amount, body.reason.strip(), staff_name, request_id=request_id
        )
    else:
        call.app.grant_goodwill_credit(call.id, body.amount, body.reason.strip(), staff_name, request_id=request_id)
    call.written()
    return answers.admin_order(call.app, call.views, call.id)


@endpoints.post(
    "/v1/admin/orders/{id}/calls",
    access=COLLECTORS,
    body=schemas.CallIn,
    answer=schemas.CallOut,
    status=201,
    idempotent=True,
    rerun_safe=True,
    summary="Record a collection call",
)
def record_call(call: Call[schemas.CallIn, None]) -> schemas.CallOut:
    """Collections (催收) records what came of a call to the customer while the order pays rent (leasing to
    settlement, else 409): the outcome, notes, and for a promise to pay the day promised. It changes nothing the
    order owes; the order's events (`GET /v1/admin/audit/{id}`) keep every call with who made it."""
    body = call.body
    outcome = CallOutcome(body.outcome)
    made_at = call.app.record_call(
        call.id, outcome, body.notes, body.promised_on, call.username, request_id=call.derived_id("call")
    )
    call.written()
    notes = body.notes.strip()
    return schemas.CallOut(
        order_id=call.id,
        outcome=body.outcome,
        notes=notes,
        promised_on=body.promised_on,
        staff=call.username,
        made_at=made_at,
    )


@endpoints.post(
    "/v1/admin/orders/{id}/reminders",
    access=COLLECTORS,
    answer=MessageOut,
    status=201,
    summary="Send a reminder of what is overdue",
)
def send_reminder(call: Call[None, None]) -> MessageOut:
    """Queues a text message to the customer of what is overdue on the order (kind `manual`), at most once per
    overdue installment, while the order pays rent; 409 when nothing is overdue or one was sent already. The outbox
    sends it as it sends the daily job's reminders; answers it as `GET /v1/admin/messages` lists it."""
    reminder = call.app.send_reminder(call.id)
    call.service.messages.collect()
    call.service.messages.wake()
    found = next(m for m in outbox.messages(call.service.store, order_id=call.id) if m.message_id == reminder.id)
    return MessageOut.model_validate(found, from_attributes=True)


@endpoints.get(
    "/v1/admin/orders",
    access=EVERYONE,
    query=OrdersFileQuery,
    answer=list[OrderOut],
    errors=(400,),
    summary="The order list",
)
def list_all_orders(call: Call[None, OrdersFileQuery]) -> Answered | Response:
    """Orders by status, by customer, or both, newest first; `X-Total-Count` says how many in all. As a file
    (`format=csv` or `xlsx`) every order the filters match (from `offset`, up to `limit` if given), one row each
    without its installments."""
    query = call.query
    if query.format != "json":
        views = exports.pages(
            lambda limit, offset: (
                projections.orders.orders(
                    call.views, customer_id=query.customer_id, status=query.status, limit=limit, offset=offset
                ).items
            ),
            query,
            key=lambda view: view.id,
        )
        rows = (answers.order_out(call.app, view, ()) for view in views)
        content = exports.table("orders", OrderOut, rows, leave_out={"installments", "settlement"})
        return exports.download(query.format, content, f"orders-{call.app.local_today()}")
    page = projections.orders.orders(
        call.views, customer_id=query.customer_id, status=query.status, limit=query.limit, offset=query.offset
    )
    schedules = projections.installments.installments_of(call.views, [view.id for view in page.items])
    items = [answers.order_out(call.app, view, schedules[view.id]) for view in page.items]
    return Answered(items, {"X-Total-Count": str(page.total)})


@endpoints.get("/v1/admin/orders/{id}", access=EVERYONE, answer=schemas.AdminOrderOut, summary="An order")
def get_any_order(call: Call[None, None]) -> schemas.AdminOrderOut:
    """Any customer's order, with its installments, its delivery address and who placed it (the verified name and
    the phone they log in with)."""
    return answers.admin_order(call.app, call.views, call.id)

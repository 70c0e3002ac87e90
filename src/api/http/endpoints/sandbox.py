"""Sandbox mode only: what test clients drive instead of real customers, providers and time."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from adapters.errors import PaymentStateConflict, UnknownPayment
from adapters.sandboxes import Sandboxes
from api.http.endpoint import PUBLIC, Call, Endpoints, require
from api.http.errors import invalid
from api.http.schemas import sandbox as schemas
from api.http.schemas.orders import TrackingOut
from leasecore.credit.identity import id_number_problem, normalize_id_number
from leasecore.errors import NotFound
from leasecore.money.deposit import order_of_ref
from leasecore.money.payments import PaymentStatus

endpoints = Endpoints("sandbox", sandbox=True)
SETTLED_AS = {"success": PaymentStatus.SUCCEEDED, "fail": PaymentStatus.FAILED}


def sandboxes(call: Call[Any, Any]) -> Sandboxes:
    assert call.service.sandboxes is not None
    return call.service.sandboxes


@endpoints.get(
    "/v1/sandbox/sms",
    access=PUBLIC,
    query=schemas.SmsQuery,
    answer=list[schemas.SmsOut],
    summary="Messages the sandbox SMS provider sent",
)
def sms(call: Call[None, schemas.SmsQuery]) -> list[schemas.SmsOut]:
    """Every message to that phone, oldest first (login codes, collection reminders)."""
    return [
        schemas.SmsOut.model_validate(item, from_attributes=True)
        for item in sandboxes(call).sms.messages(call.query.phone)
    ]


@endpoints.post(
    "/v1/sandbox/payments/{payment_id}/complete",
    access=PUBLIC,
    body=schemas.Completion,
    answer=schemas.CompletionOut,
    idempotent=True,
    rerun_safe=True,
    rules={"paid_at": "not after the clock's time now"},
    summary="Settle a payment at the sandbox provider",
)
def complete_payment(call: Call[schemas.Completion, None]) -> schemas.CompletionOut:
    """The sandbox provider settles the payment and sends its RSA-signed notification (carrying `paid_at`,
    default now) to the notify route's own code, exactly as a real provider would; asking again resends it."""
    payment_id: UUID = call.path["payment_id"]
    paid_at = call.body.paid_at
    require(paid_at is None or paid_at <= call.service.clock.now(), "paid_at", "must not be in the future")
    if remember(call, payment_id):
        sandboxes(call).payments.complete(str(payment_id), call.body.outcome, paid_at)
    status = call.app.payment(payment_id).status
    if status is not PaymentStatus.PENDING and status is not SETTLED_AS[call.body.outcome]:
        raise PaymentStateConflict(f"payment {payment_id} is {status.value} already")
    return schemas.CompletionOut(
        payment_id=payment_id,
        outcome=call.body.outcome,
        status=status.value if isinstance(status, PaymentStatus) else str(status),
        acknowledgement="success",
    )


def remember(call: Call[Any, Any], payment_id: UUID) -> bool:
    """The sandbox provider keeps its payments in memory, so a restart forgets them where a real provider would not:
    one the platform asked of it before and has not settled is asked of it again (the same id and amount), so
    settling it after a restart settles it. False for one the platform settled already (the notification came before
    the restart): nothing is left to settle, and the retry of a completion answers what the first attempt did."""
    provider = sandboxes(call).payments
    try:
        provider.payment(str(payment_id))
    except UnknownPayment:
        payment = call.app.payment(payment_id)
        if payment.provider != provider.provider:
            raise
        if payment.status is not PaymentStatus.PENDING:
            return False
        call.app.collect(payment.order_id, payment.purpose, provider=payment.provider, payment_id=payment_id)
    return True


@endpoints.get("/v1/sandbox/clock", access=PUBLIC, answer=schemas.ClockOut, summary="The test clock")
def clock(call: Call[None, None]) -> schemas.ClockOut:
    """What time the service thinks it is."""
    return schemas.ClockOut(now=call.service.clock.now())


@endpoints.post(
    "/v1/sandbox/clock",
    access=PUBLIC,
    body=schemas.ClockSet,
    answer=schemas.ClockOut,
    rules={"now": "not before the clock's time now: the clock never goes back"},
    summary="Move the test clock forward",
)
def set_clock(call: Call[schemas.ClockSet, None]) -> schemas.ClockOut:
    """Forward only (an earlier instant is 422); business time follows: installments fall due, late fees
    accrue, the daily job's default day moves. Tokens and login codes expire by real time, not by this clock."""
    try:
        now = call.service.set_clock(call.body.now)
    except ValueError as error:
        raise invalid("now", str(error)) from None
    return schemas.ClockOut(now=now)


@endpoints.post(
    "/v1/sandbox/credit-scores",
    access=PUBLIC,
    body=schemas.BureauScoreIn,
    answer=schemas.BureauScoreOut,
    summary="Set a sandbox bureau score",
)
def set_score(call: Call[schemas.BureauScoreIn, None]) -> schemas.BureauScoreOut:
    """What the sandbox credit bureau answers for that person from now on (650 for anyone not set)."""
    number = normalize_id_number(call.body.id_number)
    problem = id_number_problem(number, date.max)
    require(problem is None, "id_number", problem or "")
    sandboxes(call).bureau.set_score(number, call.body.score)
    return schemas.BureauScoreOut(id_number=number, score=call.body.score)


@endpoints.post(
    "/v1/sandbox/parcels",
    access=PUBLIC,
    body=schemas.ParcelMove,
    answer=TrackingOut,
    summary="Move a parcel at the sandbox carrier",
)
def move_parcel(call: Call[schemas.ParcelMove, None]) -> TrackingOut:
    """Picked up, in transit, delivered: parcels only move forward."""
    logistics = sandboxes(call).logistics
    move = {
        "picked_up": logistics.mark_picked_up,
        "in_transit": logistics.mark_in_transit,
        "delivered": logistics.mark_delivered,
    }[call.body.stage]
    return TrackingOut.model_validate(
        move(call.body.carrier, call.body.tracking_no, call.body.location), from_attributes=True
    )


@endpoints.post(
    "/v1/sandbox/freezes/{out_request_no}/complete",
    access=PUBLIC,
    body=schemas.FreezeCompletion,
    answer=schemas.FreezeCompletionOut,
    path_types={"out_request_no": schemas.FreezeRef},
    idempotent=True,
    summary="Confirm a deposit freeze at the sandbox provider",
)
def complete_freeze(call: Call[schemas.FreezeCompletion, None]) -> schemas.FreezeCompletionOut:
    """The customer confirms the freeze asked with `POST /v1/orders/{id}/payments {"purpose": "preauth"}`; the
    sandbox provider freezes it, waiving `credit_amount` on its own credit, and sends its RSA-signed freeze
    notification to the notify route's own code, as Alipay would; asking again resends it."""
    out_request_no: str = call.path["out_request_no"]
    payments = sandboxes(call).payments
    freeze = payments.freeze_book.freezes.get(out_request_no)
    if freeze is None:
        raise NotFound("freeze", out_request_no)
    require(call.body.credit_amount <= freeze.amount, "credit_amount", f"must not exceed the {freeze.amount} asked")
    payments.freeze(out_request_no, call.body.credit_amount)
    freeze = payments.freeze_book.freezes[out_request_no]
    return schemas.FreezeCompletionOut(
        out_request_no=out_request_no,
        amount=freeze.amount,
        fund_amount=freeze.fund,
        credit_amount=freeze.credit,
        secured=call.app.deposit(order_of_ref(out_request_no)).is_secured,
    )

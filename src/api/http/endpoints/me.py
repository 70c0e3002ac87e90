"""The customer: real-name identity, credit evaluation and the credit line."""

from __future__ import annotations

import projections.credit_lines
from api.http import answers
from api.http.endpoint import CUSTOMER, IMAGE_BODY, Call, Endpoints
from api.http.schemas import me as schemas
from api.http.schemas.common import Empty

endpoints = Endpoints("me")


@endpoints.post(
    "/v1/me/identity",
    access=CUSTOMER,
    body=schemas.IdentitySubmission,
    answer=schemas.IdentityResult,
    summary="Verify my identity",
    max_body=IMAGE_BODY,
)
def submit_identity(call: Call[schemas.IdentitySubmission, None]) -> schemas.IdentityResult:
    """Real-name verification (实名认证): the ID number must pass GB 11643 (else 422 naming `id_number`);
    the identity provider reads the ID card and matches the selfie."""
    body = call.body
    check = call.app.verify_identity(call.customer_id, body.name, body.id_number, body.id_card_image, body.selfie_image)
    call.written()
    return schemas.IdentityResult(status="verified" if check.verified else "rejected", reason=check.reason)


@endpoints.post(
    "/v1/me/credit",
    access=CUSTOMER,
    body=Empty,
    answer=schemas.CreditEvaluationOut,
    summary="Evaluate my credit",
)
def evaluate_credit(call: Call[Empty, None]) -> schemas.CreditEvaluationOut:
    """Scores the verified customer by the configured source (bureau or rule engine) and grants or adjusts
    the revolving credit line to the quota of the score's level."""
    line = call.app.evaluate_credit(call.customer_id)
    evaluation = call.app.customer(call.customer_id).evaluation
    assert evaluation is not None
    call.written()
    return schemas.CreditEvaluationOut(
        score=evaluation.score,
        level=evaluation.level,
        source=evaluation.source,
        quota=line.quota,
        reserved=line.reserved_total,
        available=line.available,
    )


@endpoints.get("/v1/me/credit-line", access=CUSTOMER, answer=schemas.CreditLineOut, summary="My credit line")
def credit_line(call: Call[None, None]) -> schemas.CreditLineOut:
    """Quota, reserved by unsettled orders, and available for new waivers (zeros before any evaluation)."""
    return answers.credit_line_out(projections.credit_lines.credit_line(call.views, call.customer_id))

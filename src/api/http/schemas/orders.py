"""Quotes and orders: plans, the order with its installments, cancelling, end of term, contract, tracking and
the order's payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from api.http.schemas.common import (
    LINE_PATTERN,
    NOTES_PATTERN,
    Answer,
    Body,
    Line,
    Money,
    Name,
    Phone,
    Query,
    Slug,
    not_before,
    rules,
)
from leasecore.credit.policy import Holdback
from leasecore.lease import LeaseStatus
from leasecore.lease.reasons import BY_CUSTOMER


class LongPlan(Body):
    kind: Literal["long"]
    months: Annotated[int, Field(ge=1, le=120)]


class ShortPlan(Body):
    RULES = rules({"end": "a short-term plan ends on or after its start"})

    kind: Literal["short"]
    start: date
    end: date

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date, info: ValidationInfo) -> date:
        return not_before(end, info.data.get("start")) or end


Plan = Annotated[LongPlan | ShortPlan, Field(discriminator="kind")]


SKU_ID = "8e6c23b8-9054-44d9-8eff-5017de41876f"
LONG_QUOTE: dict[str, Any] = {
    "sku_id": SKU_ID,
    "quantity": 1,
    "plan": {"kind": "long", "months": 12},
    "protection": True,
    "deposit_mode": "waiver",
    "channel": "app",
}
SHORT_QUOTE: dict[str, Any] = {
    **LONG_QUOTE,
    "plan": {"kind": "short", "start": "2026-02-01", "end": "2026-02-07"},
    "protection": False,
}


class QuoteRequest(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [LONG_QUOTE, SHORT_QUOTE]})

    sku_id: UUID
    quantity: Annotated[int, Field(ge=1, le=20)] = 1
    plan: Plan
    protection: bool = False
    deposit_mode: Literal["full", "waiver", "preauth"]
    channel: Slug = "app"


class InstallmentQuote(Answer):
    seq: int
    due_date: date
    rent: Money
    protection: Money
    total: Money = Field(validation_alias="amount")


class WaiverLimitOut(Answer):
    """Why the waiver is less than the deposit, as a code and its figures, for an app to say in its own words."""

    rule: Holdback = Field(description="The rule or limit that held the waiver back (docs/review-rules.md)")
    score: int | None = Field(None, description="The customer's score, for `under_minimum`, `no_band` and `band`")
    minimum: int | None = Field(None, description="The policy's minimum score, for `under_minimum`")
    amount: Money | None = Field(
        None, description="The band's most, the cap (`per_unit_cap` is a unit's) or what the credit line has available"
    )


class QuoteOut(Answer):
    deposit: Money
    waiver: Money
    deposit_due: Money
    rent_total: Money
    protection_total: Money
    due_now: Money
    waiver_reason: str | None
    installments: list[InstallmentQuote]
    to_freeze: Money = Field(default=Decimal("0.00"))
    """`preauth`: what the provider is asked to freeze (the deposit the waiver leaves), paid by nobody at checkout."""
    waiver_limit: WaiverLimitOut | None = None
    """`waiver_reason` as a code and its figures (null with it)."""


class AddressIn(Body):
    name: Name
    phone: Phone
    line: Line


class PlaceOrder(QuoteRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **LONG_QUOTE,
                    "address": {"name": "Han Meimei", "phone": "13800138000", "line": "8 Century Avenue, Shanghai"},
                }
            ]
        }
    )

    address: AddressIn


class PlanOut(Answer):
    kind: Literal["long", "short"]
    months: int | None = None
    start: date | None = None
    end: date | None = None


class InstallmentOut(Answer):
    """`late_fee` is the fee charged: accrued less `fee_waived`; `paid` includes what a goodwill credit paid
    (`credited`)."""

    seq: int
    due_date: date
    amount: Money
    rent: Money
    protection: Money
    paid: Money
    late_fee: Money
    fee_paid: Money
    owed: Money
    days_overdue: int
    status: Literal["due", "paid", "overdue"]
    fee_waived: Money
    credited: Money


OrderStatus = Literal[
    "pending_payment",
    "pending_review",
    "rejected",
    "cancelled",
    "pending_contract",
    "pending_shipment",
    "shipped",
    "leasing",
    "returning",
    "inspecting",
    "pending_settlement",
    "bought_out",
    "settled",
]
"""An order's status: API.md's, and `pending_settlement` (inspected, waiting for a damage payment)."""
assert set(get_args(OrderStatus)) == {status.value for status in LeaseStatus}


class SettlementOut(Answer):
    """What became of the deposit paid when the order settled: `deposit_paid` = `rent_deducted` + `fees_deducted` +
    `damage_deducted` + `buyout_deducted` + `deposit_refunded`. `damage_fee` and `liability` are null when nothing
    was inspected (a buyout)."""

    settled_at: AwareDatetime
    damage_fee: Money | None
    liability: Money | None
    deposit_paid: Money
    rent_deducted: Money
    fees_deducted: Money
    damage_deducted: Money
    buyout_deducted: Money
    deposit_refunded: Money
    waiver_released: Money
    credit_refunded: Money


class PreauthOut(Answer):
    """A pre-authorized deposit (押金预授权): `frozen` by the provider, `credit` waived on its own credit besides;
    `frozen` = `taken` (damage and arrears, counted in the settlement's deductions) + `unfrozen` + `still_frozen`."""

    frozen: Money
    credit: Money
    taken: Money
    unfrozen: Money
    still_frozen: Money


class OrderOut(Answer):
    id: UUID
    status: OrderStatus
    customer_id: UUID
    product_id: UUID
    sku_id: UUID
    quantity: int
    plan: PlanOut
    protection: bool
    deposit_mode: Literal["full", "waiver", "preauth"]
    deposit: Money
    waiver: Money
    deposit_due: Money
    due_now: Money
    unit_serial: str | None
    unit_serials: list[str]
    channel: str
    carrier: str | None
    tracking_no: str | None
    return_tracking_no: str | None
    contract_id: str | None
    contract_document_id: str | None = Field(
        None, description="The signed document's id at the e-signature provider (empty for older contracts)"
    )
    contract_sha256: str | None = Field(None, description="The SHA-256 (hex) of the signed document's bytes")
    swapped_from: UUID | None
    swapped_to: UUID | None
    collection_stage: str | None
    days_overdue: int
    reason: str | None
    review_reasons: list[str]
    installments: list[InstallmentOut]
    settlement: SettlementOut | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    preauth: PreauthOut | None = None


class OrdersQuery(Query):
    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class Cancel(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "found a cheaper plan"}]})

    reason: Annotated[str, StringConstraints(max_length=200, pattern=NOTES_PATTERN)] = str(BY_CUSTOMER)


class EndOfTerm(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"choice": "return", "tracking_no": "SF1234567890"},
                {"choice": "renew", "months": 6},
                {"choice": "buyout"},
                {"choice": "swap", "sku_id": SKU_ID, "tracking_no": "SF1234567892"},
            ]
        }
    )

    choice: Literal["return", "renew", "buyout", "swap"]
    months: Annotated[int, Field(ge=1, le=36)] | None = None
    sku_id: UUID | None = None
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)] | None = None


class ContractOut(Answer):
    contract_id: str
    signed_at: AwareDatetime
    document_url: str


class SigningOut(Answer):
    """Signing is under way at the e-signature provider: the customer signs at `sign_url`, and the order moves on
    to pending_shipment when the provider calls back (`POST /v1/esign/notify/{provider}`)."""

    status: Literal["signing"] = "signing"
    flow_id: str
    sign_url: str


class TrackingOut(Answer):
    carrier: str
    tracking_no: str
    delivered: bool
    events: list[str]


class PaymentRecord(Answer):
    payment_id: UUID
    order_id: UUID
    purpose: Literal["checkout", "installments", "buyout", "damage"]
    provider: str
    amount: Money
    status: Literal["pending", "succeeded", "failed"]
    transaction_id: str | None
    paid_amount: Money | None
    paid_at: AwareDatetime | None
    refunded: Money
    requested_at: AwareDatetime

"""Orders in the back office: the review queue, decisions, shipping, returns and inspection."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from api.http.schemas.common import LINE_PATTERN, NOTES_PATTERN, Answer, Body, Money, Notes, Serial, rules
from api.http.schemas.orders import OrderOut, OrdersQuery


class AdminOrdersQuery(OrdersQuery):
    customer_id: UUID | None = None


class Decision(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "income confirmed by phone"}]})

    reason: Annotated[str, StringConstraints(max_length=500, pattern=NOTES_PATTERN)] = ""


class Rejection(Body):
    """A rejection gives its reason (422 naming `reason` without one)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "the ID card does not match the selfie"}]})

    reason: Annotated[str, StringConstraints(max_length=500, pattern=NOTES_PATTERN)] = ""


class Shipment(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"unit_serial": "356938035643809", "carrier": "SF Express", "tracking_no": "SF1234567890"},
                {
                    "unit_serials": ["356938035643809", "356938035643817"],
                    "carrier": "SF Express",
                    "tracking_no": "SF1234567891",
                },
            ]
        }
    )
    RULES = rules({"unit_serial": "give unit_serial, or unit_serials for several units, not both"})

    unit_serials: Annotated[list[Serial], Field(min_length=1, max_length=20)] | None = None
    unit_serial: Serial | None = Field(default=None, validate_default=True)
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]

    @field_validator("unit_serial")
    @classmethod
    def _one_of(cls, unit_serial: str | None, info: ValidationInfo) -> str | None:
        if "unit_serials" in info.data and (unit_serial is None) == (info.data["unit_serials"] is None):
            raise ValueError("give unit_serial, or unit_serials for several units")
        return unit_serial

    @property
    def serials(self) -> list[str]:
        return [self.unit_serial] if self.unit_serial is not None else list(self.unit_serials or ())


class Inspection(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"damage_fee": "0.00", "notes": ""}, {"damage_fee": "150.00", "notes": "cracked back glass"}]
        }
    )

    damage_fee: Money
    notes: Notes = ""


class AdjustmentIn(Body):
    """`waive_late_fee` forgives `amount` of the late fee assessed and unpaid on installment `seq`; `goodwill_credit`
    credits the order `amount` (no `seq`), which pays rent and fees like money but is no money in. Both need a
    reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "waive_late_fee", "seq": 2, "amount": "0.50", "reason": "first late payment, waived once"},
                {"kind": "goodwill_credit", "amount": "50.00", "reason": "the device arrived three days late"},
            ]
        }
    )

    RULES = rules({"seq": "a late fee is waived on one installment, given by seq; a goodwill credit has no seq"})

    kind: Literal["waive_late_fee", "goodwill_credit"]
    amount: Money
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=LINE_PATTERN)]
    seq: Annotated[int, Field(ge=1, le=1000)] | None = Field(default=None, validate_default=True)

    @field_validator("seq")
    @classmethod
    def _for_a_waiver(cls, seq: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind == "waive_late_fee" and seq is None:
            raise ValueError("a late fee is waived on one installment: give its seq")
        if kind == "goodwill_credit" and seq is not None:
            raise ValueError("a goodwill credit is for the whole order: leave seq out")
        return seq


class CallIn(Body):
    """What came of a call to the customer about the order: `outcome`, `notes` (optional), and for `promised` the
    day the customer promised to pay (`promised_on`, today or later in the billing timezone; only a promise names
    one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "promised", "notes": "will pay on Friday after payday", "promised_on": "2026-03-13"},
                {"outcome": "no_answer", "notes": "rang twice, no answer"},
            ]
        }
    )

    outcome: Literal["reached", "promised", "no_answer", "refused", "wrong_number"]
    notes: Annotated[str, StringConstraints(max_length=500, pattern=NOTES_PATTERN)] = ""
    promised_on: date | None = None


class CallOut(Answer):
    """A collection call recorded on the order: by `staff`, at `made_at`."""

    order_id: UUID
    outcome: Literal["reached", "promised", "no_answer", "refused", "wrong_number"]
    notes: str
    promised_on: date | None
    staff: str
    made_at: AwareDatetime


class AdjustmentOut(Answer):
    """An adjustment finance made: `seq` is the installment of a waived late fee (null for a goodwill credit);
    `staff` who made it."""

    kind: Literal["waive_late_fee", "goodwill_credit"]
    seq: int | None
    amount: Money
    reason: str
    staff: str
    made_at: AwareDatetime


class ReviewOut(Answer):
    order_id: UUID
    customer_id: UUID
    sku_id: UUID
    channel: str
    deposit_mode: str
    deposit: Money
    waiver: Money
    due_now: Money
    reasons: list[str]
    placed_at: AwareDatetime
    queued_at: AwareDatetime | None


class AddressOut(Answer):
    name: str
    phone: str
    line: str


class OrderCustomerOut(Answer):
    """Who placed the order: the verified name (null before verification) and the phone they log in with."""

    customer_id: UUID
    name: str | None
    phone: str | None


class AdminOrderOut(OrderOut):
    """The order as its customer sees it, with where it goes, who placed it and finance's adjustments to it."""

    address: AddressOut
    customer: OrderCustomerOut
    adjustments: list[AdjustmentOut]

"""The HTTP contract's bodies and answers (API.md) as pydantic models; the only pydantic in the project.

Money is a decimal string with at most two places in ("1299", "1299.5", "1299.00") and exactly two
out ("1299.00"); a JSON number is refused, so money never passes through a float. Dates are
`YYYY-MM-DD`, instants RFC 3339 with an offset. Request bodies refuse fields they do not know.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from leasecore.lease import LeaseStatus
from leasecore.staff import Role

CENT = Decimal("0.01")
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
MONEY_OUT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
PHONE_PATTERN = r"^\+?[0-9]{6,15}$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"
NOTES_PATTERN = r"^[^\x00]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,31}$"
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}$"


def _money_in(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("an amount of money is finite")
        return value.quantize(CENT)
    if isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value):
        return Decimal(value).quantize(CENT)
    raise ValueError('an amount of money is a string with at most two decimal places, like "1299.00"')


def _money_out(value: Decimal) -> str:
    return str(value.quantize(CENT))


Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(_money_out, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1299.00"]}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": MONEY_OUT_PATTERN, "examples": ["1299.00"]}, mode="serialization"),
]
"""CNY as a decimal string: at most two places in, exactly two out."""


def _phone(value: str) -> str:
    cleaned = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(PHONE_PATTERN, cleaned):
        raise ValueError("a phone number is 6 to 15 digits, optionally after a +")
    return cleaned


Phone = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_phone),
    WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN, "examples": ["13800138000"]}),
]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE_PATTERN, strip_whitespace=False)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
Notes = Annotated[str, StringConstraints(max_length=2000, pattern=NOTES_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Serial = Annotated[str, StringConstraints(pattern=SERIAL_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


def _base64(value: str) -> bytes:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    if not decoded:
        raise ValueError("must not be empty")
    return decoded


Image = Annotated[
    bytes,
    BeforeValidator(lambda value: _base64(value) if isinstance(value, str) else value),
    WithJsonSchema(
        {"type": "string", "contentEncoding": "base64", "minLength": 4, "maxLength": 6_000_000, "format": "byte"}
    ),
]


def _not_before(end: date | None, start: date | None) -> date | None:
    if end is not None and start is not None and end < start:
        raise ValueError("must be on or after start")
    return end


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    return value


def _rfc3339(value: Any) -> Any:
    pattern = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
    if isinstance(value, str) and not re.fullmatch(pattern, value):
        raise ValueError("an instant is RFC 3339 with an offset, like 2026-01-31T10:00:00+08:00")
    return value


QueryDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in a query string: only YYYY-MM-DD (not a number of seconds)."""
QueryInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""An instant in a query string: only RFC 3339 with an offset."""


class Body(BaseModel):
    """A request body: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Answer(BaseModel):
    """A response body."""

    model_config = ConfigDict(frozen=True)


class Query(BaseModel):
    """Query parameters (strings on the wire, converted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(Body):
    """No fields."""


# Auth.


class OtpRequest(Body):
    phone: Phone


class OtpSent(Answer):
    phone: str
    expires_at: AwareDatetime


class Login(Body):
    phone: Phone
    code: Code


class CustomerToken(Answer):
    token: str
    customer_id: UUID
    expires_at: AwareDatetime


class StaffLogin(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffToken(Answer):
    token: str
    username: str
    roles: list[Role]
    expires_at: AwareDatetime


# Identity and credit.


class IdentitySubmission(Body):
    name: Name
    id_number: Annotated[str, StringConstraints(pattern=ID_NUMBER_PATTERN)]
    id_card_image: Image
    selfie_image: Image


class IdentityResult(Answer):
    status: Literal["verified", "rejected"]
    reason: str | None = None


class CreditEvaluationOut(Answer):
    score: int
    level: str | None
    source: str
    quota: Money
    reserved: Money
    available: Money


class CreditLineOut(Answer):
    quota: Money
    reserved: Money
    available: Money
    level: str | None = None
    blocked: bool = False


class CreditLineAdminOut(CreditLineOut):
    customer_id: UUID
    reservations: int
    updated_at: AwareDatetime | None = None


# Catalog.


class CategoryNode(Answer):
    id: UUID
    name: str
    parent_id: UUID | None
    children: list[CategoryNode]


class LongTermIn(Body):
    terms: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1, max_length=24)]


class ShortTermIn(Body):
    min_days: Annotated[int, Field(ge=1, le=3650)]
    max_days: Annotated[int, Field(ge=1, le=3650)]


class ProtectionIn(Body):
    offered: bool
    mandatory: bool = False
    monthly: Money = Decimal("0.00")
    daily: Money = Decimal("0.00")
    damage_excess: Money = Decimal("0.00")


TermKey = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}$")]


class SkuIn(Body):
    specs: Annotated[
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=LINE_PATTERN)],
            Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)],
        ],
        Field(max_length=16),
    ] = {}
    market_value: Money
    deposit: Money
    monthly_rent: Annotated[dict[TermKey, Money], Field(max_length=24)] = {}
    buyout_price: Annotated[dict[TermKey, Money], Field(max_length=24)] = {}
    renewal_monthly_rent: Money | None = None
    daily_rent: Money | None = None


class ProductIn(Body):
    category_id: UUID
    name: Name
    brand: Name
    description: Notes = ""
    images: Annotated[
        list[Annotated[str, StringConstraints(max_length=500, pattern=LINE_PATTERN)]], Field(max_length=20)
    ] = []
    channels: Annotated[list[Slug], Field(max_length=16)] = []
    long_term: LongTermIn | None = None
    short_term: ShortTermIn | None = None
    protection: ProtectionIn = ProtectionIn(offered=False)
    skus: Annotated[list[SkuIn], Field(max_length=50)] = []


class PlansIn(Body):
    long_term: LongTermIn | None = None
    short_term: ShortTermIn | None = None


class NewCategory(Body):
    name: Name
    parent_id: UUID | None = None


class CategoryOut(Answer):
    id: UUID
    name: str
    parent_id: UUID | None


class LongTermOut(Answer):
    terms: list[int]


class ShortTermOut(Answer):
    min_days: int
    max_days: int


class ProtectionOut(Answer):
    offered: bool
    mandatory: bool
    monthly: Money
    daily: Money
    damage_excess: Money


class SkuOut(Answer):
    id: UUID
    product_id: UUID
    specs: dict[str, str]
    market_value: Money
    deposit: Money
    monthly_rent: dict[str, Money]
    buyout_price: dict[str, Money]
    renewal_monthly_rent: Money | None
    daily_rent: Money | None
    available_units: int


class ProductOut(Answer):
    id: UUID
    category_id: UUID
    name: str
    brand: str
    description: str
    images: list[str]
    channels: list[str]
    long_term: LongTermOut | None
    short_term: ShortTermOut | None
    protection: ProtectionOut
    skus: list[SkuOut]
    retired: bool


class ProductsQuery(Query):
    category_id: UUID | None = None


class ProductQuery(Query):
    """Units free over these dates (short-term); free from today on when not given."""

    start: QueryDate | None = None
    end: QueryDate | None = Field(default=None, validate_default=True)

    @field_validator("end")
    @classmethod
    def _dates(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if (start is None) != (end is None) and "start" in info.data:
            raise ValueError("give both start and end, or neither")
        return _not_before(end, start)


class Units(Body):
    serials: Annotated[list[Serial], Field(min_length=1, max_length=1000)]


class StockOut(Answer):
    sku_id: UUID
    product_id: UUID
    units: int
    available: int
    in_stock: int
    leased: int
    sold: int
    retired: int


# Quotes and orders.


class LongPlan(Body):
    kind: Literal["long"]
    months: Annotated[int, Field(ge=1, le=120)]


class ShortPlan(Body):
    kind: Literal["short"]
    start: date
    end: date

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date, info: ValidationInfo) -> date:
        return _not_before(end, info.data.get("start")) or end


Plan = Annotated[LongPlan | ShortPlan, Field(discriminator="kind")]


class QuoteRequest(Body):
    sku_id: UUID
    quantity: Annotated[int, Field(ge=1, le=20)] = 1
    plan: Plan
    protection: bool = False
    deposit_mode: Literal["full", "waiver"]
    channel: Slug = "app"


class InstallmentQuote(Answer):
    seq: int
    due_date: date
    rent: Money
    protection: Money
    total: Money


class QuoteOut(Answer):
    deposit: Money
    waiver: Money
    deposit_due: Money
    rent_total: Money
    protection_total: Money
    due_now: Money
    installments: list[InstallmentQuote]


class AddressIn(Body):
    name: Name
    phone: Phone
    line: Line


class PlaceOrder(QuoteRequest):
    address: AddressIn


class PlanOut(Answer):
    kind: Literal["long", "short"]
    months: int | None = None
    start: date | None = None
    end: date | None = None


class InstallmentOut(Answer):
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


class OrderOut(Answer):
    id: UUID
    status: OrderStatus
    customer_id: UUID
    product_id: UUID
    sku_id: UUID
    quantity: int
    plan: PlanOut
    protection: bool
    deposit_mode: Literal["full", "waiver"]
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
    swapped_from: UUID | None
    swapped_to: UUID | None
    collection_stage: str | None
    days_overdue: int
    reason: str | None
    installments: list[InstallmentOut]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class OrdersQuery(Query):
    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class AdminOrdersQuery(OrdersQuery):
    customer_id: UUID | None = None


class Cancel(Body):
    reason: Annotated[str, StringConstraints(max_length=200, pattern=NOTES_PATTERN)] = "cancelled by the customer"


class EndOfTerm(Body):
    choice: Literal["return", "renew", "buyout", "swap"]
    months: Annotated[int, Field(ge=1, le=36)] | None = None
    sku_id: UUID | None = None
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)] | None = None


class ContractOut(Answer):
    contract_id: str
    signed_at: AwareDatetime
    document_url: str


class TrackingOut(Answer):
    carrier: str
    tracking_no: str
    delivered: bool
    events: list[str]


# Payments.


class PaymentIn(Body):
    purpose: Literal["checkout", "installments", "buyout", "damage"]
    amount: Money | None = None
    provider: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None


class PaymentOut(Answer):
    payment_id: UUID
    provider: str
    amount: Money
    pay_params: dict[str, str]


class RefundOut(Answer):
    refund_id: str
    order_id: UUID
    payment_id: UUID | None
    provider: str | None
    amount: Money
    reason: str
    state: Literal["pending", "sending", "accepted", "refused", "failed", "unmatched"]
    detail: str | None
    created_at: AwareDatetime


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


class RefundsQuery(Query):
    order_id: UUID | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


# Back office.


class Decision(Body):
    reason: Annotated[str, StringConstraints(max_length=500, pattern=NOTES_PATTERN)] = ""


class Rejection(Body):
    """A rejection gives its reason (422 naming `reason` without one)."""

    reason: Annotated[str, StringConstraints(max_length=500, pattern=NOTES_PATTERN)] = ""


class Shipment(Body):
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
    damage_fee: Money
    notes: Notes = ""


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


class OverdueOut(Answer):
    order_id: UUID
    customer_id: UUID
    seq: int
    due_date: date
    days_overdue: int
    amount: Money
    late_fee: Money
    stage: str | None


class CollectionTaskOut(Answer):
    order_id: UUID
    customer_id: UUID
    contact_name: str
    contact_phone: str
    stage: str
    stage_since: AwareDatetime | None
    days_overdue: int
    overdue_amount: Money
    late_fees: Money


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class CreditLinesQuery(PageQuery):
    customer_id: UUID | None = None


class FinanceQuery(Query):
    """The days to report, in the billing timezone; the last 30 days to today when not given."""

    start: QueryDate | None = None
    end: QueryDate | None = None

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        return _not_before(end, info.data.get("start"))


class FinanceFiguresOut(Answer):
    payments_received: Money
    deposits_received: Money
    deposits_deducted: Money
    deposits_refunded: Money
    deposits_held: Money
    rent: Money
    protection: Money
    fees: Money
    damage: Money
    late_return: Money
    buyouts: Money
    credit: Money
    stray: Money
    other_refunds: Money
    refunds: Money
    revenue: Money


class FinanceDayOut(Answer):
    day: date
    figures: FinanceFiguresOut


class FinanceReportOut(Answer):
    start: date
    end: date
    opening_deposits_held: Money
    deposits_held: Money
    rent_collected: Money
    fees: Money
    refunds: Money
    totals: FinanceFiguresOut
    days: list[FinanceDayOut]


class DailyJob(Body):
    as_of: date | None = None


class DailyReportOut(Answer):
    as_of: date
    looked_at: int
    cancelled: list[UUID]
    assessed: list[UUID]
    stage_changes: list[StageChangeOut]


class StageChangeOut(Answer):
    order_id: UUID
    stage: str | None


ConfigName = Literal["waiver-policy", "credit-levels", "scoring-rules", "billing"]


class ConfigOut(Answer):
    name: ConfigName
    version: int
    document: dict[str, Any]


class CreditLevelDoc(Body):
    name: str
    min_score: int
    max_score: int
    quota: Money


class CreditLevelsDoc(Body):
    """credit-levels: score bands and the revolving quota each level is granted."""

    levels: list[CreditLevelDoc]


class WaiverBandDoc(Body):
    min_score: int
    max_score: int
    waiver: Money | None = None
    share: str | None = None


class WaiverPolicyDoc(Body):
    """waiver-policy: who gets a waiver and how much per order (a band's `waiver` is an amount, `share` a fraction)."""

    min_score: int
    bands: list[WaiverBandDoc]
    per_order_cap: Money
    per_unit_cap: Money


class LateFeeDoc(Body):
    daily_rate: str
    fixed_per_day: Money
    cap_share: str


class CollectionStageDoc(Body):
    after_days: int
    action: Literal["sms", "call", "agency"]


class BillingDoc(Body):
    """billing: grace days, the late fee rule, collection stages, the unpaid-order timeout."""

    timezone: str
    grace_days: int
    late_fee: LateFeeDoc
    collection_stages: list[CollectionStageDoc]
    unpaid_timeout_minutes: int
    early_buyout_discount_share: str


class ScoringRulesDoc(Body):
    """scoring-rules: "bureau" or the built-in rule engine ("rules"), its range, weighted dimensions and rules."""

    model_config = ConfigDict(extra="allow")

    source: Literal["bureau", "rules"]
    range: list[int]
    dimensions: list[dict[str, Any]]


CONFIG_DOCUMENTS: dict[str, type[Body]] = {
    "credit-levels": CreditLevelsDoc,
    "waiver-policy": WaiverPolicyDoc,
    "billing": BillingDoc,
    "scoring-rules": ScoringRulesDoc,
}


class ConfigDocument(RootModel[dict[str, Any]]):
    """A whole configuration document, validated by the platform as one (422 names each field in error)."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "anyOf": [{"$ref": f"#/components/schemas/{model.__name__}"} for model in CONFIG_DOCUMENTS.values()]
        },
    )


class AuditQuery(Query):
    version: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    at: QueryInstant | None = None

    @field_validator("at")
    @classmethod
    def _one(cls, at: datetime | None, info: ValidationInfo) -> datetime | None:
        if at is not None and info.data.get("version") is not None:
            raise ValueError("give a version or an instant, not both")
        return at


class AuditEventOut(Answer):
    version: int
    type: str
    timestamp: AwareDatetime
    fields: dict[str, Any]


class AuditOut(Answer):
    aggregate_id: UUID
    aggregate_type: str
    version: int
    as_of: AwareDatetime
    events: list[AuditEventOut]
    state: dict[str, Any]


# Sandbox.


class SmsQuery(Query):
    phone: Phone


class SmsOut(Answer):
    message_id: str
    phone: str
    text: str
    sent_at: AwareDatetime


class Completion(Body):
    outcome: Literal["success", "fail"]
    paid_at: AwareDatetime | None = None


class CompletionOut(Answer):
    payment_id: UUID
    outcome: Literal["success", "fail"]
    status: Literal["pending", "succeeded", "failed"]
    acknowledgement: str


class ClockSet(Body):
    now: AwareDatetime


class ClockOut(Answer):
    now: AwareDatetime


class BureauScoreIn(Body):
    id_number: Annotated[str, StringConstraints(pattern=ID_NUMBER_PATTERN)]
    score: Annotated[int, Field(ge=350, le=950)]


class BureauScoreOut(Answer):
    id_number: str
    score: int


class ParcelMove(Body):
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    stage: Literal["picked_up", "in_transit", "delivered"]
    location: Annotated[str, StringConstraints(max_length=64, pattern=NOTES_PATTERN)] = ""


class Health(Answer):
    status: Literal["ok"]


# Problems (RFC 9457).


class FieldError(Answer):
    field: str
    message: str


class Problem(Answer):
    """An error as RFC 9457 problem JSON; `errors` names each field in error, `state` the state refused."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    state: str | None = None


DailyReportOut.model_rebuild()
CategoryNode.model_rebuild()

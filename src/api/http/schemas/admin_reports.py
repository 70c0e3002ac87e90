"""Back-office reads and jobs: overdue ledger, credit lines, finance, collections, refunds, audit, the daily
job and the configuration documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AliasPath,
    AwareDatetime,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api.demo import DOCUMENTS
from api.http.schemas.common import (
    Answer,
    Body,
    Money,
    PageQuery,
    Query,
    QueryDate,
    QueryInstant,
    Row,
    not_before,
    rules,
)
from api.http.schemas.me import CreditLineOut


class OverdueOut(Answer):
    order_id: UUID
    customer_id: UUID
    seq: int
    due_date: date
    days_overdue: int
    amount: Money
    late_fee: Money
    stage: str | None


class CreditLineAdminOut(CreditLineOut):
    customer_id: UUID
    reservations: int
    updated_at: AwareDatetime | None = None


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


class CreditLinesQuery(PageQuery):
    customer_id: UUID | None = None


class FinanceQuery(Query):
    """The days to report, in the billing timezone; the last 30 days to today when not given."""

    RULES = rules({"end": "on or after start"})

    start: QueryDate | None = None
    end: QueryDate | None = None

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        return not_before(end, info.data.get("start"))


class FinanceFiguresOut(Answer):
    """Money moved, and apart from it finance's adjustments, which move none: `fees_waived` (late fees forgiven) and
    `goodwill_credit` (rent and fees a goodwill credit paid; `rent`, `protection` and `fees` count money only)."""

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
    fees_waived: Money
    goodwill_credit: Money
    refunds: Money
    revenue: Money
    deposits_frozen: Money
    """Pre-authorized deposits the providers froze (押金预授权): not received; `freezes_taken` of it was taken for
    damage and arrears, `deposits_unfrozen` given back."""
    freezes_taken: Money
    deposits_unfrozen: Money


class FinanceDayOut(Answer):
    day: date
    figures: FinanceFiguresOut


class FinanceReportOut(Answer):
    start: date
    end: date
    opening_deposits_held: Money
    deposits_held: Money = Field(validation_alias=AliasPath("totals", "deposits_held"))
    rent_collected: Money
    fees: Money = Field(validation_alias=AliasPath("totals", "fees"))
    refunds: Money = Field(validation_alias=AliasPath("totals", "refunds"))
    totals: FinanceFiguresOut
    days: list[FinanceDayOut]

    @model_validator(mode="before")
    @classmethod
    def _collected(cls, report: Any) -> Any:
        """Rent collected counts protection with the rent."""
        totals = getattr(report, "totals", None)
        return report if totals is None else Row(report, rent_collected=totals.rent + totals.protection)


class DailyJob(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"as_of": "2026-01-31"}, {}]})

    as_of: date | None = None


class StageChangeOut(Answer):
    order_id: UUID
    stage: str | None

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, change: Any) -> Any:
        """The daily job reports a stage change as a pair: the order and its new stage."""
        if isinstance(change, tuple):
            order_id, stage = change
            return {"order_id": order_id, "stage": stage}
        return change


class DailyReportOut(Answer):
    as_of: date
    looked_at: int
    cancelled: list[UUID]
    assessed: list[UUID]
    stage_changes: list[StageChangeOut]
    reminders: list[UUID]


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

    model_config = ConfigDict(json_schema_extra={"examples": [DOCUMENTS["credit-levels"]]})

    levels: list[CreditLevelDoc]


class WaiverBandDoc(Body):
    min_score: int
    max_score: int
    waiver: Money | None = None
    share: str | None = None


class WaiverPolicyDoc(Body):
    """waiver-policy: who gets a waiver and how much per order (a band's `waiver` is an amount, `share` a fraction)."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOCUMENTS["waiver-policy"]]})

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
    """billing: grace days, the late fee rule, collection stages, the unpaid-order timeout, the early-buyout
    discount, the local time the service runs the daily job (`daily_job_at`, "HH:MM", default "02:00") and how many
    days before a due date its reminder goes out (`remind_before_days`, 0 to 28, default 3)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**DOCUMENTS["billing"], "daily_job_at": "02:00", "remind_before_days": 3}]}
    )

    timezone: str
    grace_days: int
    late_fee: LateFeeDoc
    collection_stages: list[CollectionStageDoc]
    unpaid_timeout_minutes: int
    early_buyout_discount_share: str
    daily_job_at: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "02:00"
    remind_before_days: Annotated[int, Field(ge=0, le=28)] = 3


class ScoringRulesDoc(Body):
    """scoring-rules: "bureau" or the built-in rule engine ("rules"), its range, weighted dimensions and rules."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOCUMENTS["scoring-rules"]]})

    source: Literal["bureau", "rules"]
    range: list[int]
    dimensions: list[dict[str, Any]]


CONFIG_DOCUMENTS: dict[str, type[Body]] = {
    "credit-levels": CreditLevelsDoc,
    "waiver-policy": WaiverPolicyDoc,
    "billing": BillingDoc,
    "scoring-rules": ScoringRulesDoc,
}


def config_rules() -> dict[str, str]:
    """The body is the document the path names, which the schema (any of the documents) cannot tie to the path:
    a 422 names each field of that document in error."""
    owners: dict[str, list[str]] = {}
    for name, model in CONFIG_DOCUMENTS.items():
        for field in model.model_fields:
            owners.setdefault(field, []).append(name)
    return {field: f"as the document the path names says ({', '.join(names)})" for field, names in owners.items()}


class ConfigDocument(RootModel[dict[str, Any]]):
    """A whole configuration document, validated by the platform as one (422 names each field in error)."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "anyOf": [{"$ref": f"#/components/schemas/{model.__name__}"} for model in CONFIG_DOCUMENTS.values()]
        },
    )


class AuditQuery(Query):
    RULES = rules({"at": "give a version or an instant, not both"})

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


class RelatedOut(Answer):
    """Another aggregate to audit: `deposit`, `credit_line`, `customer`, `payment`, `order`, `stock_unit`,
    `inventory` (a SKU's register of units) or `product`."""

    aggregate_id: UUID
    kind: str


class AuditOut(Answer):
    aggregate_id: UUID
    aggregate_type: str
    version: int
    as_of: AwareDatetime
    events: list[AuditEventOut]
    state: dict[str, Any]
    related: list[RelatedOut]


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


class RefundsQuery(Query):
    order_id: UUID | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

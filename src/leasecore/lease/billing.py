"""The billing document: grace days, the late fee rule, collection stages (催收), the unpaid-order
timeout and the early-buyout discount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leasecore.documents import (
    Reader,
    as_amount,
    as_int,
    as_non_negative_int,
    as_share,
    as_str,
    invalid,
)
from leasecore.lease.ledger import LateFeeRule
from leasecore.values import ZERO


class CollectionAction(Enum):
    """What collections (催收) does at a stage."""

    SMS = "sms"
    CALL = "call"
    AGENCY = "agency"


@dataclass(frozen=True)
class CollectionStage:
    after_days: int
    action: CollectionAction


@dataclass(frozen=True)
class BillingPolicy:
    """Grace days (宽限日), the late-fee rule, collection stages and timeouts."""

    timezone: str
    grace_days: int
    daily_rate: Decimal
    fixed_per_day: Decimal
    cap_share: Decimal
    collection_stages: tuple[CollectionStage, ...]
    unpaid_timeout_minutes: int
    early_buyout_discount_share: Decimal

    name = "billing"

    @classmethod
    def from_document(cls, doc: Any) -> BillingPolicy:
        reader = Reader(cls.name)
        timezone = reader.field(doc, "timezone", "", _as_timezone)
        grace_days = reader.field(doc, "grace_days", "", as_non_negative_int)
        late_fee = reader.field(doc, "late_fee", "", lambda value, path: value)
        daily_rate = reader.field(late_fee, "daily_rate", "late_fee", as_share) if late_fee is not None else None
        fixed = reader.field(late_fee, "fixed_per_day", "late_fee", as_amount) if late_fee is not None else None
        cap_share = reader.field(late_fee, "cap_share", "late_fee", as_share) if late_fee is not None else None
        stages: list[CollectionStage] = []
        for path, item in reader.items(doc, "collection_stages", ""):
            after_days = reader.field(item, "after_days", path, as_int)
            action = reader.field(item, "action", path, _as_action)
            if after_days is None or action is None:
                continue
            if after_days < 1:
                reader.error(f"{path}.after_days", "must be ≥ 1")
            elif stages and after_days <= stages[-1].after_days:
                reader.error(f"{path}.after_days", "stage days must be strictly ascending")
            else:
                stages.append(CollectionStage(after_days, action))
        timeout = reader.field(doc, "unpaid_timeout_minutes", "", as_int)
        if timeout is not None and timeout < 1:
            reader.error("unpaid_timeout_minutes", "must be ≥ 1")
        discount = reader.field(doc, "early_buyout_discount_share", "", as_share, default=ZERO)
        reader.check()
        assert timezone and grace_days is not None and daily_rate is not None and fixed is not None
        assert cap_share is not None and timeout is not None and discount is not None
        return cls(timezone, grace_days, daily_rate, fixed, cap_share, tuple(stages), timeout, discount)

    def to_document(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "grace_days": self.grace_days,
            "late_fee": {
                "daily_rate": str(self.daily_rate),
                "fixed_per_day": str(self.fixed_per_day),
                "cap_share": str(self.cap_share),
            },
            "collection_stages": [
                {"after_days": stage.after_days, "action": stage.action.value} for stage in self.collection_stages
            ],
            "unpaid_timeout_minutes": self.unpaid_timeout_minutes,
            "early_buyout_discount_share": str(self.early_buyout_discount_share),
        }

    @property
    def late_fee_rule(self) -> LateFeeRule:
        return LateFeeRule(self.grace_days, self.daily_rate, self.fixed_per_day, self.cap_share, self.timezone)

    def stage_for(self, days_overdue: int) -> CollectionStage | None:
        """The furthest stage reached after `days_overdue` days."""
        reached = [stage for stage in self.collection_stages if days_overdue >= stage.after_days]
        return reached[-1] if reached else None


def _as_timezone(value: Any, path: str) -> str:
    name = as_str(value, path)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(path, f"{name!r} is not a known timezone") from None
    return name


def _as_action(value: Any, path: str) -> CollectionAction:
    try:
        return CollectionAction(value)
    except ValueError:
        choices = ", ".join(action.value for action in CollectionAction)
        raise invalid(path, f"must be one of {choices}") from None

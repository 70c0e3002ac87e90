"""The billing document: grace days, the late fee rule, collection stages (催收), the unpaid-order
timeout, the early-buyout discount, when the daily job runs and how early a due date is reminded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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

DAILY_JOB_AT = time(2, 0)
REMIND_BEFORE_DAYS = 3
MAX_REMIND_BEFORE_DAYS = 28


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
    """Grace days (宽限日), the late-fee rule, collection stages, timeouts, and the daily job's local time
    and how many days before a due date its reminder goes out."""

    timezone: str
    grace_days: int
    daily_rate: Decimal
    fixed_per_day: Decimal
    cap_share: Decimal
    collection_stages: tuple[CollectionStage, ...]
    unpaid_timeout_minutes: int
    early_buyout_discount_share: Decimal
    daily_job_at: time = DAILY_JOB_AT
    remind_before_days: int = REMIND_BEFORE_DAYS

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
        daily_job_at = reader.field(doc, "daily_job_at", "", _as_local_time, default=DAILY_JOB_AT)
        remind_before = reader.field(doc, "remind_before_days", "", as_non_negative_int, default=REMIND_BEFORE_DAYS)
        if remind_before is not None and remind_before > MAX_REMIND_BEFORE_DAYS:
            reader.error("remind_before_days", f"must be ≤ {MAX_REMIND_BEFORE_DAYS}")
        reader.check()
        assert timezone and grace_days is not None and daily_rate is not None and fixed is not None
        assert cap_share is not None and timeout is not None and discount is not None
        assert daily_job_at is not None and remind_before is not None
        return cls(
            timezone,
            grace_days,
            daily_rate,
            fixed,
            cap_share,
            tuple(stages),
            timeout,
            discount,
            daily_job_at,
            remind_before,
        )

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
            "daily_job_at": self.daily_job_at.strftime("%H:%M"),
            "remind_before_days": self.remind_before_days,
        }

    @property
    def late_fee_rule(self) -> LateFeeRule:
        return LateFeeRule(self.grace_days, self.daily_rate, self.fixed_per_day, self.cap_share, self.timezone)

    def stage_for(self, days_overdue: int) -> CollectionStage | None:
        """The furthest stage reached after `days_overdue` days."""
        reached = [stage for stage in self.collection_stages if days_overdue >= stage.after_days]
        return reached[-1] if reached else None

    def last_daily_run(self, now: datetime) -> date:
        """The latest business day whose daily job is due by `now`: today once `daily_job_at` has passed in the
        billing timezone, else yesterday."""
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.date() if local.time() >= self.daily_job_at else local.date() - timedelta(days=1)

    def daily_run_at(self, day: date) -> datetime:
        """The instant the daily job of `day` falls due."""
        return datetime.combine(day, self.daily_job_at, ZoneInfo(self.timezone))


def _as_timezone(value: Any, path: str) -> str:
    name = as_str(value, path)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(path, f"{name!r} is not a known timezone") from None
    return name


def _as_local_time(value: Any, path: str) -> time:
    """A local time of day, "HH:MM" on a 24-hour clock."""
    text = as_str(value, path)
    found = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", text)
    if found is None:
        raise invalid(path, f'{text!r} is not a local time "HH:MM" (00:00 to 23:59)')
    return time(int(found.group(1)), int(found.group(2)))


def _as_action(value: Any, path: str) -> CollectionAction:
    try:
        return CollectionAction(value)
    except ValueError:
        choices = ", ".join(action.value for action in CollectionAction)
        raise invalid(path, f"must be one of {choices}") from None

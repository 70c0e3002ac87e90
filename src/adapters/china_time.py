"""China's one timezone, in which providers write their times and ID cards their dates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from leasecore.ports import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def china_date(instant: datetime) -> date:
    """The calendar date in China at that instant."""
    return instant.astimezone(SHANGHAI).date()


def today_in_china(clock: Clock) -> date:
    return china_date(clock.now())

"""China's one timezone, in which providers write their times and ID cards their dates."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from leasecore.ports import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_china(clock: Clock) -> date:
    return clock.now().astimezone(SHANGHAI).date()

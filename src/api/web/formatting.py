"""Figures as staff read them: money as `¥1,299.00` (Babel, zh_CN, from the exact Decimal), instants and days in
the billing timezone."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_decimal

from leasecore.application import LeaseApplication
from leasecore.errors import LeaseError

DEFAULT_TIMEZONE = "Asia/Shanghai"
CENT = Decimal("0.01")


ZH_CN = Locale.parse("zh_CN")
CURRENCY_PATTERN = ZH_CN.currency_formats["standard"]


@functools.lru_cache(maxsize=4096)
def money(amount: Decimal | None) -> str:
    """`¥1,299.00`: two places, grouped, in yuan (Babel's zh_CN currency pattern, parsed once); nothing as a dash."""
    if amount is None:
        return "—"
    return str(CURRENCY_PATTERN.apply(amount.quantize(CENT), ZH_CN, currency="CNY"))


@functools.lru_cache(maxsize=4096)
def number(value: int) -> str:
    return str(format_decimal(value, locale="zh_CN"))


def billing_zone(app: LeaseApplication) -> ZoneInfo:
    """The billing document's timezone, Asia/Shanghai until it is configured."""
    try:
        return ZoneInfo(app.billing_policy().timezone)
    except LeaseError:
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_time(instant: datetime | None, zone: ZoneInfo) -> str:
    """`2026-01-31 10:00` in that timezone."""
    if instant is None:
        return "—"
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def percent(share: Decimal) -> str:
    """A share as a percentage without trailing zeros: 0.0005 → `0.05`."""
    return f"{(share * 100).normalize():f}"


def day(value: date | None) -> str:
    return value.isoformat() if value is not None else "—"

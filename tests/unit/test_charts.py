"""The rent chart's SVG: a bar per day at the right height, the scale's round figures, labels escaped."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from api.web.charts import bar_chart

DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]


def test_each_day_is_a_bar_as_tall_as_its_share_of_the_round_ceiling() -> None:
    chart = bar_chart([(day, Decimal(300) if day.day == 15 else Decimal(150)) for day in DAYS])

    svg = str(chart.svg("rent-title", "Rent"))

    heights = [Decimal(height) for height in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 30
    # the largest, 300, rounds up to a ceiling of 500; the plot is 220 - 28 - 12 = 180 high
    assert max(heights) == Decimal(108)
    assert heights.count(Decimal(54)) == 29
    assert "<title>2026-11-15: ¥300.00</title>" in svg
    assert re.findall(r'text-anchor="end">([^<]+)</text>', svg) == ["¥0.00", "¥250.00", "¥500.00"]
    assert '<desc id="rent-title-desc">Rent ¥4,650.00</desc>' in svg


def test_labels_are_escaped_and_an_empty_month_still_has_a_scale() -> None:
    chart = bar_chart([(day, Decimal(0)) for day in DAYS])

    svg = str(chart.svg('x" onload="alert(1)', "<script>alert(1)</script>"))

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'onload="alert' not in svg
    assert chart.empty and "¥100.00" in svg

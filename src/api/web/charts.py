"""Charts drawn on the server as inline SVG: no script, so they show with JavaScript off and under a strict CSP.
The geometry is computed here in Decimal; the template only writes it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from markupsafe import Markup, escape

from api.web.formatting import money

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Bar:
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    day: date
    amount: Decimal

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()}: {money(self.amount)}"


@dataclass(frozen=True)
class Tick:
    y: Decimal
    label: str


@dataclass(frozen=True)
class BarChart:
    """Bars of an amount per day, with gridlines at round amounts and the first, middle and last day named."""

    width: int
    height: int
    left: int
    bottom: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    days: tuple[tuple[Decimal, str], ...]
    total: Decimal

    @property
    def empty(self) -> bool:
        return self.total == 0

    def svg(self, title_id: str, total_label: str) -> Markup:
        """The chart as inline SVG, labelled by the element `title_id` and described as `total_label` and the
        total. Written here rather than in a template: a month of bars is some two hundred attributes, all of them
        numbers but the labels, which are escaped."""
        width, height, left, name = self.width, self.height, self.left, escape(title_id)
        parts = [
            f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-labelledby="{name} {name}-desc">',
            f'<desc id="{name}-desc">{escape(total_label)} {escape(money(self.total))}</desc>',
        ]
        for tick in self.ticks:
            parts.append(f'<line class="grid" x1="{left}" x2="{width - 8}" y1="{tick.y}" y2="{tick.y}"></line>')
            parts.append(
                f'<text class="axis" x="{left - 6}" y="{tick.y + 4}" text-anchor="end">{escape(tick.label)}</text>'
            )
        for bar in self.bars:
            parts.append(
                f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
                f"<title>{escape(bar.label)}</title></rect>"
            )
        for x, label in self.days:
            parts.append(f'<text class="axis" x="{x}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
        parts.append("</svg>")
        return Markup("\n".join(parts))


def bar_chart(points: Sequence[tuple[date, Decimal]], *, width: int = 720, height: int = 220) -> BarChart:
    """One bar per day, scaled to the largest amount rounded up to a round figure."""
    left, bottom, top = 72, 28, 12
    plot_width, plot_height = Decimal(width - left - 8), Decimal(height - bottom - top)
    largest = max((amount for _, amount in points), default=Decimal(0))
    ceiling = _round_up(largest)
    slot = plot_width / max(len(points), 1)
    gap = min(slot / 4, Decimal(4))
    bars = []
    for index, (day, amount) in enumerate(points):
        bar_height = (plot_height * amount / ceiling).quantize(TENTH) if ceiling else Decimal(0)
        bars.append(
            Bar(
                x=(left + slot * index + gap / 2).quantize(TENTH),
                y=(top + plot_height - bar_height).quantize(TENTH),
                width=max(slot - gap, Decimal(1)).quantize(TENTH),
                height=bar_height,
                day=day,
                amount=amount,
            )
        )
    ticks = tuple(
        Tick((top + plot_height - plot_height * share).quantize(TENTH), money(ceiling * share))
        for share in (Decimal(0), Decimal("0.5"), Decimal(1))
    )
    named = sorted({0, len(points) // 2, len(points) - 1}) if points else []
    days = tuple(
        ((left + slot * index + slot / 2).quantize(TENTH), points[index][0].strftime("%m-%d")) for index in named
    )
    total = sum((amount for _, amount in points), Decimal(0))
    return BarChart(width, height, left, bottom, tuple(bars), ticks, days, total)


def _round_up(amount: Decimal) -> Decimal:
    """The amount rounded up to 1, 2 or 5 times a power of ten (100 for nothing, so an empty chart has a scale)."""
    if amount <= 0:
        return Decimal(100)
    power = Decimal(10) ** (amount.adjusted())
    for step in (1, 2, 5, 10):
        candidate = power * step
        if candidate >= amount:
            return candidate.quantize(Decimal(1), rounding=ROUND_CEILING) if candidate >= 1 else candidate
    return power * 10

"""The dashboard: today's work by order status, overdue orders by days overdue, deposits held against those waived by
credit, the quota in use, units by status and the rent collected per day; every figure from the read models' queries
the JSON API answers from, each shown to the roles the API shows it to, and each a link to the list behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from starlette.responses import Response

import projections.collection_tasks
import projections.credit_lines
import projections.finance
import projections.orders
import projections.stock
from api.http.endpoints import admin_catalog, admin_orders, admin_reports
from api.web.admin.console import Page, Pages, Screen
from api.web.charts import bar_chart
from api.web.formatting import money, number
from leasecore.lease import LeaseStatus

pages = Pages()

WORK = (
    LeaseStatus.PENDING_REVIEW,
    LeaseStatus.PENDING_CONTRACT,
    LeaseStatus.PENDING_SHIPMENT,
    LeaseStatus.SHIPPED,
    LeaseStatus.RETURNING,
    LeaseStatus.INSPECTING,
    LeaseStatus.PENDING_SETTLEMENT,
)
BUCKETS = ((1, 30), (31, 60), (61, 90), (91, None))
"""Days overdue, the usual M1, M2, M3 and beyond."""


@dataclass(frozen=True)
class Tile:
    """A figure, what it counts, and the list behind it (None while that list's screen is not built)."""

    label: str
    value: str
    href: str | None = None
    note: str | None = None
    key: str = ""


@pages.get("/", access=admin_orders.EVERYONE)
def dashboard(page: Page) -> Response:
    """Each panel only for the roles that may see its figures through the API."""
    today = page.today()
    report = None
    if page.may(admin_reports.FINANCE):
        report = projections.finance.finance_report(page.views, today - timedelta(days=29), today)
    context: dict[str, object] = {
        "today": page.t("dashboard.today", date=today.isoformat(), zone=page.zone().key),
        "work": work(page),
        "overdue": overdue(page) if page.may(admin_reports.COLLECTORS) else None,
        "money": deposits_and_credit(page, report),
        "units": units(page) if page.may(admin_catalog.EDITORS) else None,
        "chart": None,
    }
    if report is not None:
        rent = {entry.day: entry.figures.rent for entry in report.days}
        points = [(day, rent.get(day, Decimal(0))) for day in (today - timedelta(days=29 - n) for n in range(30))]
        context["chart"] = bar_chart(points)
    return page.render("admin/dashboard.html", **context)


def work(page: Page) -> list[Tile]:
    """Orders waiting on staff or on the customer, by status, each a link to that tab of the order list."""
    tiles = []
    counts = projections.orders.status_counts(page.views)
    for status in WORK:
        total = counts.get(status.value, 0)
        href = page.link("orders", "/orders", status=status.value)
        tiles.append(Tile(page.t(f"dash.{status.value}"), number(total), href, key=status.value))
    return tiles


def overdue(page: Page) -> list[Tile]:
    """Orders overdue today by how long (whether or not the daily job has run today), with what they owe as last
    assessed; from the collection tasks."""
    href = page.link("orders", "/orders", status="overdue")
    return [
        Tile(
            page.t(f"bucket.{bucket.low}"),
            page.t("dashboard.orders_unit", count=number(bucket.orders)),
            href,
            note=money(bucket.overdue_amount),
            key=f"overdue-{bucket.low}",
        )
        for bucket in projections.collection_tasks.buckets(page.views, BUCKETS, page.app.local_today())
    ]


def deposits_and_credit(page: Page, report: projections.finance.FinanceReport | None) -> list[Tile]:
    """Deposits held (finance: today's balance in the finance report) against what credit waived, the quota granted
    and what is left (risk and finance)."""
    tiles = []
    if report is not None:
        held = report.totals.deposits_held
        tiles.append(Tile(page.t("money.deposits_held"), money(held), key="deposits-held"))
    if page.may(admin_reports.CREDIT):
        totals = projections.credit_lines.credit_totals(page.views)
        link = page.link("customers", "/customers")
        tiles += [
            Tile(page.t("money.deposits_waived"), money(totals.reserved), link, key="quota-in-use"),
            Tile(page.t("money.quota"), money(totals.quota), link, key="quota"),
            Tile(page.t("money.available"), money(totals.available), link, key="quota-available"),
        ]
    return tiles


def units(page: Page) -> list[Tile]:
    """Every SKU's units added up by state: available, booked (held by an order not shipped yet), leased, sold,
    retired (the stock read model's counts, kept as units change)."""
    counts = projections.stock.unit_counts(page.views)
    figures = {"units": sum(counts.values()), **counts}
    link = page.link("stock", "/stock")
    return [Tile(page.t(f"unit.{name}"), number(value), link, key=f"units-{name}") for name, value in figures.items()]


screen = Screen("dashboard", "nav.dashboard", "/", admin_orders.EVERYONE, pages)

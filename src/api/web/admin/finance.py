"""Finance (财务): the report `GET /v1/admin/reports/finance` answers for a range of days, with the rent collected
per day drawn as SVG; the refunds of `GET /v1/admin/refunds` with what each provider answered, a failed one sent
again from here; the latest differences reconciliation found between the providers' bills and the records (as
`GET /v1/admin/reconciliation` lists them per day); each list as CSV or XLSX."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import ValidationError
from starlette.responses import Response

import projections.finance
from api.http import exports
from api.http.endpoints import admin_reports
from api.http.schemas import admin_reports as schemas
from api.processes import reconciliation, refunds
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from api.web.charts import bar_chart

pages = Pages()
PER_PAGE = 20
LONGEST = 366
"""Days a report on screen may span (the chart draws one bar a day)."""
FORMATS = ("csv", "xlsx")
FIGURES = (
    "payments_received",
    "rent_collected",
    "fees",
    "damage",
    "buyouts",
    "deposits_received",
    "deposits_refunded",
    "refunds",
    "deposits_held",
    "fees_waived",
    "goodwill_credit",
    "revenue",
)
"""The report's totals shown as tiles, in this order."""

WORDS: dict[str, tuple[str, str]] = {
    "fin.report": ("财务日报", "Daily finance report"),
    "fin.range": ("{start} 至 {end}", "{start} to {end}"),
    "fin.start": ("开始日期", "From"),
    "fin.end": ("结束日期", "To"),
    "fin.show": ("查看", "Show"),
    "fin.chart": ("每日租金收入（含保障费）", "Rent collected per day (protection included)"),
    "fin.chart_total": ("合计", "Total"),
    "fin.days": ("每日明细（仅列有发生额的日期）", "Per day (days with movements only)"),
    "fin.no_days": ("这段时间没有资金变动", "No money moved in these days"),
    "fin.opening": ("期初在押押金", "Deposits held at the start"),
    "fin.total_row": ("合计", "Total"),
    "fin.export": ("导出", "Export"),
    "fin.export_csv": ("导出 CSV", "Export CSV"),
    "fin.export_xlsx": ("导出 Excel", "Export XLSX"),
    "fin.refunds": ("退款", "Refunds"),
    "fin.refunds_empty": ("还没有退款", "No refunds yet"),
    "fin.attempts": ("尝试次数", "Attempts"),
    "fin.detail": ("渠道答复", "Provider's answer"),
    "fin.retry": ("重新发起退款", "Retry the refund"),
    "fin.retry_label": ("重新发起退款 {id}", "Retry refund {id}"),
    "fin.retry_hint": (
        "失败的退款会自动重试；也可立即重新发起（同一退款号，渠道最多退一次）。",
        "Failed refunds are retried on their own; retry one now here (the same refund id: the provider refunds "
        "it at most once).",
    ),
    "fin.reconciliation": ("对账差异", "Reconciliation differences"),
    "fin.reconciliation_empty": (
        "没有对账差异：每天 10:30 后核对前一日各支付渠道的对账单，差异在此列出。",
        "No differences: each payment provider's bill of the day before is checked after 10:30 every day, and what "
        "differs is listed here.",
    ),
    "fin.reconciliation_hint": (
        "最近对账发现的差异，最严重的在前；某日详情见 GET /v1/admin/reconciliation?date=。",
        "The latest differences reconciliation found, the most serious first; a day's in full at "
        "GET /v1/admin/reconciliation?date=.",
    ),
    "recon.reference": ("平台单号", "Platform id"),
    "recon.provider_reference": ("渠道单号", "Provider's number"),
    "recon.platform_amount": ("平台金额", "Platform"),
    "recon.provider_amount": ("渠道金额", "Provider"),
    "recon.missing_on_platform": ("渠道已收款，平台无记录", "Provider moved money the platform never recorded"),
    "recon.status_differs": ("平台状态不符", "Platform records another state"),
    "recon.amount_differs": ("金额不符", "Amounts differ"),
    "recon.missing_at_provider": ("渠道账单无此笔", "Not on the provider's bill"),
    "recon.payment": ("付款", "Payment"),
    "recon.refund": ("退款", "Refund"),
    "recon.freeze": ("冻结", "Freeze"),
    "recon.capture": ("冻结转支付", "Capture"),
    "recon.unfreeze": ("解冻", "Unfreeze"),
    "fin.too_long": ("最多 {days} 天", "at most {days} days"),
    "fin.payments_received": ("收款合计", "Payments received"),
    "fin.rent_collected": ("租金收入（含保障费）", "Rent collected (with protection)"),
    "fin.fees": ("滞纳金收入", "Late fees"),
    "fin.damage": ("损坏赔偿", "Damage"),
    "fin.buyouts": ("买断收入", "Buyouts"),
    "fin.deposits_received": ("收取押金", "Deposits received"),
    "fin.deposits_refunded": ("退还押金", "Deposits refunded"),
    "fin.refunds_total": ("退款合计", "Refunds"),
    "fin.deposits_held": ("期末在押押金", "Deposits held at the end"),
    "fin.fees_waived": ("减免滞纳金", "Late fees waived"),
    "fin.goodwill_credit": ("商誉补偿", "Goodwill credit"),
    "fin.revenue": ("收入合计", "Revenue"),
    "fin.day": ("日期", "Day"),
    "flash.refund_retried": ("已重新发起退款", "The refund was sent again"),
    "flash.refund_not_retried": (
        "这笔退款不在失败状态，未重新发起",
        "That refund has not failed; nothing was sent",
    ),
}
i18n.add(WORDS)


@pages.get("/finance", access=admin_reports.FINANCE)
def overview(page: Page) -> Response:
    """The report of the days asked for (the 30 to today by default), a page of refunds, reconciliation."""
    errors: dict[str, str] = {}
    today = page.app.local_today()
    try:
        wanted = schemas.FinanceQuery.model_validate(
            {name: page.query[name] for name in ("start", "end") if page.query.get(name)}
        )
        end = wanted.end or today
        start = wanted.start or min(end, today) - timedelta(days=29)
        if (end - start).days >= LONGEST:
            errors["start"] = page.t("fin.too_long", days=LONGEST)
    except ValidationError as error:
        first = error.errors()[0]
        errors[str(first["loc"][0]) if first["loc"] else "start"] = str(first["msg"])
    if errors:
        end, start = today, today - timedelta(days=29)
    report = schemas.FinanceReportOut.model_validate(
        projections.finance.finance_report(page.views, min(start, end), end), from_attributes=True
    )
    number = _number(page.query.get("refunds"))
    found = refunds.refunds(page.views, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    keep = {"start": page.query.get("start") or None, "end": page.query.get("end") or None}
    return page.render(
        "admin/finance.html",
        422 if errors else 200,
        report=report,
        tiles=[(name, _figure(report, name)) for name in FIGURES],
        chart=bar_chart(_rent_per_day(report)),
        errors=errors,
        start=page.query.get("start", report.start.isoformat()),
        end=page.query.get("end", report.end.isoformat()),
        export_query=f"start={report.start.isoformat()}&end={report.end.isoformat()}",
        refunds=found[:PER_PAGE],
        refunds_page=number,
        refunds_prev=page.url("/finance", refunds=number - 1 if number > 2 else None, **keep) if number > 1 else None,
        refunds_next=page.url("/finance", refunds=number + 1, **keep) if len(found) > PER_PAGE else None,
        differences=reconciliation.latest_differences(page.service.store, limit=PER_PAGE),
    )


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


def _figure(report: schemas.FinanceReportOut, name: str) -> Decimal:
    if name in ("rent_collected", "deposits_held", "fees", "refunds"):
        value: Decimal = getattr(report, name)
        return value
    return Decimal(getattr(report.totals, name))


def _rent_per_day(report: schemas.FinanceReportOut) -> list[tuple[date, Decimal]]:
    """Every day of the range, a day without movements as nothing collected."""
    collected = {day.day: day.figures.rent + day.figures.protection for day in report.days}
    span = (report.end - report.start).days + 1
    return [
        (day, Decimal(collected.get(day, Decimal(0))))
        for day in (report.start + timedelta(days=n) for n in range(span))
    ]


@pages.get("/finance/report/export", access=admin_reports.FINANCE)
def export_report(page: Page) -> Response:
    """The report as `GET /v1/admin/reports/finance?format=csv|xlsx` answers it."""
    query = admin_reports.FinanceFileQuery.model_validate(
        {"format": _format(page), **{name: page.query[name] for name in ("start", "end") if page.query.get(name)}}
    )
    end = query.end or page.app.local_today()
    start = query.start or min(end, page.app.local_today()) - timedelta(days=29)
    report = schemas.FinanceReportOut.model_validate(
        projections.finance.finance_report(page.views, min(start, end), end), from_attributes=True
    )
    table = admin_reports.finance_table(report)
    return exports.download(query.format, table, f"finance-{report.start}-{report.end}")


@pages.get("/finance/refunds/export", access=admin_reports.FINANCE)
def export_refunds(page: Page) -> Response:
    """The refunds as `GET /v1/admin/refunds?format=csv|xlsx` answers them."""
    query = admin_reports.RefundsFileQuery.model_validate({"format": _format(page)})
    records = exports.pages(
        lambda limit, offset: refunds.refunds(page.views, limit=limit, offset=offset),
        query,
        key=lambda record: record.refund_id,
    )
    rows = (schemas.RefundOut.model_validate(record, from_attributes=True) for record in records)
    content = exports.table("refunds", schemas.RefundOut, rows)
    return exports.download(query.format, content, f"refunds-{page.app.local_today()}")


def _format(page: Page) -> str:
    wanted = page.query.get("format", "csv")
    return wanted if wanted in FORMATS else "csv"


@pages.post("/finance/refunds/{refund_id}/retry", access=admin_reports.FINANCE)
def retry(page: Page) -> Response:
    """A failed refund sent again now through its provider, under the same refund id."""
    refund_id = str(page.request.path_params["refund_id"])[:64]
    retried = page.service.refunds.retry(refund_id)
    start, end = (page.form.get(name, "") for name in ("start", "end"))
    return page.redirect(
        "/finance",
        done="refund_retried" if retried else "refund_not_retried",
        start=start if _is_day(start) else None,
        end=end if _is_day(end) else None,
    )


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


screen = Screen("finance", "nav.finance", "/finance", admin_reports.FINANCE, pages)

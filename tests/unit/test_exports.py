"""The file writer on its own: which text a spreadsheet would run, money written from its own digits, a long list
read a page at a time without a row given twice, a sheet too long for Excel continued on another."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest

from api.http import exports

D = Decimal


@pytest.mark.parametrize(
    "cell", ["=1+2", "+8613900000000", "-1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\t=1", "\r=1", "-12.50x"]
)
def test_text_a_spreadsheet_would_run_gains_a_leading_apostrophe(cell: str) -> None:
    assert exports.runs(cell)
    assert exports.neutral(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12.50", "-3", "12.50", "韩梅梅", "a=b", "", "2026-03-25", "rent refunded: -1"])
def test_a_plain_number_and_other_text_stay_as_they_are(cell: str) -> None:
    assert not exports.runs(cell)
    assert exports.neutral(cell) == cell


def test_csv_writes_values_as_the_json_answer_does_after_a_byte_order_mark() -> None:
    table = exports.Table(
        "t", ["a", "b", "c", "d"], [[D("-12.50"), True, ["x", "y"], None], ["=1", date(2026, 3, 1), 7, "点"]]
    )
    body = b"".join(exports.csv_bytes(table))
    assert body == "\ufeffa,b,c,d\r\n-12.50,true,x; y,\r\n'=1,2026-03-01,7,点\r\n".encode()


def test_money_goes_into_the_sheet_as_its_own_digits_never_through_a_float() -> None:
    amounts = [D("0.10"), D("-12.50"), D("1234567890123.45"), D("12345678901234.56")]
    body = b"".join(exports.xlsx_bytes(exports.Table("t", ["amount"], [[amount] for amount in amounts])))
    xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r"<v>([^<]*)</v>", xml) == ["0.10", "-12.50", "1234567890123.45"]
    assert "12345678901234.56" in xml  # more digits than a spreadsheet's number keeps: text
    cells = [row[0] for row in openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(min_row=2)]
    assert [(cell.data_type, cell.number_format) for cell in cells] == [("n", "0.00")] * 3 + [("s", "General")]


def test_a_list_too_long_for_one_sheet_goes_on_in_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "XLSX_ROWS", 3)
    body = b"".join(exports.xlsx_bytes(exports.Table("t", ["n"], [[n] for n in range(5)])))
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    assert workbook.sheetnames == ["t", "t (2)", "t (3)"]
    assert [[row[0] for row in sheet.iter_rows(values_only=True)] for sheet in workbook] == [
        ["n", 0, 1],
        ["n", 2, 3],
        ["n", 4],
    ]


class Listing:
    """A list read by offset while rows arrive in front of it (newest first), keeping how many rows each read asked."""

    def __init__(self, rows: list[str], arriving: list[str]) -> None:
        self.rows, self.arriving, self.asked = rows, arriving, list[int]()

    def fetch(self, limit: int, offset: int) -> Sequence[str]:
        self.asked.append(limit)
        page = self.rows[offset : offset + limit]
        if self.arriving:
            self.rows.insert(0, self.arriving.pop())
        return page


def query(**fields: int) -> SimpleNamespace:
    return SimpleNamespace(offset=fields.get("offset", 0), limit=fields.get("limit", 50), model_fields_set=set(fields))


def test_every_row_is_read_a_page_at_a_time_once_even_when_rows_arrive_in_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)
    listing = Listing(["e", "d", "c", "b", "a"], arriving=["g", "f"])
    assert list(exports.pages(listing.fetch, query(), key=str)) == ["e", "d", "c", "b", "a"]
    assert listing.asked == [2, 2, 2, 2]


def test_the_offset_always_and_the_limit_only_when_given_choose_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)
    rows = [str(n) for n in range(7)]
    assert list(exports.pages(Listing(rows[:], []).fetch, query(offset=2), key=str)) == rows[2:]
    assert list(exports.pages(Listing(rows[:], []).fetch, query(offset=1, limit=3), key=str)) == rows[1:4]

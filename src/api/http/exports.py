"""Back-office lists as files (`?format=csv|xlsx`): the rows and figures of the JSON answer, read from the read
model a page at a time and streamed, named by `Content-Disposition`.

CSV is UTF-8 with a byte order mark, so Excel shows Chinese. Text a spreadsheet would run as a formula (it starts
with =, +, -, @, a tab or a carriage return) is neutralised: in CSV it gains a leading apostrophe; in XLSX it stays
as it is in a text cell marked to stay text when edited (Excel's quote prefix). A plain number such as "-12.50"
runs nothing and is left as it is, so negative amounts stay numbers. XLSX holds money as numbers shown with two
places, written from the decimal's own digits (never through a float), so a sheet can add them up; dates are
dates, instants the RFC 3339 text of the JSON answer.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Annotated, Any, Literal, Protocol, TypeVar

import xlsxwriter  # type: ignore[import-untyped]
from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import to_jsonable_python
from starlette.responses import StreamingResponse

from api.http.errors import ApiError
from api.http.schemas.common import Query

T = TypeVar("T")
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": CSV, "xlsx": XLSX}
PAGE = 500
"""Rows read from the read model at a time."""
CHUNK = 64 * 1024
XLSX_ROWS = 1_048_576
"""Rows a worksheet holds; a longer list goes on in another sheet."""
EXACT_DIGITS = 15
"""Significant digits a spreadsheet's number keeps exactly; money with more goes out as text."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
FORMATS = "must be json (the default), csv or xlsx"


def _known(value: Any) -> Any:
    if value not in ("json", *MEDIA_TYPES):
        raise ApiError(400, "unsupported-format", f"format: {FORMATS}", errors=[("format", FORMATS)])
    return value


class FileQuery(Query):
    """A list that also answers as a file: `format` picks which (an unknown one is 400 naming `format`)."""

    format: Annotated[Literal["json", "csv", "xlsx"], BeforeValidator(_known)] = Field(
        "json",
        description="json (the default), or the same rows as a file: csv (UTF-8 with a byte order mark) or xlsx",
    )


def file_content() -> dict[str, Any]:
    """The media types a `FileQuery` list also answers in, for the OpenAPI document."""
    return {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}


@dataclass(frozen=True)
class Table:
    """What a file holds: its name, its column names and its rows of values, in the columns' order."""

    name: str
    columns: Sequence[str]
    rows: Iterable[Sequence[object]]


def columns(model: type[BaseModel], leave_out: Collection[str] = ()) -> list[str]:
    """An answer's fields as columns, a nested answer's dotted (`plan.kind`); `leave_out` what a row cannot hold."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        if name in leave_out:
            continue
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names.extend(f"{name}.{inner}" for inner in columns(kind))
        else:
            names.append(name)
    return names


def row(answer: BaseModel, names: Sequence[str]) -> list[object]:
    """An answer's values in the order of the columns `names`."""
    values = []
    for name in names:
        value: object = answer
        for part in name.split("."):
            value = getattr(value, part)
        values.append(value)
    return values


def table(name: str, model: type[BaseModel], answers: Iterable[BaseModel], leave_out: Collection[str] = ()) -> Table:
    """A list of answers as a table, one row each."""
    names = columns(model, leave_out)
    return Table(name, names, (row(answer, names) for answer in answers))


class Paged(Protocol):
    """A list's query: where to start, how many rows, and which of them the caller set."""

    offset: int
    limit: int

    @property
    def model_fields_set(self) -> set[str]: ...


def pages(fetch: Callable[[int, int], Sequence[T]], query: Paged, key: Callable[[T], object]) -> Iterator[T]:
    """Every row the filters match from `offset` on (up to `limit` only if the caller set it), read `PAGE` at a
    time by `fetch(limit, offset)`. A row added in front while the pages are read pushes the last row of a page
    onto the next; that row is not given twice."""
    offset, left = query.offset, query.limit if "limit" in query.model_fields_set else None
    before: set[object] = set()
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        items = fetch(size, offset)
        for item in items:
            if key(item) not in before:
                yield item
        if len(items) < size:
            return
        offset += len(items)
        left = None if left is None else left - len(items)
        before = {key(item) for item in items}


def download(file_format: str, content: Table, filename: str) -> StreamingResponse:
    """The table as a CSV or XLSX file named `filename` (without its extension), streamed."""
    body = csv_bytes(content) if file_format == "csv" else xlsx_bytes(content)
    disposition = f'attachment; filename="{filename}.{file_format}"'
    return StreamingResponse(body, media_type=MEDIA_TYPES[file_format], headers={"Content-Disposition": disposition})


def text(value: object) -> str:
    """A value as the JSON answer writes it; a list's items joined by "; ", nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(text(item) for item in value)
    return str(to_jsonable_python(value))


def runs(cell: str) -> bool:
    """Whether a spreadsheet could run the text as a formula."""
    return cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell)


def neutral(cell: str) -> str:
    """The text as a CSV cell no spreadsheet runs."""
    return "'" + cell if runs(cell) else cell


def csv_bytes(content: Table) -> Iterator[bytes]:
    """The table as CSV: a byte order mark and the header, then the rows in chunks as they are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutral(name) for name in content.columns])
    yield codecs.BOM_UTF8 + _drain(buffer)
    for values in content.rows:
        writer.writerow([neutral(text(value)) for value in values])
        if buffer.tell() >= CHUNK:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def xlsx_bytes(content: Table) -> Iterator[bytes]:
    """The table as an XLSX workbook, built in a temporary file (a zip is only whole once written), then read out."""
    with tempfile.TemporaryFile() as file:
        _workbook(content, file)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def _workbook(content: Table, file: IO[bytes]) -> None:
    """The table written in constant memory (a row at a time to temporary files), explicitly typed cell by cell:
    a string is never read as a formula, a URL or a number."""
    workbook = xlsxwriter.Workbook(file, {"constant_memory": True, "strings_to_formulas": False})
    formats = _Formats(
        header=workbook.add_format({"bold": True}),
        money=workbook.add_format({"num_format": "0.00"}),
        day=workbook.add_format({"num_format": "yyyy-mm-dd"}),
        kept=workbook.add_format({"quote_prefix": True}),
    )
    sheet: Any = None
    number, sheets = XLSX_ROWS, 0
    for values in content.rows:
        if number == XLSX_ROWS:
            sheets += 1
            sheet, number = _sheet(workbook, content, formats, sheets), 1
        for column, value in enumerate(values):
            _cell(sheet, number, column, value, formats)
        number += 1
    if sheet is None:
        _sheet(workbook, content, formats, 1)
    workbook.close()


@dataclass(frozen=True)
class _Formats:
    header: Any
    money: Any
    day: Any
    kept: Any


def _sheet(workbook: Any, content: Table, formats: _Formats, count: int) -> Any:
    sheet = workbook.add_worksheet(content.name if count == 1 else f"{content.name} ({count})")
    sheet.set_column(0, max(len(content.columns) - 1, 0), 16)
    for column, name in enumerate(content.columns):
        sheet.write_string(0, column, name, formats.header)
    sheet.freeze_panes(1, 0)
    return sheet


def _cell(sheet: Any, number: int, column: int, value: object, formats: _Formats) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(number, column, value)
    elif isinstance(value, int):
        sheet.write_number(number, column, value)
    elif isinstance(value, Decimal) and value.is_finite() and len(value.as_tuple().digits) <= EXACT_DIGITS:
        sheet.write_number(number, column, value, formats.money)
    elif isinstance(value, date) and not isinstance(value, datetime):
        sheet.write_datetime(number, column, value, formats.day)
    else:
        cell = text(value)
        sheet.write_string(number, column, cell, formats.kept if runs(cell) else None)

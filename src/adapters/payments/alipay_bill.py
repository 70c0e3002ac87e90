"""Alipay's daily trade bill (对账单): `alipay.data.dataservice.bill.downloadurl.query` with bill_type `trade` names
a URL, valid for a short while, of a zip of GBK CSV files; the detail file (…_业务明细.csv) lists each trade and
refund of the day.

The detail file opens and closes with `#` lines (the account, the dates, the totals); between them a header row
names the columns, read by name so that Alipay adding or moving one changes nothing: 支付宝交易号 (Alipay's trade
number), 商户订单号 (our payment id), 业务类型 (交易 a payment, 退款 a refund), 完成时间, 订单金额（元）, and
退款批次号/请求号 (our refund id). A refund's amounts are written negative; a line counts its amount unsigned.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import AlipayClient, AlipayConfig
from adapters.amounts import CENT
from adapters.errors import ProviderError
from leasecore.clock import SystemClock
from leasecore.ports import BillLine, Clock, RecordKind

log = logging.getLogger(__name__)

PROVIDER = "alipay"
BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
BILL_TYPE = "trade"
DETAIL_FILE = "业务明细"
SUMMARY_FILE = "汇总"
TRADE_NO, OUT_TRADE_NO, BUSINESS_TYPE, FINISHED_AT, ORDER_AMOUNT, REFUND_REQUEST = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "完成时间",
    "订单金额（元）",
    "退款批次号/请求号",
)
COLUMNS = (TRADE_NO, OUT_TRADE_NO, BUSINESS_TYPE, ORDER_AMOUNT)
BUSINESS_TYPES = {
    "交易": RecordKind.PAYMENT,
    "退款": RecordKind.REFUND,
    "预授权冻结": RecordKind.FREEZE,
    "冻结": RecordKind.FREEZE,
    "预授权转支付": RecordKind.CAPTURE,
    "授权转交易": RecordKind.CAPTURE,
    "预授权解冻": RecordKind.UNFREEZE,
    "解冻": RecordKind.UNFREEZE,
}
"""Alipay's business types (业务类型) as the platform's kinds of movement. The fund-authorization names are
assumed, not confirmed from a published bill: the freeze, the charge from a freeze (授权转交易, an
`alipay.trade.pay` with an auth_no) and the unfreeze, each spelled with and without 预授权. A type not listed is
logged and left out of the comparison, so a name Alipay spells otherwise shows as a warning, not a wrong figure."""
REQUEST_NAMED = frozenset({RecordKind.REFUND, RecordKind.CAPTURE, RecordKind.UNFREEZE})
"""Movements made under a request number of their own (退款批次号/请求号): refunds, takes and unfreezes."""


class AlipayBills:
    """A `BillSource` for an Alipay app: the day's trade bill, fetched, unzipped and read line by line."""

    def __init__(
        self,
        config: AlipayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        provider: str = PROVIDER,
    ) -> None:
        self.provider = provider
        self._http = http_client or httpx.Client(timeout=30.0)
        self._client = AlipayClient.from_config(config, self._http, clock or SystemClock())

    def daily_bill(self, day: date) -> list[BillLine]:
        """The trades and refunds of `day`; a bill Alipay refuses (not made yet, say) is a `ProviderError`."""
        answer = self._client.call(BILL_METHOD, {"bill_type": BILL_TYPE, "bill_date": day.isoformat()})
        if not answer.succeeded:
            raise ProviderError(f"Alipay refused the bill of {day}: {answer.reason}", answer.code)
        url = answer.payload.get("bill_download_url")
        if not isinstance(url, str) or not url:
            raise ProviderError(f"Alipay's answer for the bill of {day} names no bill_download_url")
        return parse_bill(self._download(url))

    def _download(self, url: str) -> bytes:
        try:
            response = self._http.get(url)
        except httpx.HTTPError as error:
            raise ProviderError(f"Alipay's bill could not be downloaded: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise ProviderError(f"Alipay's bill download answered HTTP {response.status_code}")
        return response.content


def parse_bill(archive: bytes) -> list[BillLine]:
    """The lines of the detail file in Alipay's zip."""
    try:
        text = _detail_file(archive).decode("gbk")
    except UnicodeDecodeError as error:
        raise ProviderError(f"Alipay's bill is not GBK text: {error}") from error
    return parse_detail(text)


def parse_detail(text: str) -> list[BillLine]:
    """The detail CSV's lines between its `#` header and footer, by column name: the rows after the header row."""
    rows = _rows(text)
    header = next((row for row in rows if TRADE_NO in row and BUSINESS_TYPE in row), None)
    if header is None:
        raise ProviderError(f"Alipay's bill has no header row naming {TRADE_NO} and {BUSINESS_TYPE}")
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ProviderError(f"Alipay's bill lacks the columns {', '.join(missing)}")
    index = {name: position for position, name in enumerate(header)}
    return [line for row in rows if (line := _line(row, index)) is not None]


def _rows(text: str) -> Iterator[list[str]]:
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if row and not row[0].lstrip().startswith("#"):
            yield [cell.strip() for cell in row]


def _line(row: list[str], index: Mapping[str, int]) -> BillLine | None:
    if len(row) <= max(index[name] for name in COLUMNS):
        return None
    business = row[index[BUSINESS_TYPE]]
    kind = BUSINESS_TYPES.get(business)
    if kind is None:
        log.warning("Alipay's bill has a line of business type %r, which is not reconciled", business)
        return None
    reference = row[index[OUT_TRADE_NO]]
    if kind in REQUEST_NAMED:
        reference = _cell(row, index, REFUND_REQUEST) or reference
    return BillLine(
        kind,
        reference,
        _amount(row[index[ORDER_AMOUNT]]),
        row[index[TRADE_NO]],
        _finished(_cell(row, index, FINISHED_AT)),
    )


def _cell(row: list[str], index: Mapping[str, int], name: str) -> str:
    position = index.get(name)
    return row[position] if position is not None and position < len(row) else ""


def _amount(text: str) -> Decimal:
    try:
        amount = abs(Decimal(text))
    except InvalidOperation:
        raise ProviderError(f"Alipay's bill has an amount {text!r} that is not one") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ProviderError(f"Alipay's bill has an amount {text!r} that is not in whole fen")
    return amount.quantize(CENT)


def _finished(text: str) -> datetime | None:
    try:
        return alipay_openapi.parse_alipay_time(text) if text else None
    except ValueError:
        return None


def _detail_file(archive: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = {_name(info): info for info in zipped.infolist()}
            chosen = _chosen(names)
            return zipped.read(names[chosen])
    except zipfile.BadZipFile as error:
        raise ProviderError(f"Alipay's bill is not a zip: {error}") from error


def _chosen(names: Iterable[str]) -> str:
    details = [name for name in names if DETAIL_FILE in name and SUMMARY_FILE not in name]
    if len(details) != 1:
        raise ProviderError(f"Alipay's bill holds {len(details)} detail files ({DETAIL_FILE}), not one")
    return details[0]


def _name(info: zipfile.ZipInfo) -> str:
    """Alipay names its files in GBK without the zip's UTF-8 flag, which Python then reads as code page 437; a
    name truly read as UTF-8 does not go back into code page 437 and stays as it is."""
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename

"""WeChat Pay's daily trade bill (交易账单), API v3: `GET /v3/bill/tradebill?bill_date=&bill_type=ALL` answers, signed
by the platform, a `download_url` and the SHA1 `hash_value` of the file; the file, asked for with the same signed
`Authorization`, is not signed itself, so its hash is what proves it whole.

The file is a CSV whose first row names the columns and whose every field starts with a backtick; a summary
(总交易单数, …) follows the lines. A line of 交易状态 SUCCESS is a payment of 订单金额 on 商户订单号 (our payment id,
written back in 商户数据包); REFUND is a refund of 申请退款金额 on 商户退款单号 (our refund id), counted once its
退款状态 is SUCCESS. Columns are found by name.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.amounts import CENT
from adapters.china_time import SHANGHAI
from adapters.errors import ProviderError
from adapters.keys import load_private_key, load_public_key
from adapters.payments.wechatpay import (
    PROVIDER,
    SIGNATURE_HEADERS,
    WeChatPayConfig,
    authorization,
    out_trade_no,
    verify_platform_signature,
)
from leasecore.clock import SystemClock
from leasecore.ports import BillLine, Clock, RecordKind

log = logging.getLogger(__name__)

BILL_PATH = "/v3/bill/tradebill"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TRADE_TIME, TRANSACTION_ID, OUT_TRADE_NO, TRADE_STATE = "交易时间", "微信订单号", "商户订单号", "交易状态"
SETTLED_AMOUNT, ORDER_AMOUNT, ATTACH = "应结订单金额", "订单金额", "商户数据包"
REFUND_NO, OUT_REFUND_NO, REFUND_AMOUNT, ASKED_REFUND, REFUND_STATE = (
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "申请退款金额",
    "退款状态",
)
COLUMNS = (TRANSACTION_ID, OUT_TRADE_NO, TRADE_STATE, SETTLED_AMOUNT)
SUMMARY = "总交易单数"
PAID, REFUNDED = "SUCCESS", "REFUND"


class WeChatPayBills:
    """A `BillSource` for a WeChat Pay merchant: the day's trade bill, its hash checked, read line by line."""

    def __init__(
        self,
        config: WeChatPayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        nonces: Callable[[], str] | None = None,
        provider: str = PROVIDER,
    ) -> None:
        self.provider, self.config = provider, config
        self._merchant_key = load_private_key(config.merchant_private_key_pem)
        self._platform_keys = {serial: load_public_key(pem) for serial, pem in config.platform_public_keys.items()}
        self._http = http_client or httpx.Client(timeout=30.0)
        self._clock = clock or SystemClock()
        self._nonces = nonces or (lambda: secrets.token_hex(16))

    def daily_bill(self, day: date) -> list[BillLine]:
        """The payments and refunds of `day`; a refusal (no bill yet: NO_STATEMENT_EXIST) or a file whose hash is
        not the one announced is a `ProviderError`."""
        answer = self._get(f"{BILL_PATH}?bill_date={day.isoformat()}&bill_type=ALL")
        if answer.is_success or all(name in answer.headers for name in SIGNATURE_HEADERS):
            self._verify(answer)
        announced = _payload(answer)
        if not answer.is_success:
            reason = f"{announced.get('code', answer.status_code)}: {announced.get('message', '')}"
            raise ProviderError(f"WeChat Pay refused the bill of {day}: {reason}", str(announced.get("code", "")))
        url, hash_value = announced.get("download_url"), announced.get("hash_value")
        if not isinstance(url, str) or not isinstance(hash_value, str) or announced.get("hash_type", "SHA1") != "SHA1":
            raise ProviderError(f"WeChat Pay's answer for the bill of {day} names no download_url and SHA1 hash_value")
        content = self._download(url)
        if not hmac.compare_digest(hashlib.sha1(content).hexdigest(), hash_value.lower()):
            raise ProviderError(
                f"WeChat Pay's bill of {day} does not have the SHA1 hash announced: incomplete or altered"
            )
        try:
            return parse_bill(content.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise ProviderError(f"WeChat Pay's bill is not UTF-8: {error}") from error

    def _download(self, url: str) -> bytes:
        parts = urlsplit(url)
        response = self._get(
            parts.path + (f"?{parts.query}" if parts.query else ""), base=f"{parts.scheme}://{parts.netloc}"
        )
        if not response.is_success:
            raise ProviderError(f"WeChat Pay's bill download answered HTTP {response.status_code}")
        return response.content

    def _get(self, target: str, base: str | None = None) -> httpx.Response:
        """A GET signed over its path and query, as every v3 request is."""
        timestamp, nonce = str(int(self._clock.now().timestamp())), self._nonces()
        signed = authorization(
            self.config.mchid, self.config.merchant_serial_no, self._merchant_key, "GET", target, timestamp, nonce, b""
        )
        try:
            response = self._http.get((base or self.config.base_url) + target, headers={"Authorization": signed})
        except httpx.HTTPError as error:
            raise ProviderError(f"WeChat Pay is unreachable: {error}") from error
        if response.status_code >= 500:
            raise ProviderError(f"WeChat Pay answered GET {urlsplit(target).path} with HTTP {response.status_code}")
        return response

    def _verify(self, response: httpx.Response) -> None:
        verify_platform_signature(self._platform_keys, self._clock.now(), response.content, response.headers)

def parse_bill(text: str) -> list[BillLine]:
    """The lines of a trade bill, up to its summary."""
    rows = _rows(text)
    header = next(rows, None)
    if header is None or any(name not in header for name in COLUMNS):
        raise ProviderError(f"WeChat Pay's bill does not start with a header naming {', '.join(COLUMNS)}")
    index = {name: position for position, name in enumerate(header)}
    lines: list[BillLine] = []
    for row in rows:
        if row and row[0] == SUMMARY:
            break
        line = _line(row, index)
        if line is not None:
            lines.append(line)
    return lines


def _rows(text: str) -> Iterator[list[str]]:
    for row in csv.reader(io.StringIO(text)):
        if any(cell.strip() for cell in row):
            yield [cell.strip().removeprefix("`").strip() for cell in row]


def _line(row: list[str], index: Mapping[str, int]) -> BillLine | None:
    cell = _cells(row, index)
    state, at = cell(TRADE_STATE), _instant(cell(TRADE_TIME))
    if state == PAID:
        amount = _amount(cell(ORDER_AMOUNT) or cell(SETTLED_AMOUNT))
        return BillLine(
            RecordKind.PAYMENT, _payment_reference(cell(OUT_TRADE_NO), cell(ATTACH)), amount, cell(TRANSACTION_ID), at
        )
    if state == REFUNDED:
        if cell(REFUND_STATE) not in ("", PAID):
            return None
        amount = _amount(cell(ASKED_REFUND) or cell(REFUND_AMOUNT))
        return BillLine(RecordKind.REFUND, cell(OUT_REFUND_NO), amount, cell(REFUND_NO) or cell(TRANSACTION_ID), at)
    log.warning("WeChat Pay's bill has a line of 交易状态 %r, which is not reconciled", state)
    return None


def _cells(row: list[str], index: Mapping[str, int]) -> Callable[[str], str]:
    def cell(name: str) -> str:
        position = index.get(name)
        return row[position] if position is not None and position < len(row) else ""

    return cell


def _payment_reference(trade_no: str, attach: str) -> str:
    """Our payment id: the attach we sent when it names this trade, else the out_trade_no, a UUID's hex read back."""
    if attach and _trade_no_of(attach) == trade_no:
        return attach
    try:
        return str(uuid.UUID(hex=trade_no)) if len(trade_no) == 32 else trade_no
    except ValueError:
        return trade_no


def _trade_no_of(payment_id: str) -> str | None:
    try:
        return out_trade_no(payment_id)
    except ValueError:
        return None


def _amount(text: str) -> Decimal:
    try:
        amount = abs(Decimal(text))
    except InvalidOperation:
        raise ProviderError(f"WeChat Pay's bill has an amount {text!r} that is not one") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ProviderError(f"WeChat Pay's bill has an amount {text!r} that is not in whole fen")
    return amount.quantize(CENT)


def _instant(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


def _payload(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json() if response.content else {}
    except ValueError as error:
        raise ProviderError(f"WeChat Pay's answer is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise ProviderError("WeChat Pay's answer is not a JSON object")
    return payload

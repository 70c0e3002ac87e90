"""Alipay's daily trade bill fetched from a loopback peer that checks the request's RSA2 signature, answers a
signed download URL and serves a zip of a GBK CSV as Alipay does (adapters.payments.alipay_bill)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from decimal import Decimal as D

import pytest

from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.alipay import AlipayConfig
from adapters.payments.alipay_bill import AlipayBills, parse_detail
from leasecore.ports import BillLine, RecordKind
from tests.peers import PeerAnswer, PeerRequest
from tests.peers.alipay import AlipayPeer

APP_ID = "2021004100000001"
METHOD = "alipay.data.dataservice.bill.downloadurl.query"
DAY = date(2026, 1, 30)

HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
    "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
PAID = (
    "2026013022001404011000123456\t,pay-1\t,交易\t,Phone X 256G · 12 months\t,2026-01-30 09:59:40,"
    "2026-01-30 10:00:01,,,,,buyer@example.com,1299.00,1299.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-7.79,0.00,"
)
REFUNDED = (
    "2026012922001404011000120000\t,pay-0\t,退款\t,Phone X 256G · 12 months\t,2026-01-30 15:00:00,"
    "2026-01-30 15:00:02,,,,,buyer@example.com,-300.00,-300.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,rf0123\t,1.80,0.00,"
)
DETAIL = "\n".join(
    [
        "#支付宝业务明细查询",
        "#账号：[20881234567890120156]",
        "#起始日期：[2026年01月30日 00:00:00]   终止日期：[2026年01月31日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        HEADER,
        PAID,
        REFUNDED,
        "#-----------------------------------------业务明细列表结束------------------------------------",
        "#交易合计：1笔，商家实收共1299.00元，商家优惠共0.00元",
        "#退款合计：1笔，商家实收退款共-300.00元，商家优惠退款共0.00元",
        "#导出时间：[2026年01月31日 09:10:23]",
        "",
    ]
)
EXPECTED = [
    BillLine(RecordKind.PAYMENT, "pay-1", D("1299.00"), "2026013022001404011000123456"),
    BillLine(RecordKind.REFUND, "rf0123", D("300.00"), "2026012922001404011000120000"),
]


def bill_zip(detail: str = DETAIL) -> bytes:
    """Alipay's zip: the detail and summary files, named in GBK without the UTF-8 flag."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, text in (
            ("20881234567890120156_20260130_业务明细.csv", detail),
            ("20881234567890120156_20260130_业务明细(汇总).csv", "#汇总\n"),
        ):
            info = zipfile.ZipInfo(name.encode("gbk").decode("cp437"))
            zipped.writestr(info, text.encode("gbk"))
    return buffer.getvalue()


class BillPeer(AlipayPeer):
    """Alipay's gateway for the bill query, and its bill download server, on one loopback port."""

    def __init__(self, provider_key, merchant_key, answer: dict | None = None) -> None:
        super().__init__(merchant_key.public_key(), provider_key, APP_ID, {METHOD: self.download_url})
        if answer is not None:
            self.answers[METHOD] = answer
        self.archive = bill_zip()
        self.route("GET", "/bill")(self.download)

    def download_url(self, biz: dict) -> dict:
        url = f"{self.url}/bill?fileType=csv.zip&bizDates={biz['bill_date']}"
        return {"code": "10000", "msg": "Success", "bill_download_url": url}

    def download(self, request: PeerRequest) -> PeerAnswer:
        return PeerAnswer(200, self.archive, {"Content-Type": "application/oct-stream"})


def bills(peer: BillPeer, merchant_key, provider_key, clock) -> AlipayBills:
    config = AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url=peer.gateway_url,
    )
    return AlipayBills(config, clock=clock)


def test_the_days_bill_is_asked_for_signed_and_read_from_the_zip(merchant_key, provider_key, clock) -> None:
    alipay = BillPeer(provider_key, merchant_key)
    with alipay:
        lines = bills(alipay, merchant_key, provider_key, clock).daily_bill(DAY)
    asked = json.loads(alipay.received[0].form["biz_content"])
    assert asked == {"bill_type": "trade", "bill_date": "2026-01-30"}
    assert [(l.kind, l.reference, l.amount, l.provider_reference) for l in lines] == [
        (e.kind, e.reference, e.amount, e.provider_reference) for e in EXPECTED
    ]
    assert lines[0].at is not None and lines[0].at.isoformat() == "2026-01-30T10:00:01+08:00"
    assert alipay.failures == []


def test_a_bill_alipay_has_not_made_yet_is_a_provider_error_naming_alipays_code(
    merchant_key, provider_key, clock
) -> None:
    refusal = {"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist", "sub_msg": "账单不存在"}
    alipay = BillPeer(provider_key, merchant_key, answer=refusal)
    with alipay, pytest.raises(ProviderError, match="isp.bill_not_exist"):
        bills(alipay, merchant_key, provider_key, clock).daily_bill(DAY)


def test_an_answer_signed_by_another_key_is_not_believed(merchant_key, provider_key, stranger_key, clock) -> None:
    alipay = BillPeer(stranger_key, merchant_key)
    with alipay, pytest.raises(Exception, match="does not verify"):
        bills(alipay, merchant_key, provider_key, clock).daily_bill(DAY)


def test_columns_are_found_by_name_wherever_alipay_puts_them() -> None:
    moved = "支付宝交易号,业务类型,订单金额（元）,商户订单号\n2026013022001,交易,12.50,pay-9\n"
    assert parse_detail(moved) == [BillLine(RecordKind.PAYMENT, "pay-9", D("12.50"), "2026013022001")]


def test_a_bill_without_its_columns_or_with_a_bad_amount_is_refused() -> None:
    with pytest.raises(ProviderError, match="订单金额"):
        parse_detail("支付宝交易号,商户订单号,业务类型\n1,pay-1,交易\n")
    with pytest.raises(ProviderError, match="not one"):
        parse_detail("支付宝交易号,商户订单号,业务类型,订单金额（元）\n1,pay-1,交易,12.x\n")
    with pytest.raises(ProviderError, match="whole fen"):
        parse_detail("支付宝交易号,商户订单号,业务类型,订单金额（元）\n1,pay-1,交易,12.505\n")


def test_fund_authorization_lines_are_read_as_freezes_captures_and_unfreezes_by_their_request_numbers() -> None:
    bill = (
        "支付宝交易号,商户订单号,业务类型,订单金额（元）,退款批次号/请求号\n"
        "2026013110002001440212345678,fz01,预授权冻结,1500.00,fz01\n"
        "2026013122001404011000000009,ft-1,授权转交易,400.00,ft-1\n"
        "2026013110002001440212345678,fz01,预授权解冻,-1100.00,fu-2\n"
    )
    assert [(line.kind, line.reference, line.amount) for line in parse_detail(bill)] == [
        (RecordKind.FREEZE, "fz01", D("1500.00")),
        (RecordKind.CAPTURE, "ft-1", D("400.00")),
        (RecordKind.UNFREEZE, "fu-2", D("1100.00")),
    ]

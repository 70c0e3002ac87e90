"""WeChat Pay's daily trade bill fetched from a loopback peer that checks the merchant's Authorization on both
requests, answers a signed download URL and hash, and serves the backtick CSV (adapters.payments.wechatpay_bill)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date
from decimal import Decimal as D

import pytest

from adapters.errors import ProviderError
from adapters.keys import private_key_pem, public_key_pem
from adapters.payments.wechatpay import WeChatPayConfig
from adapters.payments.wechatpay_bill import WeChatPayBills, parse_bill
from leasecore.ports import BillLine, InvalidSignature, RecordKind
from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

from .conftest import NOW
from .fakes import rsa2_verifies, wechat_signed_headers

MCHID = "1900009191"
MERCHANT_SERIAL = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
PAYMENT_ID = "5f0c8a3e-8f7e-4a6b-9a55-2b1e0c8d7f10"
DAY = date(2026, 1, 30)
AUTHORIZATION = re.compile(
    r'WECHATPAY2-SHA256-RSA2048 mchid="(?P<mchid>[^"]+)",nonce_str="(?P<nonce>[^"]+)",'
    r'signature="(?P<signature>[^"]+)",timestamp="(?P<timestamp>[^"]+)",serial_no="(?P<serial>[^"]+)"'
)
HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
PAID = (
    f"`2026-01-30 10:00:01,`wxd678efh567hg6787,`{MCHID},`0,`,`4200001234202601300000000001,"
    f"`{uuid.UUID(PAYMENT_ID).hex},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`APP,`SUCCESS,`CMB_DEBIT,`CNY,`1299.00,`0.00,`0,`0,"
    f"`0.00,`0.00,`,`,`Phone X 256G,`{PAYMENT_ID},`7.79000,`0.60%,`1299.00,`0.00,`"
)
REFUNDED = (
    f"`2026-01-30 15:00:02,`wxd678efh567hg6787,`{MCHID},`0,`,`4200001234202601290000000009,"
    "`0123456789abcdef0123456789abcdef,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`APP,`REFUND,`CMB_DEBIT,`CNY,`0.00,`0.00,"
    "`50300000000000000000000000001,`rf0123,`300.00,`0.00,`ORIGINAL,`SUCCESS,`Phone X 256G,`,`-1.80000,`0.60%,"
    "`0.00,`300.00,`"
)
PROCESSING = REFUNDED.replace("`rf0123", "`rf0124").replace("`SUCCESS,`Phone", "`PROCESSING,`Phone")
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`3,`1299.00,`600.00,`0.00,`5.99000,`1299.00,`600.00"
)
BILL = "\n".join([HEADER, PAID, REFUNDED, PROCESSING, SUMMARY]).encode()


class WeChatPeer:
    """WeChat Pay's API for the bill and its download, each request's Authorization checked with the merchant key."""

    def __init__(self, provider_key, merchant_key, *, hash_value: str | None = None) -> None:
        self.provider_key, self.merchant_public = provider_key, merchant_key.public_key()
        self.hash_value = hash_value or hashlib.sha1(BILL).hexdigest()
        self.peer = LoopbackPeer(
            {("GET", "/v3/bill/tradebill"): self.tradebill, ("GET", "/v3/billdownload/file"): self.download}
        )

    def authorized(self, request: PeerRequest) -> bool:
        found = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if found is None or (found["mchid"], found["serial"]) != (MCHID, MERCHANT_SERIAL):
            return False
        message = f"GET\n{request.target}\n{found['timestamp']}\n{found['nonce']}\n\n".encode()
        return rsa2_verifies(self.merchant_public, message, found["signature"])

    def tradebill(self, request: PeerRequest) -> PeerAnswer:
        if not self.authorized(request):
            return PeerAnswer.json('{"code":"SIGN_ERROR","message":"签名错误"}', 401)
        if request.query["bill_date"] == "2026-01-31":
            return self.signed('{"code":"NO_STATEMENT_EXIST","message":"账单文件不存在"}', 400)
        assert request.query == {"bill_date": "2026-01-30", "bill_type": "ALL"}
        url = f"{self.peer.url}/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA"
        return self.signed(json.dumps({"hash_type": "SHA1", "hash_value": self.hash_value, "download_url": url}))

    def signed(self, text: str, status: int = 200) -> PeerAnswer:
        headers = wechat_signed_headers(
            self.provider_key, PLATFORM_SERIAL, text.encode(), str(int(NOW.timestamp())), "peer-nonce"
        )
        return PeerAnswer.json(text, status, headers)

    def download(self, request: PeerRequest) -> PeerAnswer:
        if not self.authorized(request):
            return PeerAnswer.json('{"code":"SIGN_ERROR","message":"签名错误"}', 401)
        return PeerAnswer(200, BILL, {"Content-Type": "application/octet-stream"})


def bills(peer: WeChatPeer, merchant_key, provider_key, clock) -> WeChatPayBills:
    config = WeChatPayConfig(
        mchid=MCHID,
        appid="wxd678efh567hg6787",
        merchant_serial_no=MERCHANT_SERIAL,
        merchant_private_key_pem=private_key_pem(merchant_key).decode(),
        platform_public_keys={PLATFORM_SERIAL: public_key_pem(provider_key.public_key()).decode()},
        apiv3_key="0123456789abcdefghijABCDEFGHIJ!!",
        base_url=peer.peer.url,
    )
    return WeChatPayBills(config, clock=clock)


def test_the_days_bill_is_fetched_signed_its_hash_checked_and_read(merchant_key, provider_key, clock) -> None:
    wechat = WeChatPeer(provider_key, merchant_key)
    with wechat.peer:
        lines = bills(wechat, merchant_key, provider_key, clock).daily_bill(DAY)
    assert [(line.kind, line.reference, line.amount, line.provider_reference) for line in lines] == [
        (RecordKind.PAYMENT, PAYMENT_ID, D("1299.00"), "4200001234202601300000000001"),
        (RecordKind.REFUND, "rf0123", D("300.00"), "50300000000000000000000000001"),
    ]
    assert lines[0].at is not None and lines[0].at.isoformat() == "2026-01-30T10:00:01+08:00"
    assert [request.path for request in wechat.peer.received] == ["/v3/bill/tradebill", "/v3/billdownload/file"]
    assert wechat.peer.failures == []


def test_a_file_whose_hash_is_not_the_one_announced_is_refused(merchant_key, provider_key, clock) -> None:
    wechat = WeChatPeer(provider_key, merchant_key, hash_value=hashlib.sha1(b"another bill").hexdigest())
    with wechat.peer, pytest.raises(ProviderError, match="SHA1"):
        bills(wechat, merchant_key, provider_key, clock).daily_bill(DAY)


def test_a_bill_not_made_yet_is_a_provider_error_naming_wechats_code(merchant_key, provider_key, clock) -> None:
    wechat = WeChatPeer(provider_key, merchant_key)
    with wechat.peer, pytest.raises(ProviderError, match="NO_STATEMENT_EXIST"):
        bills(wechat, merchant_key, provider_key, clock).daily_bill(date(2026, 1, 31))


def test_an_announcement_signed_by_another_key_is_not_believed(merchant_key, provider_key, stranger_key, clock) -> None:
    wechat = WeChatPeer(stranger_key, merchant_key)
    with wechat.peer, pytest.raises(InvalidSignature):
        bills(wechat, merchant_key, provider_key, clock).daily_bill(DAY)


def test_a_payment_id_that_is_no_uuid_is_read_back_as_the_out_trade_no() -> None:
    text = "微信订单号,商户订单号,交易状态,应结订单金额\n`42000,`order-77,`SUCCESS,`12.50\n"
    assert parse_bill(text) == [BillLine(RecordKind.PAYMENT, "order-77", D("12.50"), "42000")]


def test_a_bill_without_its_columns_is_refused() -> None:
    with pytest.raises(ProviderError, match="header"):
        parse_bill("交易时间,商户号\n`2026-01-30 10:00:01,`1900009191\n")

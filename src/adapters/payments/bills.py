"""Which configured payment providers make daily bills, and the `BillSource` of each: the sandbox reads its own
records, Alipay and WeChat Pay fetch theirs with the same app or merchant settings as their gateway."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.payments.alipay import AlipayGateway
from adapters.payments.alipay_bill import AlipayBills
from adapters.payments.sandbox import SandboxPayments
from adapters.payments.wechatpay import WeChatPayGateway
from adapters.payments.wechatpay_bill import WeChatPayBills
from leasecore.ports import BillSource, Clock, PaymentGateway


def bill_source(gateway: PaymentGateway, clock: Clock, http_client: httpx.Client | None = None) -> BillSource | None:
    """The bill of the provider behind `gateway`; None for a kind of provider that makes none this platform reads."""
    if isinstance(gateway, SandboxPayments):
        return gateway
    if isinstance(gateway, AlipayGateway):
        return AlipayBills(gateway.config, http_client=http_client, clock=clock, provider=gateway.provider)
    if isinstance(gateway, WeChatPayGateway):
        return WeChatPayBills(gateway.config, http_client=http_client, clock=clock, provider=gateway.provider)
    return None


def bill_sources(
    gateways: Mapping[str, PaymentGateway], clock: Clock, http_client: httpx.Client | None = None
) -> dict[str, BillSource]:
    """One bill source per configured provider that makes bills, by the provider's configured name."""
    sources = {name: bill_source(gateway, clock, http_client) for name, gateway in gateways.items()}
    return {name: source for name, source in sources.items() if source is not None}

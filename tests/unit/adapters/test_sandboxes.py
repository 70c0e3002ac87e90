from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.sandboxes import build_sandboxes
from leasecore.clock import SettableClock
from leasecore.ports import CreditBureau, ESignature, IdentityVerifier, Logistics, PaymentGateway, SmsSender

from .conftest import NOW


def test_every_sandbox_fits_its_port_and_shares_the_clock(clock: SettableClock, tmp_path) -> None:
    sandboxes = build_sandboxes(clock, payments_key_path=tmp_path / "payments.pem")
    gateway: PaymentGateway = sandboxes.payments
    bureau: CreditBureau = sandboxes.bureau
    identity: IdentityVerifier = sandboxes.identity
    sms: SmsSender = sandboxes.sms
    logistics: Logistics = sandboxes.logistics
    esign: ESignature = sandboxes.esign
    clock.advance(timedelta(hours=1))

    gateway.create_payment("pay-1", Decimal("10.00"), "x", "http://leasecore.test/notify/sandbox")
    assert gateway.verify_notification(*sandboxes.payments.notification("pay-1", "success")).paid_at == clock.now()
    assert bureau.score("张三", "11010519491231002X").score == 650
    assert identity.verify("张三", "11010519491231002X", b"id", b"me").verified
    sms.send("13800138000", "hi")
    assert sandboxes.sms.messages()[0].sent_at == NOW + timedelta(hours=1)
    assert logistics.track("SF", "1").events == ()
    assert esign.sign(UUID(int=1), "张三", "11010519491231002X", "text").signed_at == NOW + timedelta(hours=1)
    assert isinstance(sandboxes.payments.public_key, rsa.RSAPublicKey)
    assert (tmp_path / "payments.pem").exists()

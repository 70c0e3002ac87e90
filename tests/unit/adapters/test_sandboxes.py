from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.errors import SmsFailed
from adapters.sandbox_store import MemorySandboxStore
from adapters.sandboxes import build_sandboxes
from leasecore.clock import SettableClock
from leasecore.ports import (
    CreditBureau,
    ESignature,
    IdentityVerifier,
    Logistics,
    PaymentGateway,
    PaymentState,
    SmsSender,
)

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


def test_sandboxes_sharing_a_store_are_one_sandbox(clock: SettableClock) -> None:
    """Two processes' sandboxes on one store: what one records, the other knows and moves on from."""
    store = MemorySandboxStore()
    pushed: list[bytes] = []
    one, other = (
        build_sandboxes(clock, store=store, deliver=lambda b, h: None, deliver_push=lambda b, h: pushed.append(b))
        for _ in range(2)
    )
    person = "11010519491231002X"

    one.payments.create_payment("pay-1", Decimal("10.00"), "x", "http://leasecore.test/notify/sandbox")
    other.payments.complete("pay-1", "success")
    assert one.payments.query_payment("pay-1").state is PaymentState.PAID
    assert other.payments.public_key_pem() == one.payments.public_key_pem()
    assert one.payments.refund("pay-1", "r-1", Decimal("4.00")).accepted
    assert not other.payments.refund("pay-1", "r-2", Decimal("7.00")).accepted
    assert other.payments.payment("pay-1").refundable == Decimal("6.00")

    one.payments.create_freeze("f-1", Decimal("100.00"), "deposit", "http://leasecore.test/notify/sandbox")
    other.payments.freeze("f-1", Decimal("20.00"))
    auth_no = one.payments.freeze_book.freezes["f-1"].auth_no
    assert other.payments.unfreeze(auth_no, "u-1", Decimal("80.00"), "returned").accepted
    assert not one.payments.unfreeze(auth_no, "u-2", Decimal("0.01"), "again").accepted

    one.sms.send("13800138000", "one")
    other.sms.send("138-0013-8000", "two")
    assert [m.message_id for m in other.sms.messages("13800138000")] == ["sandbox-sms-000001", "sandbox-sms-000002"]
    other.sms.fail_phone("13800138000")
    with pytest.raises(SmsFailed):
        one.sms.send("13800138000", "three")

    one.bureau.set_score(person, 720)
    assert other.bureau.score("张三", person).score == 720
    one.identity.fail_face_match(person)
    assert not other.identity.verify("张三", person, b"id", b"me").verified
    assert one.identity.verify("李四", "110105194912310037", b"id", b"me").reference == "sandbox-idv-000002"

    one.logistics.subscribe("SF", "sf1", "http://leasecore.test/notify/sandbox")
    other.logistics.mark_delivered("SF", "SF1")
    assert one.logistics.track("sf", "SF1").delivered
    assert len(pushed) == 1

    signed = one.esign.sign(UUID(int=1), "张三", person, "text")
    assert other.esign.signing_outcome(signed.contract_id).completed
    assert other.esign.matches(UUID(int=1), "text")

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.errors import SigningRefused
from adapters.esign.sandbox import SandboxESignature
from leasecore.ports import InvalidSignature

from .conftest import NOW

ORDER = UUID("0b3c1f0e-7d4a-4e4b-9a0c-5f6d7e8f9a01")
OTHER_ORDER = UUID("1c4d2a1f-8e5b-4f5c-8b1d-6a7e8f9a0b12")
VALID = "11010519491231002X"
TEXT = "租赁合同 · Phone X 256G · 12 个月 · 月租 329.00 元"


@pytest.fixture
def esign(clock):
    return SandboxESignature(clock)


def test_a_signed_contract_carries_an_id_the_clock_time_and_the_text_digest(esign):
    signed = esign.sign(ORDER, "张三", "11010519491231002x", TEXT)

    digest = hashlib.sha256(TEXT.encode()).hexdigest()
    assert signed.contract_id == "sandbox-contract-0b3c1f0e7d4a4e4b9a0c5f6d7e8f9a01"
    assert signed.signed_at == NOW
    assert signed.document_url == (
        f"https://sandbox.leasecore.invalid/contracts/sandbox-contract-0b3c1f0e7d4a4e4b9a0c5f6d7e8f9a01.pdf?sha256={digest}"
    )
    contract = esign.contract(ORDER)
    assert (contract.signer_name, contract.signer_id_number, contract.sha256) == ("张三", VALID, digest)
    assert esign.matches(ORDER, TEXT)
    assert not esign.matches(ORDER, TEXT.replace("329.00", "32.90"))


def test_signing_the_same_order_again_returns_the_same_contract(esign, clock):
    first = esign.sign(ORDER, "张三", VALID, TEXT)
    clock.advance(timedelta(days=1))

    assert esign.sign(ORDER, "张三", VALID, TEXT) == first
    assert esign.sign(ORDER, "张三", VALID, "another text") == first
    assert esign.contract(ORDER).text == TEXT


def test_each_order_gets_its_own_contract(esign, clock):
    first = esign.sign(ORDER, "张三", VALID, TEXT)
    clock.advance(timedelta(minutes=1))
    second = esign.sign(OTHER_ORDER, "张三", VALID, TEXT)
    assert first.contract_id != second.contract_id
    assert second.signed_at == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("name", "id_number", "text", "reason"),
    [
        (" ", VALID, TEXT, "the signer has no name"),
        ("张三", "110105194912310021", TEXT, "the signer's ID number fails the GB 11643 check digit"),
        ("张三", VALID, "  ", "the contract has no text"),
    ],
)
def test_an_unsignable_contract_is_refused_and_not_kept(esign, name, id_number, text, reason):
    with pytest.raises(SigningRefused, match=reason):
        esign.sign(ORDER, name, id_number, text)
    with pytest.raises(KeyError):
        esign.contract(ORDER)
    assert esign.sign(ORDER, "张三", VALID, TEXT).signed_at == NOW


def test_a_sandbox_sign_flow_is_complete_at_once_and_its_document_is_the_texts_digest(esign):
    session = esign.start_signing(ORDER, "张三", VALID, "13900000001", TEXT, "/v1/esign/notify/sandbox")
    assert session.completed and session.flow_id == esign.sign(ORDER, "张三", VALID, TEXT).contract_id
    assert esign.resume_signing(session.flow_id, "13900000001").completed
    assert esign.signing_outcome(session.flow_id).completed
    document = esign.signed_document(session.flow_id)
    assert document.sha256 == hashlib.sha256(TEXT.encode()).hexdigest()
    assert document.document_id == f"{session.flow_id}.pdf"


def test_the_sandbox_sends_no_callbacks_and_knows_no_other_flows(esign):
    with pytest.raises(InvalidSignature):
        esign.verify_callback(b"{}", {})
    with pytest.raises(SigningRefused):
        esign.signed_document("flow-from-elsewhere")

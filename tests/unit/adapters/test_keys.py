from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from adapters.keys import (
    load_or_create_private_key,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    sign_rsa2,
    verify_rsa2,
)


def test_rsa2_signature_verifies_only_for_the_same_message_and_key(merchant_key, stranger_key):
    signature = sign_rsa2(merchant_key, b"a=1&b=2")
    assert verify_rsa2(merchant_key.public_key(), b"a=1&b=2", signature)
    assert not verify_rsa2(merchant_key.public_key(), b"a=1&b=3", signature)
    assert not verify_rsa2(stranger_key.public_key(), b"a=1&b=2", signature)
    assert not verify_rsa2(merchant_key.public_key(), b"a=1&b=2", "not base64!")
    assert not verify_rsa2(merchant_key.public_key(), b"a=1&b=2", "")


def test_keys_load_from_pem_and_from_the_bare_base64_a_console_hands_out(merchant_key):
    pem = private_key_pem(merchant_key)
    bare_private = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    bare_public = b"".join(line for line in public_key_pem(merchant_key.public_key()).splitlines()[1:-1])
    signature = sign_rsa2(load_private_key(bare_private), b"x")
    assert verify_rsa2(load_public_key(bare_public.decode()), b"x", signature)
    assert verify_rsa2(
        load_public_key(public_key_pem(merchant_key.public_key())), b"x", sign_rsa2(load_private_key(pem), b"x")
    )


def test_a_public_key_loads_from_a_platform_certificate(provider_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(provider_key.public_key())
        .serial_number(0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(provider_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    assert verify_rsa2(load_public_key(pem), b"m", sign_rsa2(provider_key, b"m"))


def test_a_key_saved_once_is_the_key_loaded_after_a_restart(tmp_path):
    path = tmp_path / "keys" / "sandbox.pem"
    first = load_or_create_private_key(path)
    second = load_or_create_private_key(path)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_rsa2(second.public_key(), b"m", sign_rsa2(first, b"m"))
    assert list(path.parent.iterdir()) == [path]
    assert base64.b64decode(sign_rsa2(first, b"m"))

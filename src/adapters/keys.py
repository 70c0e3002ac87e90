"""RSA keys and SHA256withRSA ("RSA2") signatures, all through `cryptography`."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537


def generate_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key, as the providers require."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


def load_private_key(text: str | bytes) -> rsa.RSAPrivateKey:
    """A PEM private key (PKCS#1 or PKCS#8), or the bare base64 body a provider's console hands out."""
    data = _as_bytes(text)
    if b"-----BEGIN" in data:
        key = serialization.load_pem_private_key(data, password=None)
    else:
        key = serialization.load_der_private_key(_bare_base64(data), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return key


def load_public_key(text: str | bytes) -> rsa.RSAPublicKey:
    """A PEM public key, an X.509 certificate PEM, or a bare base64 public key body."""
    data = _as_bytes(text)
    key: object
    if b"-----BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    elif b"-----BEGIN" in data:
        key = serialization.load_pem_public_key(data)
    else:
        key = serialization.load_der_public_key(_bare_base64(data))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the public key is not an RSA key")
    return key


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_or_create_private_key(path: Path | str) -> rsa.RSAPrivateKey:
    """The key saved at `path`, or a new one saved there first, so that restarts keep the same key."""
    target = Path(path)
    if target.exists():
        return load_private_key(target.read_bytes())
    key = generate_private_key()
    if _save_exclusively(target, private_key_pem(key)):
        return key
    return load_private_key(target.read_bytes())


def sign_rsa2(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 of the SHA256withRSA (PKCS#1 v1.5) signature of `message`."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify_rsa2(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """True only when `signature` is the base64 SHA256withRSA signature of `message` by that key."""
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (CryptoInvalidSignature, binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("ascii") if isinstance(text, str) else text


def _bare_base64(data: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except binascii.Error as error:
        raise ValueError("the key is neither PEM nor base64") from error


def _save_exclusively(target: Path, pem: bytes) -> bool:
    """Write the file whole, readable by its owner only; False when another process saved one first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        os.link(temporary, target)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True

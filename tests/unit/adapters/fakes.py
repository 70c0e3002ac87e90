"""The provider's side of the wire, written independently of the adapters so that tests check them."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def rsa2(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verifies(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def alipay_answer(method: str, payload: dict[str, Any], key: rsa.RSAPrivateKey | None, spacing: str = " ") -> str:
    """An open-platform answer as Alipay writes it: the member's raw text is what gets signed."""
    member = method.replace(".", "_") + "_response"
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":" + spacing))
    signature = f',"sign":"{rsa2(key, content.encode())}"' if key is not None else ""
    return f'{{"{member}":{spacing}{content}{signature}}}'


def wechat_signed_headers(
    key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: str, nonce: str
) -> dict[str, str]:
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa2(key, message),
        "Wechatpay-Serial": serial,
    }


def wechat_resource(apiv3_key: bytes, plaintext: dict[str, Any], nonce: str, associated_data: str) -> dict[str, str]:
    ciphertext = AESGCM(apiv3_key).encrypt(nonce.encode(), json.dumps(plaintext).encode(), associated_data.encode())
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }

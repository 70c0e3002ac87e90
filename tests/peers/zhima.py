"""A Sesame credit (芝麻信用) peer: the Alipay open-platform gateway answering `zhima.credit.score.get` from the
scores it was given by ID number, signed as Alipay signs; a person it knows no score for is refused as Sesame
refuses (`ZMCREDIT.authentication_fail`)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.peers.alipay import AlipayPeer

METHOD = "zhima.credit.score.get"
APP_ID = "2021004100000002"
PRODUCT_CODE = "w1010100100000000001"


class ZhimaPeer(AlipayPeer):
    """`scores` by ID number (upper-case X); each answer's biz_no is numbered in the order asked."""

    def __init__(self, app_public_key: rsa.RSAPublicKey, alipay_key: rsa.RSAPrivateKey, app_id: str = APP_ID) -> None:
        super().__init__(app_public_key, alipay_key, app_id, {METHOD: self._score})
        self.scores: dict[str, int] = {}

    def _score(self, biz: dict[str, Any]) -> dict[str, Any]:
        assert (biz["product_code"], biz["cert_type"]) == (PRODUCT_CODE, "IDENTITY_CARD"), biz
        assert biz["transaction_id"] and biz["name"], biz
        score = self.scores.get(biz["cert_no"])
        if score is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ZMCREDIT.authentication_fail"}
        biz_no = f"ZM2026013130000000{len(self.calls(METHOD)):014d}"
        return {"code": "10000", "msg": "Success", "biz_no": biz_no, "zm_score": str(score)}

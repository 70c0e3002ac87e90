"""A Sesame-style credit score (芝麻信用分) fetched with `zhima.credit.score.get`, signed and verified like Alipay."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import httpx

from adapters import alipay_openapi
from adapters.alipay_openapi import AlipayClient, AlipayConfig
from adapters.credit_bureau.sandbox import require_score
from adapters.errors import BureauError
from adapters.identity.gb11643 import normalize_id_number
from leasecore.clock import SystemClock
from leasecore.ports import BureauScore, Clock

PROVIDER = "zhima"
SCORE_METHOD = "zhima.credit.score.get"
PRODUCT_CODE = "w1010100100000000001"

SETTINGS = replace(alipay_openapi.SETTINGS, display_name="芝麻信用")
"""Sesame credit is asked through an Alipay open-platform app, configured as one."""


class ZhimaBureau:
    """A `CreditBureau` asking Sesame credit for a person's score by name and ID number."""

    def __init__(
        self,
        config: AlipayConfig,
        *,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        transaction_ids: Callable[[], str] | None = None,
        product_code: str = PRODUCT_CODE,
    ) -> None:
        self._client = AlipayClient.from_config(config, http_client, clock or SystemClock())
        self._transaction_ids = transaction_ids or (lambda: uuid.uuid4().hex)
        self._product_code = product_code

    def score(self, name: str, id_number: str) -> BureauScore:
        """A score is believed only from a verified, successful answer within 350–950."""
        biz_content = {
            "transaction_id": self._transaction_ids(),
            "product_code": self._product_code,
            "cert_type": "IDENTITY_CARD",
            "cert_no": normalize_id_number(id_number),
            "name": name.strip(),
        }
        answer = self._client.call(SCORE_METHOD, biz_content)
        if not answer.succeeded:
            raise BureauError(f"Sesame credit gave no score: {answer.reason}", answer.code)
        return BureauScore(_score(answer.payload.get("zm_score")), PROVIDER, str(answer.payload.get("biz_no", "")))


def _score(value: object) -> int:
    try:
        return require_score(int(str(value)))
    except (TypeError, ValueError) as error:
        raise BureauError(f"Sesame credit answered an impossible score {value!r}") from error

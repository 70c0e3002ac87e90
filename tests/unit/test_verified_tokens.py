"""A process checks a bearer token's signature and claims once and keeps the answer (at most `VERIFIED_TOKENS`),
while expiry is still read from the clock on every use, and a token that fails the check is never kept."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import jwt
import pytest

from api.http.auth import VERIFIED_TOKENS, AuthPolicy, Tokens
from api.http.errors import ApiError
from leasecore.clock import SettableClock
from tests.support import START

SECRET, OTHER_SECRET = "s" * 32, "o" * 32


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_kept_token_is_still_refused_once_it_has_expired() -> None:
    clock = SettableClock(START)
    tokens = Tokens(SECRET, clock, AuthPolicy(customer_token_ttl=timedelta(hours=1)))
    customer_id = uuid4()
    token, _ = tokens.for_customer(customer_id)
    assert tokens.principal(bearer(token)).subject == str(customer_id)
    assert tokens.principal(bearer(token)).subject == str(customer_id)
    assert tokens._signed.cache_info().hits == 1
    clock.advance(timedelta(hours=1))
    with pytest.raises(ApiError, match="expired"):
        tokens.principal(bearer(token))


def test_a_token_signed_with_another_secret_is_refused_every_time_and_not_kept() -> None:
    clock = SettableClock(START)
    tokens = Tokens(SECRET, clock, AuthPolicy())
    genuine, _ = tokens.for_customer(uuid4())
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode(claims, OTHER_SECRET, algorithm="HS256")
    for _ in range(3):
        with pytest.raises(ApiError, match="not valid"):
            tokens.principal(bearer(forged))
    assert tokens._signed.cache_info().currsize == 0


def test_the_kept_tokens_are_bounded() -> None:
    tokens = Tokens(SECRET, SettableClock(START), AuthPolicy())
    assert tokens._signed.cache_info().maxsize == VERIFIED_TOKENS == 4096

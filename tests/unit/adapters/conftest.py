"""Keys generated once per test session, and a settable clock at a known instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.keys import generate_private_key
from leasecore.clock import SettableClock

NOW = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def merchant_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def provider_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def stranger_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(NOW)

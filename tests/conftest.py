"""Shared fixtures: storage backends (memory, SQLite, PostgreSQL), the test clock, a small world."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import pytest
import sqlalchemy
from hypothesis import HealthCheck, settings

settings.register_profile(
    "leasecore",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("leasecore")

POSTGRES_URL = os.environ.get("LEASECORE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("LEASECORE_REQUIRE_POSTGRES") == "1"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose tables live in a fresh schema, dropped afterwards.

    Unreachable PostgreSQL skips the test, or fails it when LEASECORE_REQUIRE_POSTGRES=1 (CI)."""
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    schema = f"t_{uuid4().hex[:16]}"
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    except sqlalchemy.exc.OperationalError as error:
        engine.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error.orig}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/leasecore.db"

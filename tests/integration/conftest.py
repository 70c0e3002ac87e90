"""What integration tests share: a small world on the in-memory store, for tests whose storage does not matter
(a test module or class that names its own `world` uses that one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.bootstrap import application
from leasecore.clock import SettableClock
from tests.support import START, World, build_world, close


@pytest.fixture
def world() -> Iterator[World]:
    clock = SettableClock(START)
    app = application("memory:", clock=clock)
    try:
        yield build_world(app, clock)
    finally:
        close(app)

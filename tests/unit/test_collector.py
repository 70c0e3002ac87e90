"""The garbage collector's young generation is collected every 10,000 allocations in every process the platform
runs (the default 700 made a command run several collections that walked the long-lived caches again), and a
threshold set higher already is kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.bootstrap import YOUNG_COLLECTION, bootstrap


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_platform_collects_the_young_generation_less_often() -> None:
    gc.set_threshold(700, 10, 10)
    platform = bootstrap("memory:")
    platform.close()
    assert gc.get_threshold() == (YOUNG_COLLECTION, 10, 10)


def test_a_higher_threshold_set_before_is_kept() -> None:
    gc.set_threshold(50_000, 5, 7)
    platform = bootstrap("memory:")
    platform.close()
    assert gc.get_threshold() == (50_000, 5, 7)

"""Every cache a service process keeps in memory has a configured bound: the leases the read models' runner keeps
folded for their ledgers and the application's aggregate cache never hold more than their bound, and what they
answer after dropping the least recently used is what an unbounded one answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any
from uuid import uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bootstrap import AGGREGATE_CACHE, Settings, application, build_service
from leasecore import values
from leasecore.application import LeaseApplication
from leasecore.lease import Lease
from leasecore.values import DERIVED_IDS, NAMESPACE, derived_id
from projections.ledgers import KEPT, LeaseLedgers
from tests.unit.test_lease import T0, leasing

LEASES = 5


def stored_history(payments: list[int]) -> tuple[LeaseApplication, list[Any]]:
    """Five leases saved in turn, then rent paid on them in the order `payments` names (so their events interleave
    in the log); the application and every event in log order."""
    app = application("memory:")
    leases = [leasing() for _ in range(LEASES)]
    app.save(*leases)
    for n, which in enumerate(payments):
        lease = app.repository.get(leases[which].id)
        assert isinstance(lease, Lease)
        at = T0 + timedelta(days=n)
        lease.pay_rent(f"rent-{n}", D("10.00"), at, at)
        app.save(lease)
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]
    return app, events


def batches(events: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


@settings(max_examples=30, deadline=None)
@given(
    payments=st.lists(st.integers(0, LEASES - 1), min_size=1, max_size=25),
    kept=st.integers(1, LEASES),
    size=st.integers(1, 12),
)
def test_the_ledger_cache_keeps_at_most_its_bound_and_folds_as_an_unbounded_one(
    payments: list[int], kept: int, size: int
) -> None:
    app, events = stored_history(payments)
    bounded, unbounded = LeaseLedgers(app, kept), LeaseLedgers(app, 1000)
    for batch in batches(events, size):
        assert bounded.after(batch) == unbounded.after(batch)
        assert len(bounded) <= kept
    assert len(unbounded) == LEASES and unbounded.loads == 0
    if kept < LEASES and len(set(payments)) == LEASES:
        assert bounded.loads > 0


def test_a_ledger_cache_keeps_one_lease_at_least() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LeaseLedgers(application("memory:"), 0)


def test_the_bounds_are_configured_and_default_to_a_few_thousand() -> None:
    defaults = Settings.from_env({}, database_url="memory:")
    assert (defaults.aggregate_cache, defaults.ledger_cache) == (AGGREGATE_CACHE, KEPT) == (10_000, 1000)
    chosen = Settings.from_env(
        {"LEASECORE_AGGREGATE_CACHE": "50", "LEASECORE_LEDGER_CACHE": "20"}, database_url="memory:"
    )
    assert (chosen.aggregate_cache, chosen.ledger_cache) == (50, 20)
    for name in ("LEASECORE_AGGREGATE_CACHE", "LEASECORE_LEDGER_CACHE"):
        for wrong in ("0", "-3", "many", "1.5"):
            with pytest.raises(ValueError, match=f"{name} is a whole number above 0"):
                Settings.from_env({name: wrong}, database_url="memory:")


def test_the_service_s_aggregate_cache_keeps_at_most_its_bound_and_loads_what_it_dropped() -> None:
    service = build_service(Settings(database_url="memory:", aggregate_cache=3, ledger_cache=2))
    try:
        app = service.app
        assert service.platform.runner.ledgers.kept == 2
        customers = [app.register_customer(f"1390000{n:04d}") for n in range(8)]
        cache: Any = app.repository.cache
        assert cache.maxsize == 3 and len(cache.cache) <= 3
        for n, customer in enumerate(customers):
            assert app.customer(customer).phone == f"1390000{n:04d}"
            assert len(cache.cache) <= 3
    finally:
        service.close()


@settings(max_examples=200)
@given(
    kind=st.sampled_from(["unit", "inventory", "credit"]),
    parts=st.lists(
        st.one_of(
            st.uuids(),
            st.text(max_size=12),
            st.integers(),
            st.booleans(),
            st.decimals(allow_nan=False, allow_infinity=False),
        ),
        max_size=3,
    ),
)
def test_derived_ids_kept_worked_out_are_those_derived_afresh_and_the_bound_holds(
    kind: str, parts: list[object]
) -> None:
    assert derived_id(kind, *parts) == uuid5(NAMESPACE, "/".join([kind, *map(str, parts)]))
    assert values._derived.cache_info().maxsize == DERIVED_IDS
    assert values._derived.cache_info().currsize <= DERIVED_IDS


def test_parts_equal_but_printed_differently_derive_ids_of_their_own() -> None:
    assert derived_id("unit", 1) != derived_id("unit", True)
    assert derived_id("unit", D("1.0")) != derived_id("unit", D("1.00"))
    assert derived_id("unit", 1) == derived_id("unit", "1")  # the text is the key, as it always was

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.errors import ParcelStateConflict
from adapters.logistics.sandbox import ParcelStage, SandboxLogistics

from .conftest import NOW


@pytest.fixture
def logistics(clock):
    return SandboxLogistics(clock)


def test_an_unknown_parcel_has_no_events_and_is_not_delivered(logistics):
    status = logistics.track("SF", "SF1234567890")
    assert (status.carrier, status.tracking_no, status.delivered, status.events) == ("SF", "SF1234567890", False, ())


def test_a_parcel_moves_from_pickup_through_transit_to_delivery(logistics, clock):
    logistics.mark_picked_up("SF", "SF1234567890", "深圳南山")
    clock.advance(timedelta(hours=5))
    logistics.mark_in_transit("SF", "SF1234567890", "深圳转运中心")
    clock.advance(timedelta(hours=8))
    logistics.mark_in_transit("SF", "SF1234567890", "北京转运中心")
    assert logistics.track("SF", "SF1234567890").delivered is False
    clock.advance(timedelta(hours=3))
    status = logistics.mark_delivered("SF", "SF1234567890", "北京朝阳")

    assert status.delivered is True
    assert status.events == (
        "2026-01-31T10:00:00+08:00 picked_up 深圳南山",
        "2026-01-31T15:00:00+08:00 in_transit 深圳转运中心",
        "2026-01-31T23:00:00+08:00 in_transit 北京转运中心",
        "2026-02-01T02:00:00+08:00 delivered 北京朝阳",
    )
    events = logistics.events("sf", " sf1234567890 ")
    assert [e.stage for e in events] == [
        ParcelStage.PICKED_UP,
        ParcelStage.IN_TRANSIT,
        ParcelStage.IN_TRANSIT,
        ParcelStage.DELIVERED,
    ]
    assert events[-1].at == NOW + timedelta(hours=16)


def test_parcels_are_told_apart_by_carrier_and_number(logistics):
    logistics.mark_delivered("SF", "A1")
    assert logistics.track("SF", "A1").delivered
    assert not logistics.track("JD", "A1").delivered
    assert not logistics.track("SF", "A2").delivered


def test_a_parcel_never_goes_back_nor_moves_after_delivery(logistics):
    logistics.mark_in_transit("SF", "A1")
    with pytest.raises(ParcelStateConflict, match="in_transit; it cannot be picked_up"):
        logistics.mark_picked_up("SF", "A1")
    logistics.mark_delivered("SF", "A1")
    with pytest.raises(ParcelStateConflict, match="delivered; it cannot be delivered"):
        logistics.mark_delivered("SF", "A1")
    with pytest.raises(ParcelStateConflict):
        logistics.mark_in_transit("SF", "A1")
    assert len(logistics.events("SF", "A1")) == 2

"""The sandbox carrier: parcels that tests move from picked up through in transit to delivered."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from adapters.china_time import SHANGHAI
from adapters.errors import ParcelStateConflict
from leasecore.clock import SystemClock
from leasecore.ports import Clock, TrackingStatus


class ParcelStage(Enum):
    PICKED_UP = 1
    IN_TRANSIT = 2
    DELIVERED = 3


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    stage: ParcelStage
    location: str = ""

    def describe(self) -> str:
        """One line as a carrier's tracking page shows it, in China time."""
        at = self.at.astimezone(SHANGHAI).isoformat(timespec="seconds")
        return " ".join(part for part in (at, self.stage.name.lower(), self.location) if part)


class SandboxLogistics:
    """A `Logistics` port whose parcels move only when told; an unknown parcel has no events yet."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._parcels: dict[tuple[str, str], list[TrackingEvent]] = {}
        self._lock = threading.Lock()

    def track(self, carrier: str, tracking_no: str) -> TrackingStatus:
        events = self.events(carrier, tracking_no)
        delivered = bool(events) and events[-1].stage is ParcelStage.DELIVERED
        return TrackingStatus(carrier, tracking_no, delivered, tuple(event.describe() for event in events))

    def events(self, carrier: str, tracking_no: str) -> list[TrackingEvent]:
        with self._lock:
            return list(self._parcels.get(_key(carrier, tracking_no), ()))

    def mark_picked_up(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.PICKED_UP, location)

    def mark_in_transit(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.IN_TRANSIT, location)

    def mark_delivered(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.DELIVERED, location)

    def _move(self, carrier: str, tracking_no: str, stage: ParcelStage, location: str) -> TrackingStatus:
        """A parcel moves forward (stages may be skipped, transit scans repeat) and never after delivery."""
        with self._lock:
            events = self._parcels.setdefault(_key(carrier, tracking_no), [])
            if events:
                _require_forward(tracking_no, events[-1].stage, stage)
            events.append(TrackingEvent(self._clock.now(), stage, location))
        return self.track(carrier, tracking_no)


def _require_forward(tracking_no: str, last: ParcelStage, stage: ParcelStage) -> None:
    repeatable = last is stage is ParcelStage.IN_TRANSIT
    if last is ParcelStage.DELIVERED or (stage.value <= last.value and not repeatable):
        raise ParcelStateConflict(f"parcel {tracking_no} is {last.name.lower()}; it cannot be {stage.name.lower()}")


def _key(carrier: str, tracking_no: str) -> tuple[str, str]:
    return carrier.strip().lower(), tracking_no.strip().upper()

"""The sandbox carrier: parcels that tests move from picked up through in transit to delivered, and that push each
move to whoever subscribed to them, in Kdniao's signed form (the sandbox's own account and AppKey)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import httpx

from adapters.china_time import SHANGHAI
from adapters.errors import DeliveryFailed, ParcelStateConflict
from adapters.logistics import kdniao
from adapters.sandbox_store import MemorySandboxStore, SandboxStore, from_document, to_document
from leasecore.clock import SystemClock
from leasecore.ports import Acknowledgement, Clock, TrackingStatus

PROVIDER = "sandbox"
SANDBOX_BUSINESS_ID = "sandbox"
SANDBOX_APP_KEY = "sandbox-kdniao-app-key"
"""The account and AppKey the sandbox carrier signs its pushes with: it needs no configuration."""

Deliver = Callable[[bytes, Mapping[str, str]], None]
"""Hands a push to the service in process (instead of posting it to the callback URL)."""

PARCEL, SUBSCRIBER = "parcel", "parcel-subscriber"
"""The kinds of document the sandbox carrier keeps, each under `carrier/tracking_no`: a parcel's events, and where
its moves are pushed."""


class ParcelStage(Enum):
    PICKED_UP = 1
    IN_TRANSIT = 2
    DELIVERED = 3


KDNIAO_STATE = {ParcelStage.PICKED_UP: "1", ParcelStage.IN_TRANSIT: "2", ParcelStage.DELIVERED: kdniao.SIGNED_FOR}
"""Each stage as Kdniao's `State` says it (0 is no trace yet)."""


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    stage: ParcelStage
    location: str = ""

    def describe(self) -> str:
        """One line as a carrier's tracking page shows it, in China time."""
        at = self.at.astimezone(SHANGHAI).isoformat(timespec="seconds")
        return " ".join(part for part in (at, self.station()) if part)

    def station(self) -> str:
        """What happened where, without when."""
        return " ".join(part for part in (self.stage.name.lower(), self.location) if part)


class SandboxLogistics:
    """A `Logistics` port whose parcels move only when told; an unknown parcel has no events yet."""

    provider = PROVIDER

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        deliver: Deliver | None = None,
        http_client: httpx.Client | None = None,
        store: SandboxStore | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._store: SandboxStore = store or MemorySandboxStore()
        self._deliver, self._http = deliver, http_client

    def track(self, carrier: str, tracking_no: str) -> TrackingStatus:
        events = self.events(carrier, tracking_no)
        delivered = bool(events) and events[-1].stage is ParcelStage.DELIVERED
        return TrackingStatus(carrier, tracking_no, delivered, tuple(event.describe() for event in events))

    def subscribe(self, carrier: str, tracking_no: str, callback_url: str) -> None:
        """Every later move of the parcel is pushed to `callback_url`; subscribing again changes where."""
        with self._store.transaction() as documents:
            documents.put(SUBSCRIBER, _key(carrier, tracking_no), {"callback_url": callback_url})

    def subscriber(self, carrier: str, tracking_no: str) -> str | None:
        document = self._store.get(SUBSCRIBER, _key(carrier, tracking_no))
        return None if document is None else str(document["callback_url"])

    def verify_push(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingStatus]:
        return kdniao.read_push(body, SANDBOX_BUSINESS_ID, SANDBOX_APP_KEY)

    def push_acknowledgement(self) -> Acknowledgement:
        return kdniao.push_answer(SANDBOX_BUSINESS_ID, self._clock.now())

    def push(self, carrier: str, tracking_no: str) -> tuple[bytes, dict[str, str]]:
        """The signed push of where the parcel is now, as Kdniao would send it."""
        status = self.track(carrier, tracking_no)
        events = self.events(carrier, tracking_no)
        parcel = {
            "ShipperCode": status.carrier,
            "LogisticCode": status.tracking_no,
            "Success": True,
            "State": KDNIAO_STATE[events[-1].stage] if events else "0",
            "Traces": [
                {"AcceptTime": kdniao.china_time(event.at), "AcceptStation": event.station()} for event in events
            ],
        }
        now = kdniao.china_time(self._clock.now())
        data = {"EBusinessID": SANDBOX_BUSINESS_ID, "PushTime": now, "Count": "1", "Data": [parcel]}
        request_data = json.dumps(data, ensure_ascii=False)
        body = kdniao.signed_form(kdniao.PUSH, request_data, SANDBOX_BUSINESS_ID, SANDBOX_APP_KEY)
        return body, {"Content-Type": kdniao.FORM_CONTENT_TYPE}

    def events(self, carrier: str, tracking_no: str) -> list[TrackingEvent]:
        return _events(self._store.get(PARCEL, _key(carrier, tracking_no)))

    def mark_picked_up(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.PICKED_UP, location)

    def mark_in_transit(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.IN_TRANSIT, location)

    def mark_delivered(self, carrier: str, tracking_no: str, location: str = "") -> TrackingStatus:
        return self._move(carrier, tracking_no, ParcelStage.DELIVERED, location)

    def _move(self, carrier: str, tracking_no: str, stage: ParcelStage, location: str) -> TrackingStatus:
        """A parcel moves forward (stages may be skipped, transit scans repeat) and never after delivery."""
        key = _key(carrier, tracking_no)
        with self._store.transaction() as documents:
            events = _events(documents.get(PARCEL, key))
            if events:
                _require_forward(tracking_no, events[-1].stage, stage)
            events.append(TrackingEvent(self._clock.now(), stage, location))
            documents.put(PARCEL, key, {"events": [to_document(event) for event in events]})
        subscriber = self.subscriber(carrier, tracking_no)
        if subscriber is not None:
            self._send(subscriber, *self.push(carrier, tracking_no))
        return self.track(carrier, tracking_no)

    def _send(self, callback_url: str, body: bytes, headers: Mapping[str, str]) -> None:
        if self._deliver is not None:
            self._deliver(body, headers)
            return
        client = self._http or httpx.Client(timeout=10.0)
        try:
            response = client.post(callback_url, content=body, headers=dict(headers))
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"the push could not reach {callback_url}: {error}") from error
        finally:
            if self._http is None:
                client.close()
        if not response.is_success:
            raise DeliveryFailed(f"{callback_url} answered the push with HTTP {response.status_code}")


def _require_forward(tracking_no: str, last: ParcelStage, stage: ParcelStage) -> None:
    repeatable = last is stage is ParcelStage.IN_TRANSIT
    if last is ParcelStage.DELIVERED or (stage.value <= last.value and not repeatable):
        raise ParcelStateConflict(f"parcel {tracking_no} is {last.name.lower()}; it cannot be {stage.name.lower()}")


def _key(carrier: str, tracking_no: str) -> str:
    return f"{carrier.strip().lower()}/{tracking_no.strip().upper()}"


def _events(document: dict[str, list[dict[str, str]]] | None) -> list[TrackingEvent]:
    return [from_document(TrackingEvent, event) for event in (document or {"events": []})["events"]]

"""The parcel watcher: each parcel shipped out is subscribed at the carrier tracking service (快递鸟, or the sandbox),
which then pushes its changes to `/v1/logistics/notify/{provider}`; a push saying a parcel was signed for confirms
the receipt of the order shipped under that tracking number. Pushes can be lost, so a parcel still out
`query_after` (24 hours by default) after shipping is asked about, and again every `query_every` while it stays out.

A subscription is made here, after the shipment was saved and projected, never inside `ship`: a tracking service
that is down or refuses must not stop a device going out. Each sweep subscribes the shipped orders not subscribed yet
(woken as soon as the read models show a shipment); one that fails is logged, kept in `api_parcel_watch` with why,
and tried again `retry_after` later for as long as the order stays shipped. A parcel that never gets subscribed is
still caught by the query. An order is "out `query_after`" when its row has not changed for that long: a shipped
order's last change is its shipment or later. Ages are by business time (the injected clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, or_, select

from api.processes.background import Background
from api.store import ApiStore, api_parcel_watch, upsert
from leasecore.application import LeaseApplication
from leasecore.errors import NotFound
from leasecore.lease.lease import Lease, LeaseStatus
from leasecore.ports import Acknowledgement, Logistics, TrackingStatus
from leasecore.topics import stored_topics
from projections.orders import OrderFilter, orders, orders_view
from projections.store import ViewStore

log = logging.getLogger(__name__)

QUERY_AFTER = timedelta(hours=24)
QUERY_EVERY = timedelta(hours=6)
RETRY_AFTER = timedelta(minutes=10)
SHIPPED = LeaseStatus.SHIPPED.value


@dataclass(frozen=True)
class ParcelSweep:
    """What one sweep did: the parcels it subscribed, those it asked about, the receipts it confirmed."""

    subscribed: list[UUID] = field(default_factory=list)
    asked: list[UUID] = field(default_factory=list)
    delivered: list[UUID] = field(default_factory=list)
    errors: dict[UUID, str] = field(default_factory=dict)


class ParcelWatcher:
    """Subscribes shipped parcels, takes the tracking service's pushes, and asks about parcels out too long; a parcel
    signed for confirms its order's receipt (`confirm_delivery`, once)."""

    topics = stored_topics(Lease.Shipped)
    """Woken by the runner after batches holding these events (parcels to subscribe), and when business time moves."""

    def __init__(
        self,
        app: LeaseApplication,
        views: ViewStore,
        store: ApiStore,
        *,
        callback_url: Callable[[str], str],
        refresh: Callable[[], None] = lambda: None,
        query_after: timedelta = QUERY_AFTER,
        query_every: timedelta = QUERY_EVERY,
        retry_after: timedelta = RETRY_AFTER,
        limit: int = 100,
        interval: float = 60.0,
    ) -> None:
        self.app, self.views, self.store = app, views, store
        self.callback_url, self.refresh, self.limit = callback_url, refresh, limit
        self.query_after, self.query_every, self.retry_after = query_after, query_every, retry_after
        self._background = Background("parcels", self.sweep, interval)

    def receive_push(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """A tracking service's push: verified (`InvalidSignature` otherwise, nothing changed), then each parcel
        signed for confirms its order's receipt; a tracking number no order was shipped under is acknowledged
        and logged, so the service stops resending it."""
        logistics = self._logistics(provider)
        for parcel in logistics.verify_push(body, headers):
            if parcel.delivered:
                self.delivered(parcel)
        return logistics.push_acknowledgement()

    def delivered(self, parcel: TrackingStatus) -> list[UUID]:
        """Confirm receipt of every shipped order the parcel went out under; the orders this confirmed."""
        tracking_no = parcel.tracking_no.strip()
        found = orders(self.views, where=OrderFilter(tracking_no=tracking_no), limit=50).items
        shipped_under = [view.id for view in found if view.tracking_no == tracking_no]
        if not shipped_under:
            log.warning("parcel %s (%s) was delivered but no order shipped under it", tracking_no, parcel.carrier)
            return []
        confirmed = [order_id for order_id in shipped_under if self.app.confirm_delivery(order_id)]
        for order_id in confirmed:
            log.info("order %s: parcel %s signed for, receipt confirmed", order_id, tracking_no)
        return confirmed

    def sweep(self) -> ParcelSweep:
        """Subscribe the shipped parcels due a subscription, then ask about those out too long."""
        self.refresh()
        now = self.app.clock.now()
        sweep = ParcelSweep()
        if self.app.logistics is None:
            return sweep
        for row in self._to_subscribe(now):
            self._subscribe(self.app.logistics, row, now, sweep)
        for row in self._to_ask(now):
            self._ask(row, now, sweep)
        return sweep

    def wake(self) -> None:
        """Something was shipped, or business time moved: look now."""
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def _logistics(self, provider: str) -> Logistics:
        logistics = self.app.logistics
        if logistics is None or logistics.provider != provider:
            raise NotFound("logistics provider", provider)
        return logistics

    def _to_subscribe(self, now: datetime) -> list[Any]:
        shipped, watch = orders_view.c, api_parcel_watch.c
        query = (
            select(shipped.id, shipped.carrier, shipped.tracking_no)
            .select_from(orders_view.outerjoin(api_parcel_watch, watch.order_id == shipped.id))
            .where(
                shipped.status == SHIPPED,
                shipped.tracking_no.is_not(None),
                watch.subscribed_at.is_(None),
                or_(watch.next_subscribe_at.is_(None), watch.next_subscribe_at <= now),
            )
            .order_by(shipped.updated_at, shipped.id)
            .limit(self.limit)
        )
        with self.views.read() as connection:
            return list(connection.execute(query).mappings())

    def _to_ask(self, now: datetime) -> list[Any]:
        shipped, watch = orders_view.c, api_parcel_watch.c
        query = (
            select(shipped.id)
            .select_from(orders_view.outerjoin(api_parcel_watch, watch.order_id == shipped.id))
            .where(
                shipped.status == SHIPPED,
                shipped.updated_at <= now - self.query_after,
                or_(watch.next_query_at.is_(None), watch.next_query_at <= now),
            )
            .order_by(shipped.updated_at, shipped.id)
            .limit(self.limit)
        )
        with self.views.read() as connection:
            return list(connection.execute(query).mappings())

    def _subscribe(self, logistics: Logistics, row: Any, now: datetime, sweep: ParcelSweep) -> None:
        order_id = row["id"]
        if not self._claim(order_id, "next_subscribe_at", now, now + self.retry_after):
            return
        try:
            logistics.subscribe(row["carrier"], row["tracking_no"], self.callback_url(logistics.provider))
        except Exception as error:
            reason = str(error) or type(error).__name__
            log.warning("subscribing the parcel of order %s failed; trying again later: %s", order_id, reason)
            sweep.errors[order_id] = reason
            self._record(order_id, detail=reason)
            return
        sweep.subscribed.append(order_id)
        self._record(order_id, subscribed_at=now, next_subscribe_at=None, detail=None)

    def _ask(self, row: Any, now: datetime, sweep: ParcelSweep) -> None:
        order_id = row["id"]
        if not self._claim(order_id, "next_query_at", now, now + self.query_every):
            return
        sweep.asked.append(order_id)
        detail = None
        try:
            parcel = self.app.track(order_id)
            if parcel.delivered and self.app.confirm_delivery(order_id):
                log.info("order %s: its carrier says the parcel was signed for, receipt confirmed", order_id)
                sweep.delivered.append(order_id)
        except Exception as error:
            detail = str(error) or type(error).__name__
            log.warning("asking about the parcel of order %s failed; asking again later: %s", order_id, detail)
            sweep.errors[order_id] = detail
        self._record(order_id, queried_at=now, detail=detail)

    def _claim(self, order_id: UUID, due: str, now: datetime, next_time: datetime) -> bool:
        """Take the parcel's subscription or query (`due` names when it is next due) for this sweep, unless another
        process took it first: it is made due again at `next_time` before the call, so a sweep that read the same
        row skips it, and a subscription counts its attempt."""
        with self.store.begin() as connection:
            self.store.lock(connection, "leasecore-parcel-watch", str(order_id))
            row = _watch_row(connection, order_id)
            taken = row[due] is not None and row[due] > now
            if taken or (due == "next_subscribe_at" and row["subscribed_at"] is not None):
                return False
            attempts = row["subscribe_attempts"] + (due == "next_subscribe_at")
            upsert(connection, api_parcel_watch, {**row, due: next_time, "subscribe_attempts": attempts}, ("order_id",))
        return True

    def _record(self, order_id: UUID, **changes: Any) -> None:
        with self.store.begin() as connection:
            upsert(connection, api_parcel_watch, {**_watch_row(connection, order_id), **changes}, ("order_id",))


def _watch_row(connection: Connection, order_id: UUID) -> dict[str, Any]:
    """The parcel watcher's row of the order, or a blank one."""
    row = connection.execute(select(api_parcel_watch).where(api_parcel_watch.c.order_id == order_id)).mappings().first()
    if row is None:
        return {column.name: None for column in api_parcel_watch.columns} | {
            "order_id": order_id,
            "subscribe_attempts": 0,
        }
    return dict(row)

"""Replay for audits: any aggregate as it was at a version or an instant, with its events, and the aggregates
its state names (an order's deposit, credit line, customer and units)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from leasecore.catalog import Inventory, Product, StockUnit
from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer
from leasecore.errors import InvalidInput, NotFound
from leasecore.lease import Lease
from leasecore.money.deposit import Deposit
from leasecore.money.payments import Payment

BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic"}


@dataclass(frozen=True)
class RecordedEvent:
    version: int
    type: str
    timestamp: datetime
    fields: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """An aggregate replayed up to a version, and the events that made it so."""

    aggregate_id: UUID
    aggregate_type: str
    version: int
    as_of: datetime
    events: tuple[RecordedEvent, ...]
    aggregate: Aggregate

    @property
    def state(self) -> dict[str, Any]:
        return state_of(self.aggregate)


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """The aggregate's business state: its public attributes, with its id and version."""
    state: dict[str, Any] = {"id": aggregate.id, "version": aggregate.version}
    state.update({key: value for key, value in vars(aggregate).items() if not key.startswith("_")})
    return state


def replay(
    app: Application[UUID], aggregate_id: UUID, *, version: int | None = None, at: datetime | None = None
) -> Replay:
    """The aggregate at `version`, or as it stood at instant `at` (the latest event not after it)."""
    if version is not None and at is not None:
        raise InvalidInput("version", "give a version or an instant, not both")
    if version is not None and version < 1:
        raise InvalidInput("version", "versions start at 1")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at", "give the instant with its UTC offset")
    events: list[Any] = list(app.events.get(aggregate_id))
    if not events:
        raise NotFound("aggregate", aggregate_id)
    if at is not None:
        events = [e for e in events if e.timestamp <= at]
        if not events:
            raise NotFound("aggregate", f"{aggregate_id} at {at.isoformat()}")
    if version is not None:
        if version > events[-1].originator_version:
            raise NotFound("aggregate", f"{aggregate_id} version {version}")
        events = events[:version]
    try:
        aggregate: Aggregate = app.repository.get(aggregate_id, version=events[-1].originator_version)
    except AggregateNotFoundError:
        raise NotFound("aggregate", aggregate_id) from None
    recorded = tuple(_recorded(e) for e in events)
    return Replay(aggregate_id, type(aggregate).__name__, aggregate.version, events[-1].timestamp, recorded, aggregate)


def history(app: Application[UUID], aggregate_id: UUID) -> tuple[RecordedEvent, ...]:
    """The aggregate's events, oldest first, as `replay` records them, without rebuilding the aggregate (a
    timeline needs only these)."""
    return tuple(_recorded(e) for e in app.events.get(aggregate_id))


def _recorded(event: Any) -> RecordedEvent:
    return RecordedEvent(
        version=event.originator_version,
        type=type(event).__qualname__,
        timestamp=event.timestamp,
        fields={k: v for k, v in vars(event).items() if k not in BOOKKEEPING},
    )


@dataclass(frozen=True)
class Related:
    """Another aggregate an audit leads to, and what it is to this one."""

    aggregate_id: UUID
    kind: str


def related(app: Application[UUID], aggregate: Aggregate) -> tuple[Related, ...]:
    """The aggregates this one's state names, those stored: an order's deposit, credit line, customer, the orders
    it was swapped from or to and its units; a deposit's or a payment's order; a customer's credit line and
    orders; a credit line's customer and the orders it holds waivers for; a unit's SKU register and orders; a
    SKU register's product and a product's SKU registers. (Payments are found by their order, in a read model.)"""
    named = [item for item in _named(aggregate) if item.aggregate_id != aggregate.id]
    unique = {(item.aggregate_id, item.kind): item for item in named}.values()
    return tuple(item for item in unique if item.aggregate_id in app.repository)


def _named(aggregate: Aggregate) -> list[Related]:
    if isinstance(aggregate, Lease):
        return [
            Related(Deposit.create_id(aggregate.id), "deposit"),
            Related(CreditLine.create_id(aggregate.customer_id), "credit_line"),
            Related(aggregate.customer_id, "customer"),
            *(Related(order, "order") for order in (aggregate.swapped_from, aggregate.swapped_to) if order),
            *(Related(StockUnit.create_id(aggregate.sku_id, serial), "stock_unit") for serial in aggregate.units_held),
        ]
    if isinstance(aggregate, Deposit):
        return [Related(aggregate.order_id, "order")]
    if isinstance(aggregate, Payment):
        return [Related(aggregate.order_id, "order"), Related(aggregate.customer_id, "customer")]
    if isinstance(aggregate, Customer):
        return [Related(CreditLine.create_id(aggregate.id), "credit_line")] + [
            Related(order, "order") for order in aggregate.orders
        ]
    if isinstance(aggregate, CreditLine):
        orders = [*aggregate.reserved, *sorted(aggregate.overdue_orders)]
        return [Related(aggregate.customer_id, "customer"), *(Related(order, "order") for order in orders)]
    if isinstance(aggregate, StockUnit):
        unit = aggregate.unit
        orders = [booking.order_id for booking in unit.bookings] + [o for o in (unit.leased_to, unit.sold_to) if o]
        return [
            Related(Inventory.create_id(aggregate.sku_id), "inventory"),
            *(Related(order, "order") for order in orders),
        ]
    if isinstance(aggregate, Inventory):
        return [Related(aggregate.product_id, "product")]
    if isinstance(aggregate, Product):
        return [Related(Inventory.create_id(sku_id), "inventory") for sku_id in aggregate.skus]
    return []

"""Customers as the back office finds them: phone, name, identity, score and level, the credit line's quota,
reserved and available, and how many orders are still open."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Uuid, and_, bindparam, func, or_, select

from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer, IdentityStatus
from leasecore.lease import Lease
from leasecore.values import ERASED, ZERO
from projections.prepared import Prepared
from projections.projection import Batch, Event, Page, Projection, Row, blank, build, check_page, is_new, on
from projections.store import Instant, ViewStore, metadata, money

customers_view = Table(
    "customers_view",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("id_text", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("name", String(64)),
    Column("identity_status", String(16), nullable=False),
    Column("score", Integer),
    Column("score_source", String(16)),
    Column("level", String(32)),
    money("quota"),
    money("reserved"),
    money("available"),
    Column("open_orders", Integer, nullable=False),
    Column("orders_placed", Integer, nullable=False),
    Column("registered_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_customers_view_phone", "phone"),
    Index("ix_customers_view_id_text", "id_text"),
    Index("ix_customers_view_registered", "registered_at", "customer_id"),
)
"""One row per customer; `id_text` is the id as text (`3fa85f64-…`), so an id prefix finds it on any database."""

customer_links_view = Table(
    "customer_links_view",
    metadata,
    Column("aggregate_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("open", Boolean, nullable=False),
)
"""Whose credit line or order an aggregate is, the version of it the customer's row has seen, and (an order)
whether it is still open."""

CLOSING = (Lease.Cancelled, Lease.ReviewRejected, Lease.Settled)
"""The lease events after which an order is no longer open (rejected, cancelled, settled)."""


class CustomersProjection(Projection):
    """A row per customer from its own events, its credit line's and its orders' (placed, and closed)."""

    name = "customers"
    tables = (customers_view, customer_links_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        links = batch.rows(customer_links_view, "aggregate_id")
        links.prefetch(event.originator_id for event in events if not isinstance(event, Customer.Event))
        wanted = {event.originator_id for event in events if isinstance(event, Customer.Event)}
        wanted.update(event.customer_id for event in events if hasattr(event, "customer_id"))
        wanted.update(
            link["customer_id"]
            for event in events
            if not isinstance(event, Customer.Event) and (link := links.one(event.originator_id)) is not None
        )
        batch.rows(customers_view, "customer_id").prefetch(wanted)

    @on(Customer.Registered)
    def registered(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(customers_view, "customer_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            customers_view,
            customer_id=event.originator_id,
            id_text=str(event.originator_id),
            version=event.originator_version,
            phone=event.phone,
            identity_status=IdentityStatus.UNVERIFIED.value,
            quota=ZERO,
            reserved=ZERO,
            available=ZERO,
            open_orders=0,
            orders_placed=0,
            registered_at=event.timestamp,
            updated_at=event.timestamp,
        )
        rows.put(event.originator_id, [row])

    @on(Customer.IdentityVerified, Customer.IdentityRejected, Customer.CreditEvaluated)
    def customer_changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(customers_view, "customer_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        if isinstance(event, Customer.IdentityVerified):
            row["identity_status"], row["name"] = IdentityStatus.VERIFIED.value, event.name
        elif isinstance(event, Customer.IdentityRejected):
            row["identity_status"] = IdentityStatus.REJECTED.value
        else:
            row["score"], row["score_source"] = event.evaluation.score, event.evaluation.source

    @on(Customer.PersonalDataErased, Customer.RegisteredAgain)
    def erased(self, batch: Batch, event: Event) -> None:
        """Erased: phone and name read "erased"; registered again: the new phone, identity to verify anew."""
        row = batch.rows(customers_view, "customer_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        if isinstance(event, Customer.PersonalDataErased):
            row["phone"], row["name"] = ERASED, None if row["name"] is None else ERASED
            row["identity_status"] = IdentityStatus.UNVERIFIED.value
        else:
            row["phone"], row["name"], row["identity_status"] = event.phone, None, IdentityStatus.UNVERIFIED.value

    @on(CreditLine.Granted, Lease.OrderPlaced)
    def linked(self, batch: Batch, event: Event) -> None:
        links = batch.rows(customer_links_view, "aggregate_id")
        if not is_new(links.one(event.originator_id), event):
            return
        order = isinstance(event, Lease.OrderPlaced)
        link = blank(
            customer_links_view,
            aggregate_id=event.originator_id,
            customer_id=event.customer_id,
            kind="order" if order else "credit_line",
            version=event.originator_version,
            open=order,
        )
        links.put(event.originator_id, [link])
        row = self._customer(batch, link, event)
        if row is None:
            return
        if order:
            row["orders_placed"] += 1
            row["open_orders"] += 1
        else:
            row["quota"], row["level"] = event.quota, event.level
            _balanced(row)

    @on(CreditLine.QuotaAdjusted, CreditLine.WaiverReserved, CreditLine.WaiverReleased, *CLOSING)
    def link_changed(self, batch: Batch, event: Event) -> None:
        link = batch.rows(customer_links_view, "aggregate_id").one(event.originator_id)
        if link is None or not is_new(link, event):
            return
        link["version"] = event.originator_version
        row = self._customer(batch, link, event)
        if row is None:
            return
        if isinstance(event, CLOSING):
            if link["open"]:
                link["open"] = False
                row["open_orders"] -= 1
            return
        if isinstance(event, CreditLine.QuotaAdjusted):
            row["quota"], row["level"] = event.quota, event.level
        elif isinstance(event, CreditLine.WaiverReserved):
            row["reserved"] += event.amount
        else:
            row["reserved"] -= event.amount
        _balanced(row)

    def _customer(self, batch: Batch, link: Row, event: Event) -> Row | None:
        row = batch.rows(customers_view, "customer_id").one(link["customer_id"])
        if row is not None:
            row["updated_at"] = max(row["updated_at"], event.timestamp)
        return row


def _balanced(row: Row) -> None:
    row["available"] = max(ZERO, row["quota"] - row["reserved"])


# Queries.


@dataclass(frozen=True)
class CustomerView:
    customer_id: UUID
    phone: str
    name: str | None
    identity_status: str
    score: int | None
    score_source: str | None
    level: str | None
    quota: Decimal
    reserved: Decimal
    available: Decimal
    open_orders: int
    orders_placed: int
    registered_at: datetime
    updated_at: datetime


def customer(views: ViewStore, customer_id: UUID) -> CustomerView | None:
    row = _CUSTOMER.first(views, customer_id=customer_id)
    return build(CustomerView, row) if row else None


_CUSTOMER = Prepared(select(customers_view).where(customers_view.c.customer_id == bindparam("customer_id")))


def customers_by_id(views: ViewStore, customer_ids: Iterable[UUID]) -> dict[UUID, CustomerView]:
    """These customers (those known), in one query: a list page names the customer on every row."""
    wanted = list(dict.fromkeys(customer_ids))
    if not wanted:
        return {}
    query = select(customers_view).where(customers_view.c.customer_id.in_(wanted))
    with views.read() as connection:
        return {row["customer_id"]: build(CustomerView, row) for row in connection.execute(query).mappings()}


def _prefix(column: Any, text: str) -> Any:
    """Values beginning with `text`, as a range of the column's index (SQLite reads no index for a LIKE on a
    case-sensitive column)."""
    found = _prefix_range(text)
    if found is None:
        return column.startswith(text, autoescape=True)
    return and_(column >= found[0], column < found[1])


def _prefix_range(text: str) -> tuple[str, str] | None:
    """The values beginning with `text` as `[from, to)`; None when its last character has no next one."""
    last = ord(text[-1])
    return None if last >= 0x10FFFF else (text, text[:-1] + chr(last + 1))


def _by_prefix(table: Any) -> Any:
    """A phone or an id beginning with what was typed, as ranges of their indexes (`_prefix_range`)."""
    return or_(
        and_(table.phone >= bindparam("phone_from"), table.phone < bindparam("phone_to")),
        and_(table.id_text >= bindparam("id_from"), table.id_text < bindparam("id_to")),
    )


_BY_PREFIX = Prepared(
    select(customers_view)
    .where(_by_prefix(customers_view.c))
    .order_by(customers_view.c.registered_at.desc(), customers_view.c.customer_id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_COUNT_BY_PREFIX = Prepared(select(func.count()).select_from(customers_view).where(_by_prefix(customers_view.c)))


def customers(
    views: ViewStore, q: str | None = None, *, limit: int = 100, offset: int = 0, names: bool = True
) -> Page[CustomerView]:
    """Newest first; `q` finds a phone or an id by its beginning, a name by any part of it (any case). Without
    `names`, only the phone and id indexes are read: a search that can stop there need not scan every name."""
    check_page(limit, offset)
    table = customers_view.c
    phones, ids = (_prefix_range(q), _prefix_range(q.lower())) if q else (None, None)
    if phones and ids and not names:
        found = {"phone_from": phones[0], "phone_to": phones[1], "id_from": ids[0], "id_to": ids[1]}
        items = [build(CustomerView, row) for row in _BY_PREFIX.all(views, **found, limit=limit, offset=offset)]
        [(total,)] = _COUNT_BY_PREFIX.tuples(views, **found)
        return Page(items, int(total), limit, offset)
    conditions = []
    if q:
        matches = [_prefix(table.phone, q), _prefix(table.id_text, q.lower())]
        if names:
            matches.append(func.lower(table.name).contains(q.lower(), autoescape=True))
        conditions.append(or_(*matches))
    query = (
        select(customers_view)
        .where(*conditions)
        .order_by(table.registered_at.desc(), table.customer_id.desc())
        .limit(limit)
        .offset(offset)
    )
    with views.read() as connection:
        items = [build(CustomerView, row) for row in connection.execute(query).mappings()]
        total = connection.execute(select(func.count()).select_from(customers_view).where(*conditions)).scalar_one()
    return Page(items, int(total), limit, offset)

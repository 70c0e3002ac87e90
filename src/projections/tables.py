"""The read models' tables (`*_view`) and the tracking table of each projection's position.

Money is `Numeric(14, 2)` and only ever added up in `Decimal` in Python (SQLite keeps NUMERIC
as REAL, exact to the fen for each value but not for sums taken in SQL). Instants are stored
in UTC and come back timezone-aware on every store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class Instant(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC (SQLite keeps no offset, PostgreSQL `timestamptz`)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"an instant needs its UTC offset: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def money(name: str, **kwargs: Any) -> Column[Any]:
    return Column(name, Numeric(14, 2), nullable=False, **kwargs)


tracking = Table(
    "projections_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", Instant, nullable=False),
)

orders_view = Table(
    "orders_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("product_id", Uuid, nullable=False),
    Column("sku_id", Uuid, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("plan_kind", String(8), nullable=False),
    Column("plan_months", Integer),
    Column("months", Integer),
    Column("plan_start", Date),
    Column("plan_end", Date),
    Column("protection", Boolean, nullable=False),
    Column("deposit_mode", String(8), nullable=False),
    money("deposit"),
    money("waiver"),
    money("deposit_due"),
    money("due_now"),
    Column("unit_serials", JSON, nullable=False),
    Column("carrier", String(64)),
    Column("tracking_no", String(64)),
    Column("return_tracking_no", String(64)),
    Column("contract_id", String(128)),
    Column("channel", String(32), nullable=False),
    Column("swapped_from", Uuid),
    Column("swapped_to", Uuid),
    Column("collection_stage", String(16)),
    Column("days_overdue", Integer, nullable=False),
    Column("reason", Text),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_orders_view_customer", "customer_id", "created_at"),
    Index("ix_orders_view_status", "status", "created_at"),
    Index("ix_orders_view_customer_status", "customer_id", "status", "created_at"),
)

installments_view = Table(
    "installments_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("order_version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("due_date", Date, nullable=False),
    money("rent"),
    money("protection"),
    money("amount"),
    money("rent_paid"),
    money("protection_paid"),
    money("late_fee"),
    money("fee_paid"),
    money("paid"),
    money("owed"),
    Column("days_overdue", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("payable", Boolean, nullable=False),
    Column("collectible", Boolean, nullable=False),
    Column("collection_stage", String(16)),
    Index("ix_installments_view_collectible", "collectible", "due_date"),
    Index("ix_installments_view_status", "status", "due_date"),
    Index("ix_installments_view_customer", "customer_id"),
)

credit_lines_view = Table(
    "credit_lines_view",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("credit_line_id", Uuid, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    money("quota"),
    money("reserved"),
    money("available"),
    Column("level", String(32)),
    Column("reservations", Integer, nullable=False),
    Column("overdue_orders", Integer, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

finance_view = Table(
    "finance_view",
    metadata,
    Column("day", Date, primary_key=True),
    money("payments_received"),
    money("deposits_received"),
    money("deposits_deducted"),
    money("deposits_refunded"),
    money("rent"),
    money("protection"),
    money("fees"),
    money("damage"),
    money("late_return"),
    money("buyouts"),
    money("credit"),
    money("stray"),
    money("other_refunds"),
)

finance_orders_view = Table(
    "finance_orders_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    money("payments_received"),
    money("rent"),
    money("protection"),
    money("fees"),
    money("ledger_credit"),
    money("unapplied"),
    money("damage"),
    money("late_return"),
    money("buyouts"),
    money("stray"),
    money("refunded"),
)

finance_deposits_view = Table(
    "finance_deposits_view",
    metadata,
    Column("deposit_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    money("amount"),
    money("waived"),
    money("paid"),
    money("deducted"),
    money("refunded"),
    money("held"),
)

stock_view = Table(
    "stock_view",
    metadata,
    Column("inventory_id", Uuid, primary_key=True),
    Column("sku_id", Uuid, nullable=False, unique=True),
    Column("product_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

units_view = Table(
    "units_view",
    metadata,
    Column("sku_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Column("inventory_id", Uuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("leased_to", Uuid),
    Column("sold_to", Uuid),
    Column("retired", Boolean, nullable=False),
    Index("ix_units_view_inventory", "inventory_id"),
)

bookings_view = Table(
    "bookings_view",
    metadata,
    Column("sku_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Column("order_id", Uuid, primary_key=True),
    Column("inventory_id", Uuid, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("shipped", Boolean, nullable=False),
    Index("ix_bookings_view_inventory", "inventory_id"),
    Index("ix_bookings_view_order", "order_id"),
)

review_queue_view = Table(
    "review_queue_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("sku_id", Uuid, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("deposit_mode", String(8), nullable=False),
    money("deposit"),
    money("waiver"),
    money("due_now"),
    Column("state", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("placed_at", Instant, nullable=False),
    Column("queued_at", Instant),
    Column("decided_at", Instant),
    Column("reviewer", String(64)),
    Column("decision_reason", Text),
    Index("ix_review_queue_view_state", "state", "queued_at"),
)

collection_tasks_view = Table(
    "collection_tasks_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("contact_name", String(64), nullable=False),
    Column("contact_phone", String(32), nullable=False),
    Column("order_status", String(24), nullable=False),
    Column("stage", String(16)),
    Column("stage_since", Instant),
    Column("days_overdue", Integer, nullable=False),
    money("overdue_amount"),
    money("late_fees"),
    Column("updated_at", Instant, nullable=False),
    Index("ix_collection_tasks_view_stage", "stage", "days_overdue"),
)

"""The HTTP layer's own small tables, in the read models' database: settings (the token key, the sandbox
clock), one-time codes, rate-limit events, idempotency records, refund outcomes, the outbox of text
messages, the daily job's runs, the back office's sessions, inspection photos and why units were retired.
They are not business events, and several service processes share them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from projections.prepared import Prepared
from projections.runner import lock_key
from projections.store import Instant, ViewStore

api_metadata = MetaData()

api_settings = Table(
    "api_settings",
    api_metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

api_otp_codes = Table(
    "api_otp_codes",
    api_metadata,
    Column("phone", String(32), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("issued_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("consumed", Boolean, nullable=False),
)

api_rate_events = Table(
    "api_rate_events",
    api_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("at", Instant, nullable=False),
    Index("ix_api_rate_events_subject", "kind", "subject", "at"),
)

api_idempotency = Table(
    "api_idempotency",
    api_metadata,
    Column("scope", String(160), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("status", Integer),
    Column("body", LargeBinary),
    Column("content_type", String(64)),
    Column("created_at", Instant, nullable=False),
    Column("completed_at", Instant),
    Index("ix_api_idempotency_created", "created_at"),
)

api_refund_outcomes = Table(
    "api_refund_outcomes",
    api_metadata,
    Column("refund_id", String(64), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("detail", Text),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

api_outbox = Table(
    "api_outbox",
    api_metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("order_id", Uuid),
    Column("customer_id", Uuid),
    Column("seq", Integer),
    Column("kind", String(24), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("state", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("retry_at", Instant),
    Column("updated_at", Instant, nullable=False),
    Column("sent_at", Instant),
    Column("provider_id", String(128)),
    Column("detail", Text),
    Index("ix_api_outbox_state", "state", "retry_at"),
    Index("ix_api_outbox_order", "order_id", "created_at"),
    Index("ix_api_outbox_created", "created_at", "message_id"),
)
"""The outbox: each text message the platform owes a customer, copied once from the event log (its id derives
from the order, installment and kind), and what became of it: `pending`, `sending` (claimed, the provider being
called), `sent`, or `failed` (tried again at `retry_at`, never when that is empty)."""

api_daily_runs = Table(
    "api_daily_runs",
    api_metadata,
    Column("day", Date, primary_key=True),
    Column("state", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("process", String(160), nullable=False),
    Column("started_at", Instant, nullable=False),
    Column("finished_at", Instant),
    Column("looked_at", Integer),
    Column("cancelled", Integer),
    Column("assessed", Integer),
    Column("stage_changes", Integer),
    Column("reminders", Integer),
    Column("detail", Text),
)
"""The daily job's runs, one per business day: `running` until it is `done`, or `failed` saying why; a day not
`done` (its process died, or the job failed) is run again."""

api_web_sessions = Table(
    "api_web_sessions",
    api_metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Index("ix_api_web_sessions_expires", "expires_at"),
    Index("ix_api_web_sessions_username", "username"),
)
"""The back office's sessions (`api.web.sessions`): the SHA-256 of the random id its cookie carries (a copy of
the table opens no session), the member of staff, the session's CSRF token and when it ends; logging out deletes
the row, so the cookie stops working on every process at once."""

api_inspection_photos = Table(
    "api_inspection_photos",
    api_metadata,
    Column("sha256", String(64), primary_key=True),
    Column("order_id", Uuid, primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_at", Instant, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Index("ix_api_inspection_photos_order", "order_id", "uploaded_at"),
)
"""Photos taken at an order's inspection (the back office's shipping screen), by their SHA-256, checked to be
PNG, JPEG or WebP; that screen shows them with the order. The inspection's event keeps only their count."""

api_unit_retirements = Table(
    "api_unit_retirements",
    api_metadata,
    Column("sku_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("retired_by", String(64), nullable=False),
    Column("retired_at", Instant, nullable=False),
)
"""Why and by whom a unit was retired in the back office (the unit's `UnitRetired` event says only that it was)."""


api_payment_checks = Table(
    "api_payment_checks",
    api_metadata,
    Column("payment_id", Uuid, primary_key=True),
    Column("checks", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("detail", Text),
    Column("checked_at", Instant, nullable=False),
    Column("next_check_at", Instant, nullable=False),
)
"""The janitor's asking of providers about pending payments (`api.processes.janitor`): how often, what the last
answer made of the payment (`pending`, `succeeded`, `failed`, or `error` saying why) and when to ask next."""

api_reconciliations = Table(
    "api_reconciliations",
    api_metadata,
    Column("day", Date, primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("compared", Integer, nullable=False),
    Column("differences", Integer, nullable=False),
    Column("ran_at", Instant, nullable=False),
    Column("detail", Text),
)
"""Each provider's bill of a day set against the platform's records (`api.processes.reconciliation`): `done` with
how many movements were compared and how many differ, or `failed` saying why (the bill could not be had)."""

api_reconciliation_differences = Table(
    "api_reconciliation_differences",
    api_metadata,
    Column("day", Date, primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("record_kind", String(12), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("provider_reference", String(128), nullable=False),
    Column("platform_amount", Numeric(14, 2)),
    Column("provider_amount", Numeric(14, 2)),
    Column("platform_status", String(12)),
)
"""The differences a reconciliation found, the most serious first; a run again replaces its day's."""

api_parcel_watch = Table(
    "api_parcel_watch",
    api_metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("subscribed_at", Instant),
    Column("subscribe_attempts", Integer, nullable=False),
    Column("next_subscribe_at", Instant),
    Column("queried_at", Instant),
    Column("next_query_at", Instant),
    Column("detail", Text),
)
"""The parcel watcher's work on each shipped order (`api.processes.parcels`): when its parcel was subscribed at the
carrier's tracking service (or when to try again, after how many attempts), when the carrier was last asked about it
and when next; `detail` says why the last call failed."""

api_sandbox_state = Table(
    "api_sandbox_state",
    api_metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("document", Text, nullable=False),
    Column("version", Integer, nullable=False),
)
"""What the sandbox providers know (`api.sandbox_store`): payments, freezes, agreements, texts sent, parcels, scores,
contracts, as JSON documents by kind and key, each with how many times it was written; so every service process
completes, reads and moves the same sandbox world, and a restart forgets nothing."""
api_revoked_tokens = Table(
    "api_revoked_tokens",
    api_metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at", Instant, nullable=False),
)
"""Tokens logged out before they expired, by their id (`jti`); each is forgotten once it would have expired anyway."""

class ApiStore:
    """Transactions on the HTTP layer's tables, which live beside the read models."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views

    def setup(self) -> None:
        """Create the tables that are missing (one process at a time on PostgreSQL)."""
        with self.begin() as connection:
            self.lock(connection, "leasecore-api-ddl")
            api_metadata.create_all(connection, checkfirst=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.views.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.views.read() as connection:
            yield connection

    def lock(self, connection: Connection, *key: str) -> None:
        """Serialise transactions on one key until commit (SQLite's IMMEDIATE transactions already are)."""
        if self.views.is_postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(*key)})

    def setting(self, name: str) -> str | None:
        found = _SETTING.tuples(self, name=name)
        value: str | None = found[0][0] if found else None
        return value

    def put_setting(self, name: str, value: str) -> None:
        with self.begin() as connection:
            upsert(connection, api_settings, {"name": name, "value": value}, ("name",))

    def shared_secret(self, name: str = "token-key") -> str:
        """A random secret made once and kept, so every process signs with the same key."""
        with self.begin() as connection:
            insert_ignore(connection, api_settings, {"name": name, "value": secrets.token_hex(32)}, ("name",))
            value: str = connection.execute(
                select(api_settings.c.value).where(api_settings.c.name == name)
            ).scalar_one()
        return value


def _insert(connection: Connection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def upsert(connection: Connection, table: Table, row: dict[str, Any], key: tuple[str, ...]) -> None:
    statement = _insert(connection)(table).values(**row)
    changes = {name: statement.excluded[name] for name in row if name not in key}
    connection.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))


def insert_ignore(connection: Connection, table: Table, row: dict[str, Any], key: tuple[str, ...]) -> bool:
    """Insert unless the key is taken; True when this call inserted the row."""
    statement = _insert(connection)(table).values(**row).on_conflict_do_nothing(index_elements=list(key))
    return connection.execute(statement).rowcount == 1


_SETTING = Prepared(select(api_settings.c.value).where(api_settings.c.name == bindparam("name")))
"""A setting by name (the sandbox clock's offset is read before each request and background round)."""

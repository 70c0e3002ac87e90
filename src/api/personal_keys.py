"""The per-customer keys of personal data in the database, beside the events (`leasecore_personal_keys`): the
`KeyStore` of `adapters.personal_data.keys` that the service uses. A backup holds the keys with the events they
open; erasing a customer deletes their rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, Engine, LargeBinary, MetaData, String, Table, delete, insert, select

personal_metadata = MetaData()
personal_keys = Table(
    "leasecore_personal_keys",
    personal_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False, index=True),
    Column("key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""Each customer's keys (usually one; a second when two processes made one at once, or after the customer
registered again following an erasure). Erasing a customer deletes their rows."""


class SqlKeys:
    """Keys in `leasecore_personal_keys`, beside the events (created if missing)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.clock = engine, clock
        personal_metadata.create_all(engine, checkfirst=True)

    def current(self, customer_id: UUID) -> tuple[str, bytes] | None:
        query = (
            select(personal_keys.c.key_id, personal_keys.c.key)
            .where(personal_keys.c.customer_id == str(customer_id))
            .order_by(personal_keys.c.created_at.desc(), personal_keys.c.key_id)
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (row.key_id, bytes(row.key))

    def add(self, key_id: str, customer_id: UUID, key: bytes) -> None:
        row = {"key_id": key_id, "customer_id": str(customer_id), "key": key, "created_at": self.clock()}
        with self.engine.begin() as connection:
            connection.execute(insert(personal_keys), row)

    def get(self, key_id: str) -> tuple[UUID, bytes] | None:
        query = select(personal_keys.c.customer_id, personal_keys.c.key).where(personal_keys.c.key_id == key_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (UUID(row.customer_id), bytes(row.key))

    def delete(self, customer_id: UUID) -> int:
        statement = delete(personal_keys).where(personal_keys.c.customer_id == str(customer_id))
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount

    def close(self) -> None:
        self.engine.dispose()

"""Each movement of a pre-authorized deposit (押金预授权) as the provider's bill lists it: the freeze, each take
from it (a capture) and each unfreeze, by the reference the provider knows it by, for reconciliation to set
against the provider's bill of a day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Integer, String, Table, Uuid

from leasecore.money.deposit import Deposit
from projections.projection import Batch, Event, Projection, blank, on
from projections.store import Instant, metadata, money

FREEZE, CAPTURE, UNFREEZE = "freeze", "capture", "unfreeze"
REQUESTED, DONE = "requested", "done"

freeze_movements_view = Table(
    "freeze_movements_view",
    metadata,
    Column("deposit_id", Uuid, primary_key=True),
    Column("ref", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    money("amount"),
    Column("state", String(16), nullable=False),
    Column("provider_reference", String(64), nullable=False),
    Column("requested_at", Instant, nullable=False),
    Column("done_at", Instant, index=True),
    Column("version", Integer, nullable=False),
)
"""One row per freeze (its `ref` the out_request_no, its amount what was really frozen, not what the provider
waived on credit), take and unfreeze (their `ref` the one the provider dedupes on); `done_at` when the platform
recorded the provider's word that it happened, `provider_reference` the auth_no, trade_no or operation_id."""


@dataclass(frozen=True)
class FreezeMovement:
    kind: str
    ref: str
    provider: str
    amount: Decimal
    state: str
    provider_reference: str
    at: datetime


class FreezesProjection(Projection):
    """Freezes, takes and unfreezes of pre-authorized deposits, one row each."""

    name = "freezes"
    tables = (freeze_movements_view,)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        batch.rows(freeze_movements_view, "deposit_id").prefetch(event.originator_id for event in events)

    @on(Deposit.Frozen)
    def frozen(self, batch: Batch, event: Event) -> None:
        self._put(
            batch,
            event,
            event.out_request_no,
            kind=FREEZE,
            provider=event.provider,
            amount=event.fund_amount,
            state=DONE,
            provider_reference=event.auth_no,
            requested_at=event.timestamp,
            done_at=event.timestamp,
        )

    @on(Deposit.TakeFromFreezeRequested, Deposit.UnfreezeRequested)
    def requested(self, batch: Batch, event: Event) -> None:
        kind = CAPTURE if isinstance(event, Deposit.TakeFromFreezeRequested) else UNFREEZE
        self._put(
            batch,
            event,
            event.ref,
            kind=kind,
            provider=event.provider,
            amount=event.amount,
            state=REQUESTED,
            provider_reference="",
            requested_at=event.timestamp,
            done_at=None,
        )

    @on(Deposit.TakenFromFreeze, Deposit.Unfrozen)
    def done(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(freeze_movements_view, "deposit_id").get(event.originator_id)
        row = next((row for row in rows if row["ref"] == event.ref), None)
        if row is None or row["version"] >= event.originator_version:
            return
        reference = event.trade_no if isinstance(event, Deposit.TakenFromFreeze) else event.operation_id
        row.update(state=DONE, provider_reference=reference, done_at=event.timestamp, version=event.originator_version)

    def _put(self, batch: Batch, event: Event, ref: str, **values: object) -> None:
        rows = batch.rows(freeze_movements_view, "deposit_id")
        existing = rows.get(event.originator_id)
        if any(row["ref"] == ref for row in existing):
            return
        row = blank(
            freeze_movements_view, deposit_id=event.originator_id, ref=ref, version=event.originator_version, **values
        )
        rows.put(event.originator_id, [*existing, row])

"""Reconciliation (对账): each payment provider's daily bill set against what the platform recorded of that day.

A day is the providers' own (Beijing time), so the bill and the records cover the same hours. The platform's side
of a day is every payment recorded as paid then (by when the provider says it was paid) and every refund a provider
accepted that was instructed then, from the `refunds` read model and the answers the refund sender kept; a bill line
that names a movement of another day, or one the platform still thinks pending, is looked up by its id wherever it
is. `leasecore.money.reconciliation` does the comparing. Each run is kept per day and provider
(`api_reconciliations`, `api_reconciliation_differences`) and a run again replaces it, so the answer for a day is
stable. In the background the previous day is reconciled once the providers have made their bills (from 10:30
Beijing time), once per day and provider, again an hour later if a bill could not be had.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, insert, select

from adapters.china_time import SHANGHAI
from api.processes.background import Background
from api.store import ApiStore, api_reconciliation_differences, api_reconciliations, api_refund_outcomes, upsert
from leasecore.money.payments import PaymentStatus
from leasecore.money.reconciliation import Difference, DifferenceKind, Key, Record, RecordStatus, reconcile
from leasecore.ports import BillSource, Clock, RecordKind
from projections.freezes import DONE as FREEZE_DONE
from projections.freezes import freeze_movements_view
from projections.refunds import refund_payments_view, refunds_view
from projections.store import ViewStore

log = logging.getLogger(__name__)

BILLS_READY_AT = time(10, 30)
"""Alipay makes the previous day's bill by 09:00 and WeChat Pay by 10:00, Beijing time."""
RETRY_AFTER = timedelta(hours=1)
DONE, FAILED = "done", "failed"

PAYMENT_STATES = {
    PaymentStatus.SUCCEEDED.value: RecordStatus.MOVED,
    PaymentStatus.PENDING.value: RecordStatus.PENDING,
    PaymentStatus.FAILED.value: RecordStatus.FAILED,
}
REFUND_STATES = {"accepted": RecordStatus.MOVED, "refused": RecordStatus.FAILED}
"""A refund not yet answered (`sending`, `failed` to reach the provider, never sent) is pending."""
FREEZE_KINDS = {kind.value: kind for kind in (RecordKind.FREEZE, RecordKind.CAPTURE, RecordKind.UNFREEZE)}


class UnknownProvider(LookupError):
    """No configured payment provider of that name makes bills."""


@dataclass(frozen=True)
class ReconciliationRun:
    """One provider's bill of one day set against the records: what was compared and how they differ."""

    day: date
    provider: str
    state: str
    compared: int
    ran_at: datetime
    detail: str | None
    differences: tuple[Difference, ...]


class Reconciler:
    """Fetches each provider's bill of a day, compares it with the records and keeps what differs."""

    def __init__(
        self,
        views: ViewStore,
        store: ApiStore,
        sources: Mapping[str, BillSource],
        clock: Clock,
        *,
        refresh: Callable[[], None] = lambda: None,
        interval: float = 600.0,
    ) -> None:
        self.views, self.store, self.sources, self.clock, self.refresh = views, store, sources, clock, refresh
        self._background = Background("reconciliation", self.catch_up, interval)

    def run(self, day: date, provider: str | None = None) -> list[ReconciliationRun]:
        """Reconcile `day` with one provider, or with each that makes bills; a bill that cannot be had is a failed
        run saying why, which leaves a done run of the day as it was."""
        return [self._run(day, name) for name in self._providers(provider)]

    def reconciled(self, day: date, provider: str | None = None) -> list[ReconciliationRun]:
        """The runs kept for `day`, by provider; one not yet run, or whose bill could not be had, is run now."""
        names = self._providers(provider)
        kept = {run.provider: run for run in reconciliations(self.store, day, provider)}
        for name in names:
            if name not in kept or kept[name].state != DONE:
                kept[name] = self._run(day, name)
        return [kept[name] for name in sorted(kept)]

    def last_day(self) -> date:
        """The latest day whose bills a provider can have made: yesterday, Beijing time."""
        return self.clock.now().astimezone(SHANGHAI).date() - timedelta(days=1)

    def catch_up(self) -> list[ReconciliationRun]:
        """Yesterday (Beijing time), for each provider not done yet, once the bills are made."""
        self.refresh()
        now = self.clock.now().astimezone(SHANGHAI)
        if now.time() < BILLS_READY_AT:
            return []
        day = now.date() - timedelta(days=1)
        due = [name for name in self.sources if self._due(day, name, now)]
        return [self._run(day, name) for name in due]

    def wake(self) -> None:
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def _providers(self, provider: str | None) -> list[str]:
        if provider is not None and provider not in self.sources:
            raise UnknownProvider(f"no payment provider {provider!r} makes bills (known: {', '.join(self.sources)})")
        return [provider] if provider is not None else list(self.sources)

    def _due(self, day: date, provider: str, now: datetime) -> bool:
        row = _run_row(self.store, day, provider)
        return row is None or (row["state"] != DONE and now - row["ran_at"] >= RETRY_AFTER)

    def _run(self, day: date, provider: str) -> ReconciliationRun:
        now = self.clock.now()
        try:
            bill = self.sources[provider].daily_bill(day)
        except Exception as error:
            log.warning("the %s bill of %s could not be had: %s", provider, day, error)
            return self._failed(day, provider, now, str(error) or type(error).__name__)
        recorded = platform_records(self.views, provider, day)
        unmatched = {(line.kind, line.reference) for line in bill} - {record.key for record in recorded}
        outcome = reconcile(recorded, bill, records_named(self.views, provider, unmatched))
        found = ReconciliationRun(day, provider, DONE, outcome.compared, now, None, outcome.differences)
        self._keep(found)
        if found.differences:
            log.warning(
                "the %s bill of %s differs from the records in %d place(s)", provider, day, len(found.differences)
            )
        return found

    def _failed(self, day: date, provider: str, now: datetime, detail: str) -> ReconciliationRun:
        kept = reconciliations(self.store, day, provider)
        failed = ReconciliationRun(day, provider, FAILED, 0, now, detail, ())
        if kept and kept[0].state == DONE:
            return failed
        self._keep(failed)
        return failed

    def _keep(self, run: ReconciliationRun) -> None:
        row = {
            "day": run.day,
            "provider": run.provider,
            "state": run.state,
            "compared": run.compared,
            "differences": len(run.differences),
            "ran_at": run.ran_at,
            "detail": run.detail,
        }
        differences = api_reconciliation_differences.c
        with self.store.begin() as connection:
            self.store.lock(connection, "leasecore-reconciliation", run.day.isoformat(), run.provider)
            upsert(connection, api_reconciliations, row, ("day", "provider"))
            connection.execute(
                delete(api_reconciliation_differences).where(
                    differences.day == run.day, differences.provider == run.provider
                )
            )
            if run.differences:
                rows = [_difference_row(run, seq, found) for seq, found in enumerate(run.differences, 1)]
                connection.execute(insert(api_reconciliation_differences), rows)


# The platform's side.


def platform_records(views: ViewStore, provider: str, day: date) -> list[Record]:
    """What the platform recorded as moved with `provider` on `day`: payments paid, refunds accepted, and deposits
    frozen, taken from and unfrozen (by when the provider's word that they happened was recorded)."""
    start = datetime.combine(day, time(), SHANGHAI)
    end = start + timedelta(days=1)
    payments = refund_payments_view.c
    paid = select(refund_payments_view).where(
        payments.provider == provider,
        payments.status == PaymentStatus.SUCCEEDED.value,
        payments.paid_at >= start,
        payments.paid_at < end,
    )
    refunds = _refunds(provider).where(
        api_refund_outcomes.c.state == "accepted", refunds_view.c.created_at >= start, refunds_view.c.created_at < end
    )
    movements = freeze_movements_view.c
    freezes = select(freeze_movements_view).where(
        movements.provider == provider, movements.done_at >= start, movements.done_at < end
    )
    with views.read() as connection:
        return [
            *(_payment(row) for row in connection.execute(paid).mappings()),
            *(_refund(row) for row in connection.execute(refunds).mappings()),
            *(_freeze_movement(row) for row in connection.execute(freezes).mappings()),
        ]


def records_named(views: ViewStore, provider: str, keys: Collection[Key]) -> dict[Key, Record]:
    """The platform's records of `provider` that `keys` name, whatever their day or state."""
    payment_ids = [named for kind, reference in keys if kind is RecordKind.PAYMENT if (named := _uuid(reference))]
    refund_ids = [reference for kind, reference in keys if kind is RecordKind.REFUND]
    freeze_refs = [reference for kind, reference in keys if kind.value in FREEZE_KINDS]
    found: list[Record] = []
    with views.read() as connection:
        if payment_ids:
            payments = refund_payments_view.c
            query = select(refund_payments_view).where(
                payments.provider == provider, payments.payment_id.in_(payment_ids)
            )
            found.extend(_payment(row) for row in connection.execute(query).mappings())
        if refund_ids:
            query = _refunds(provider).where(refunds_view.c.refund_id.in_(refund_ids))
            found.extend(_refund(row) for row in connection.execute(query).mappings())
        if freeze_refs:
            movements = freeze_movements_view.c
            query = select(freeze_movements_view).where(movements.provider == provider, movements.ref.in_(freeze_refs))
            found.extend(_freeze_movement(row) for row in connection.execute(query).mappings())
    return {record.key: record for record in found}


def _refunds(provider: str) -> Any:
    outcomes = api_refund_outcomes.c
    return (
        select(refunds_view, outcomes.state)
        .select_from(refunds_view.outerjoin(api_refund_outcomes, outcomes.refund_id == refunds_view.c.refund_id))
        .where(refunds_view.c.provider == provider, refunds_view.c.payment_id.is_not(None))
    )


def _payment(row: Any) -> Record:
    amount: Decimal = row["paid_amount"] if row["paid_amount"] is not None else row["amount"]
    return Record(
        RecordKind.PAYMENT,
        str(row["payment_id"]),
        row["provider"],
        amount,
        PAYMENT_STATES.get(row["status"], RecordStatus.PENDING),
        row["transaction_id"] or "",
        row["paid_at"] or row["requested_at"],
    )


def _refund(row: Any) -> Record:
    status = REFUND_STATES.get(row["state"], RecordStatus.PENDING)
    return Record(RecordKind.REFUND, row["refund_id"], row["provider"], row["amount"], status, at=row["created_at"])


def _freeze_movement(row: Any) -> Record:
    status = RecordStatus.MOVED if row["state"] == FREEZE_DONE else RecordStatus.PENDING
    return Record(
        FREEZE_KINDS[row["kind"]],
        row["ref"],
        row["provider"],
        row["amount"],
        status,
        row["provider_reference"],
        row["done_at"] or row["requested_at"],
    )


def _uuid(reference: str) -> UUID | None:
    try:
        return UUID(reference)
    except ValueError:
        return None


# Queries.


def reconciliations(store: ApiStore, day: date, provider: str | None = None) -> list[ReconciliationRun]:
    """The runs kept for `day` (of one provider, or each), with their differences, the most serious first."""
    runs, differences = api_reconciliations.c, api_reconciliation_differences.c
    query = select(api_reconciliations).where(runs.day == day).order_by(runs.provider)
    found = (
        select(api_reconciliation_differences)
        .where(differences.day == day)
        .order_by(differences.provider, differences.seq)
    )
    if provider is not None:
        query, found = query.where(runs.provider == provider), found.where(differences.provider == provider)
    with store.read() as connection:
        rows = list(connection.execute(query).mappings())
        by_provider: dict[str, list[Difference]] = {}
        for row in connection.execute(found).mappings():
            by_provider.setdefault(row["provider"], []).append(_difference(row))
    return [_run(row, by_provider.get(row["provider"], [])) for row in rows]


def latest_differences(store: ApiStore, limit: int = 20) -> list[tuple[date, str, Difference]]:
    """The differences of the latest days reconciled, newest day first: what the finance screen shows."""
    differences = api_reconciliation_differences.c
    query = (
        select(api_reconciliation_differences)
        .order_by(differences.day.desc(), differences.provider, differences.seq)
        .limit(limit)
    )
    with store.read() as connection:
        return [(row["day"], row["provider"], _difference(row)) for row in connection.execute(query).mappings()]


def _run_row(store: ApiStore, day: date, provider: str) -> Any:
    runs = api_reconciliations.c
    with store.read() as connection:
        return (
            connection.execute(select(api_reconciliations).where(and_(runs.day == day, runs.provider == provider)))
            .mappings()
            .first()
        )


def _run(row: Any, differences: Iterable[Difference]) -> ReconciliationRun:
    return ReconciliationRun(
        row["day"], row["provider"], row["state"], row["compared"], row["ran_at"], row["detail"], tuple(differences)
    )


def _difference_row(run: ReconciliationRun, seq: int, found: Difference) -> dict[str, Any]:
    return {
        "day": run.day,
        "provider": run.provider,
        "seq": seq,
        "kind": found.kind.value,
        "record_kind": found.record_kind.value,
        "reference": found.reference,
        "provider_reference": found.provider_reference,
        "platform_amount": found.platform_amount,
        "provider_amount": found.provider_amount,
        "platform_status": found.platform_status.value if found.platform_status else None,
    }


def _difference(row: Any) -> Difference:
    status = row["platform_status"]
    return Difference(
        DifferenceKind(row["kind"]),
        RecordKind(row["record_kind"]),
        row["reference"],
        row["platform_amount"],
        row["provider_amount"],
        RecordStatus(status) if status else None,
        row["provider_reference"],
    )

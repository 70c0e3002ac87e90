"""The rent ledger after each lease event, for the read models that show it.

Events carry facts (a receipt, the day an assessment was made, a new schedule), not the ledger those facts
lead to: the ledger is the domain's function of the schedule and the receipts (`leasecore.lease.ledger.assess`).
So read models get it the way replay does: the runner folds each lease's events onto the lease, in log
order, and hands the projections the ledger as it stood after each event. Leases followed from batch to
batch stay in memory (the most recently used, up to a bound); one met in the middle of its history (after
a restart, or beyond the bound) is loaded from the event store as it stood before that event.

Most lease events are the daily assessment, which adds no fact: a folded lease then continues the ledger it
last assessed (`assessed_later`) instead of replaying every receipt again, when its schedule, receipts and
adjustments are the very ones that ledger was assessed from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from leasecore.lease.lease import Lease
from leasecore.lease.ledger import Ledger, assessed_later
from leasecore.topics import stored_topics
from projections.projection import Event

LEASE_EVENTS: tuple[type, ...] = (
    Lease.OrderPlaced,
    *(value for value in vars(Lease).values() if isinstance(value, type) and issubclass(value, Lease.Event)),
)
LEASE_TOPICS = frozenset(topic for cls in LEASE_EVENTS for topic in stored_topics(cls))
"""Every topic a lease's events are stored under: folding needs them all, in order."""
KEPT = 1000
"""Leases kept folded by default (`LEASECORE_LEDGER_CACHE`): about 12 KB each, so some 12 MB when full."""


class LeaseLedgers:
    """Leases folded event by event, for the ledger after each event."""

    def __init__(self, app: Application[UUID], kept: int = KEPT) -> None:
        if kept < 1:
            raise ValueError("a ledger cache keeps at least one lease")
        self.app, self.kept = app, kept
        self._leases: OrderedDict[UUID, Lease] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0
        """Leases loaded from the event store because they were not followed up to the event (a measure)."""
        self.deferred = 0
        """Daily assessments left unassessed, overtaken by the lease's next (a measure)."""

    def after(self, events: Iterable[Event], overtaken: Collection[int] = ()) -> dict[tuple[UUID, int], Ledger]:
        """The ledger after each lease event among `events`, by (order id, version).

        A daily assessment in `overtaken` (by `id`: see `overtaken`) is left unassessed when its lease's ledger can be
        continued from before it: it then has no ledger here, and the caller must not apply it. The next assessment
        continues from the ledger before it, as `assessed_later` continues from any earlier day."""
        ledgers: dict[tuple[UUID, int], Ledger] = {}
        with self._lock:
            for event in events:
                if _is_lease_event(type(event)):
                    lease = self._fold(event, bool(overtaken) and id(event) in overtaken)
                    if lease is not None:
                        ledgers[(lease.id, lease.version)] = lease.ledger
        return ledgers

    def __len__(self) -> int:
        """How many leases are kept folded now (never more than `kept`)."""
        return len(self._leases)

    def forget(self) -> None:
        with self._lock:
            self._leases.clear()

    def _fold(self, event: Event, defer: bool = False) -> Lease | None:
        """The lease after `event`; None if `defer` and its ledger was left as it stood before the event."""
        lease = self._leases.pop(event.originator_id, None)
        deferred = False
        if event.originator_version == 1:
            lease = event.mutate(None)
        elif lease is not None and lease.version == event.originator_version - 1:
            continuing = vars(lease).get("ledger_on")
            if defer and isinstance(continuing, _Continuing):
                continuing.defer = True
                try:
                    lease = event.mutate(lease)
                finally:
                    deferred, continuing.defer, continuing.deferred = continuing.deferred, False, False
            else:
                lease = event.mutate(lease)
        elif lease is not None and lease.version == event.originator_version:
            pass  # the same batch read again (a retried transaction)
        else:
            self.loads += 1
            lease = self.app.repository.get(event.originator_id, version=event.originator_version)
        assert isinstance(lease, Lease)
        self.deferred += deferred
        if "ledger_on" not in vars(lease):
            lease.ledger_on = _Continuing(lease)  # type: ignore[method-assign]
        self._leases[event.originator_id] = lease
        while len(self._leases) > self.kept:
            self._leases.popitem(last=False)
        return None if deferred else lease


def overtaken(events: Sequence[Event]) -> set[int]:
    """The daily assessments among `events` (by `id`) that the same lease's very next event, also among them, overtakes:
    the daily assessment of a later day. With no fact between them an assessment only accrues fees and counts days
    overdue on to its day (the domain records one only when a balance changes), so every balance the earlier one
    changed the later one changes again (an installment overdue on the first day is one more day overdue on the
    second) and nothing is paid or waived: a read model whose every row the next assessment rewrites may leave the
    earlier one out (`Projection.assessments_overtaken`), its installments then stamped with the later version as
    they would have been anyway."""
    found: set[int] = set()
    following: dict[UUID, Event] = {}
    for event in reversed(events):
        if type(event) is not Lease.OverdueAssessed:
            continue
        later = following.get(event.originator_id)
        following[event.originator_id] = event
        if later is not None and later.originator_version == event.originator_version + 1 and later.as_of > event.as_of:
            found.add(id(event))
    return found


def _is_lease_event(cls: type) -> bool:
    """Events of this type are a lease's (`isinstance` against the thirty-odd lease event classes took a few
    microseconds an event, asked of every event a rebuild reads)."""
    found = _LEASE_EVENT_TYPES.get(cls)
    if found is None:
        found = _LEASE_EVENT_TYPES[cls] = issubclass(cls, LEASE_EVENTS)
    return found


_LEASE_EVENT_TYPES: dict[type, bool] = {}


class _Continuing:
    """A folded lease's `ledger_on`: the ledger it last assessed continued with the facts recorded since
    (`assessed_later`) while its schedule and terms are the same and its receipts and adjustments only grew;
    otherwise, and whenever continuing would not give the same, the domain's own."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.assessed: tuple[Any, ...] = ()
        self.ledger: Ledger | None = None
        self.defer = False
        """Set for one call (`LeaseLedgers._fold`): leave the ledger as it stands if nothing was recorded since it was
        assessed and `day` is not before its day; `deferred` then says so."""
        self.deferred = False

    def __call__(self, day: date, *more: Any) -> Ledger:
        lease = self.lease
        if more:
            return Lease.ledger_on(lease, day, *more)
        schedule, receipts, adjustments, terms = lease.schedule, lease.receipts, lease.adjustments, lease.terms
        ledger = None
        if self.ledger is not None:
            known_schedule, known_receipts, known_adjustments, known_terms = self.assessed
            if (
                self.defer
                and day >= self.ledger.as_of
                and schedule is known_schedule
                and terms is known_terms
                and receipts is known_receipts
                and adjustments is known_adjustments
            ):
                self.deferred = True
                return self.ledger
            if (
                schedule is known_schedule
                and terms is known_terms
                and _grew(receipts, known_receipts)
                and _grew(adjustments, known_adjustments)
            ):
                known = (len(known_receipts), len(known_adjustments))
                ledger = assessed_later(self.ledger, schedule, terms.late_fee, day, receipts, adjustments, known=known)
        if ledger is None:
            ledger = Lease.ledger_on(lease, day)
        self.assessed, self.ledger = (schedule, receipts, adjustments, terms), ledger
        return ledger


def _grew(facts: tuple[Any, ...], known: tuple[Any, ...]) -> bool:
    """`facts` are `known` (the very objects) and maybe more after them."""
    return facts is known or (
        len(facts) >= len(known) and all(fact is was for fact, was in zip(facts, known, strict=False))
    )

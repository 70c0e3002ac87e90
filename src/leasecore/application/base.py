"""What every command shares: loading aggregates, the configuration in force, retrying on conflict,
and the moves several commands make together (releasing an order's holds, following overdue, closing)."""

from __future__ import annotations

import functools
import itertools
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, ParamSpec, TypeVar, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, Notification, Recording

from leasecore.catalog import (
    CATEGORY_TREE_ID,
    CategoryTree,
    Inventory,
    Product,
    StockUnit,
)
from leasecore.clock import SystemClock
from leasecore.configuration import DOCUMENT_NAMES, Configuration, Configured
from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer
from leasecore.credit.policy import CreditLevels, WaiverPolicy
from leasecore.errors import Busy, LeaseError, NotFound, Refused
from leasecore.lease.billing import BillingPolicy
from leasecore.lease.lease import Lease
from leasecore.money.deposit import Deposit
from leasecore.money.payments import Payment
from leasecore.personal import PersonalDataMapper
from leasecore.ports import Clock, DailyWork, PersonalDataCipher, Ports, StockIndex
from leasecore.snapshots import TaggedSnapshot
from leasecore.topics import register_moved_topics, stored_topics
from leasecore.transcodings import register_transcodings
from leasecore.values import ZERO

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)
P2 = TypeVar("P2")

DEFAULT_TIMEZONE = "Asia/Shanghai"
CONFIGURATION_TOPICS = tuple(
    topic for event_class in (Configuration.Published, Configuration.Revised) for topic in stored_topics(event_class)
)

CONFIGURATION_CHECKED = 10
"""How many configuration events after the copy in memory a save's check reads (one not its own is enough)."""
RECENT_EVENTS = 4096
"""How many of the events it saved lately a process holds for its read models' runner (the oldest go first)."""
FOLLOWED_PAGE = 1000
"""Events read a statement when looking for aggregates other processes changed (`forget_changed_elsewhere`)."""


def command(method: Callable[P, R]) -> Callable[P, R]:
    """Run a command again, from a fresh load, when another writer got there first, or when an aggregate it
    decided on changed before it saved (or, deciding to save nothing, before it answered)."""

    @functools.wraps(method)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        app: Commands = args[0]  # type: ignore[assignment]
        running = app._running
        outermost = not running.depth
        running.depth += 1
        try:
            for attempt in itertools.count(1):
                if outermost:
                    running.start(fresh=attempt > 1)
                try:
                    result = method(*args, **kwargs)
                except IntegrityError:
                    if not outermost:
                        raise  # the command that began the work runs again, from its first read
                    app.count_conflict(method.__name__, retried=attempt < app.retries)
                    if attempt >= app.retries:
                        raise Busy(f"{method.__name__} kept conflicting with other writers; try again") from None
                    time.sleep(random.uniform(0, 0.002 * 2**attempt))
                    continue
                except LeaseError:
                    # A refusal decided under a configuration, or on an aggregate, that has changed since is run
                    # again on the state in force (a save is checked in its transaction; a refusal saves nothing).
                    if not (outermost and app._decided_on_stale()):
                        raise
                    app.count_conflict(method.__name__, retried=attempt < app.retries)
                    if attempt >= app.retries:
                        raise
                    continue
                if outermost and running.unchecked and app._stale_reads(running.unchecked):
                    # It answered from aggregates read after its last save (or it saved nothing), one of which
                    # has changed since: it answers again on their state now.
                    app.count_conflict(method.__name__, retried=attempt < app.retries)
                    if attempt >= app.retries:
                        raise Busy(f"{method.__name__} kept reading aggregates other writers changed; try again")
                    continue
                return result
            raise AssertionError("unreachable")
        finally:
            running.depth -= 1
            if outermost:
                running.start(fresh=False)

    return retrying


@dataclass
class SaveChecks:
    """What a save must find unchanged, handed to the event store with its events: a store that can run the
    checks in the insert's own statement answers them here (`answered`), else the save runs them after it."""

    since: int | None
    """Configuration events after this log position, up to `limit` (None: the configuration is not checked)."""
    topics: Sequence[str]
    limit: int
    versions: dict[UUID, int]
    """Aggregates read, not written, and the version used: which have an event stored after it."""
    answered: bool = False
    changes: list[tuple[int, UUID]] = field(default_factory=list)
    stale: list[UUID] = field(default_factory=list)


class _Running(threading.local):
    """What the command running on this thread has read: the configuration and the aggregate versions its save
    must check."""

    depth = 0
    configured: Configured | None = None
    fresh = False
    """Run again after a conflict: every aggregate is brought up to date from the store before use."""

    def __init__(self) -> None:
        self.reads: dict[UUID, int] = {}
        """The version of each aggregate the command decided on (0: it did not exist)."""
        self.unchecked: set[UUID] = set()
        """The aggregates read since the command's last save checked them."""

    def start(self, *, fresh: bool) -> None:
        self.configured = None
        self.fresh = fresh
        self.reads = {}
        self.unchecked = set()

    def read(self, aggregate_id: UUID, version: int) -> None:
        known = self.reads.get(aggregate_id)
        if known is None or version < known:
            self.reads[aggregate_id] = version
        self.unchecked.add(aggregate_id)


class _Collected(ProcessingEvent[UUID]):
    """The events a save collects, as the library collects them but without its runtime Protocol checks on
    every object saved (a tenth of a command's time on Python 3.11): the commands save aggregates."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class _Repository(Repository[UUID]):
    """The library's repository, loading an aggregate that is not kept in memory with one query for its latest
    snapshot and the events after it where the store can ask both at once (else two, as the library does)."""

    def _reconstruct_aggregate(
        self, aggregate_id: UUID, version: int | None, projector_func: ProjectorFunction[Any, Any]
    ) -> Any:
        snapshot_store = self.snapshot_store
        select = getattr(self.event_store.recorder, "select_with_snapshot", None)
        if select is None or snapshot_store is None or version is not None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        snapshot, events = select(aggregate_id, snapshot_store.recorder)
        stored = ([snapshot] if snapshot is not None else []) + events
        aggregate = projector_func(None, (self.event_store.mapper.to_domain_event(event) for event in stored))
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version None not found.")
        return aggregate

    def keep_loaded(self, aggregate_ids: Sequence[UUID]) -> None:
        """Load those of these aggregates that are not kept in memory, in one query where the store can ask for
        many at once, and keep them (as if each had been loaded alone: a command uses a kept aggregate without a
        query, and its save checks that it has not changed since, else the command runs again on fresh loads)."""
        cache, snapshot_store = self.cache, self.snapshot_store
        select = getattr(self.event_store.recorder, "select_many_with_snapshots", None)
        if cache is None or snapshot_store is None or select is None:
            return
        missing = []
        for aggregate_id in aggregate_ids:
            try:
                cache.get(aggregate_id)
            except KeyError:
                missing.append(aggregate_id)
        if not missing:
            return
        to_domain_event = self.event_store.mapper.to_domain_event
        for aggregate_id, (snapshot, events) in select(missing, snapshot_store.recorder).items():
            stored = ([snapshot] if snapshot is not None else []) + events
            aggregate = project_aggregate(None, (to_domain_event(event) for event in stored))
            if aggregate is None:
                continue
            try:
                cache.get(aggregate_id)  # another thread kept it meanwhile: its copy may be newer
            except KeyError:
                cache.put(aggregate_id, aggregate)


class Commands(Application[UUID]):
    """Loading, configuration and the steps shared by the platform's commands."""

    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "10000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
    """Aggregates stay in memory between commands and are brought up to date from the events stored since
    (one query) before each use, so the configuration documents are replayed once per version, not per command."""

    snapshot_class = TaggedSnapshot
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Lease: 20,
        Inventory: 50,
        StockUnit: 50,
        Customer: 50,
        CreditLine: 50,
        Product: 50,
        CategoryTree: 50,
        Configuration: 20,
    }
    """Aggregates that can grow over a long life load from their latest snapshot, taken every so many events."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        retries: int = 12,
        daily_work: DailyWork | None = None,
        stock_index: StockIndex | None = None,
        ports: Ports | None = None,
        personal_data: PersonalDataCipher | None = None,
    ) -> None:
        """`ports` are the outside services the commands call, after deciding and, where they can, after saving;
        `personal_data` seals personal fields in the stored events under their customer's key (none: stored plain)."""
        register_moved_topics()
        self.personal_data = personal_data
        self._saved = threading.local()
        self._recent: OrderedDict[int, Any] = OrderedDict()
        """The events this process saved lately, by notification id, until the runner takes them (`recently_saved`)."""
        self._recent_lock = threading.Lock()
        self._running = _Running()
        self._configuration: Configured | None = None
        self._configuration_checked = 0
        """The log position up to which no configuration event is newer than the copy in memory."""
        self._configuration_lock = threading.Lock()
        self._followed: int | None = None
        """The log position up to which kept aggregates changed elsewhere have been forgotten (None: not yet)."""
        self.forgotten = 0
        """Kept aggregates dropped because another process changed them (a measure)."""
        self._conflicts = itertools.count(1)
        self.conflicts = 0
        """Saves refused because another writer got there first (each retried): a measure of contention."""
        self.stale_reads = 0
        """Of those, the times an aggregate a command had read (kept in memory) had changed in the store."""
        self.conflict_listeners: list[Callable[[str, bool], None]] = []
        """Told of each conflict: the command's name, and whether it runs again (the service's metrics)."""
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.retries = retries
        self.daily_work = daily_work
        self.stock_index = stock_index
        self.ports = ports = ports or Ports()
        self.bureau, self.sms, self.identity, self.esign = ports.bureau, ports.sms, ports.identity, ports.esign
        self.logistics, self.gateways, self.notify_url = ports.logistics, ports.gateways, ports.notify_url

    def count_conflict(self, command: str = "", *, retried: bool = True) -> None:
        self.conflicts = next(self._conflicts)
        for listener in self.conflict_listeners:
            listener(command, retried)

    def saved_position(self) -> int | None:
        """The notification id of this thread's latest save, if it saved anything (read your writes)."""
        position: int | None = getattr(self._saved, "position", None)
        return position

    def port(self, port: P2 | None, name: str) -> P2:
        """A configured port, or a refusal naming the one missing."""
        if port is None:
            raise Refused(f"no {name} provider is configured")
        return port

    repository: _Repository

    def construct_repository(self) -> _Repository:
        repository = super().construct_repository()
        ours = _Repository(
            event_store=repository.event_store,
            snapshot_store=repository.snapshot_store,
            fastforward=repository.fastforward,
            fastforward_skipping=repository.fastforward_skipping,
            deepcopy_from_cache=repository.deepcopy_from_cache,
        )
        ours.cache = repository.cache
        return ours

    def construct_mapper(self) -> Mapper[UUID]:
        if self.personal_data is None:
            return super().construct_mapper()
        return PersonalDataMapper(self.construct_transcoder(), self.personal_data, self._customer_of)

    def _customer_of(self, aggregate_id: UUID) -> UUID | None:
        """The customer named by an aggregate's first stored event (a conversation's), if any."""
        first = self.recorder.select_events(aggregate_id, limit=1)
        if not first:
            return None
        customer_id: UUID | None = getattr(self.mapper.to_domain_event(first[0]), "customer_id", None)
        return customer_id

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    def get(self, cls: type[A], aggregate_id: UUID, kind: str, *, to_change: bool = True) -> A:
        """The aggregate as it stands. Not `to_change`, it is the cached copy itself, not a deep copy of it:
        for what a command only reads (a product, a SKU's register, a configuration document).

        Inside a command an aggregate kept in memory is used as kept, without asking the store for events
        since: the version used is remembered, and the command's save checks in its own transaction that none
        has changed (else it is a conflict, and the command runs again on fresh loads). Outside a command (a
        query) the kept aggregate is first brought up to date from the store."""
        running = self._running
        aggregate: Aggregate | None = None
        if running.depth and not running.fresh:
            aggregate = self._kept(aggregate_id, copy=to_change)
        if aggregate is None:
            try:
                aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
            except AggregateNotFoundError:
                if running.depth:
                    running.read(aggregate_id, 0)
                raise NotFound(kind, aggregate_id) from None
        if running.depth:
            running.read(aggregate_id, aggregate.version)
        if not isinstance(aggregate, cls):
            raise NotFound(kind, aggregate_id)
        return aggregate

    def _kept(self, aggregate_id: UUID, *, copy: bool) -> Aggregate | None:
        """The aggregate kept in memory as it is (a deep copy of it if `copy`), or None if none is kept."""
        repository = self.repository
        if repository.cache is None:
            return None
        try:
            kept = cast(Aggregate, repository.cache.get(aggregate_id))
        except KeyError:
            return None
        if not (copy and repository.deepcopy_from_cache):
            return kept
        lock = repository._use_fastforward_lock(aggregate_id)
        try:
            with lock:  # not torn by another thread bringing it up to date meanwhile
                return deepcopy(kept)
        finally:
            repository._disuse_fastforward_lock(aggregate_id)

    def _keep_saved(self, events: Sequence[Any]) -> None:
        """Bring the kept copies of the aggregates just saved up to date with the events saved (those kept
        at the version the save started from), so that the next command starts from them without a query."""
        repository = self.repository
        if repository.cache is None:
            return
        for event in events:
            try:
                kept = cast(Aggregate, repository.cache.get(event.originator_id))
            except KeyError:
                continue
            lock = repository._use_fastforward_lock(event.originator_id)
            try:
                with lock:
                    if kept.version == event.originator_version - 1:
                        try:
                            event.mutate(kept)
                        except Exception:
                            repository.cache.get(event.originator_id, evict=True)
                            raise
            finally:
                repository._disuse_fastforward_lock(event.originator_id)

    def lease(self, order_id: UUID) -> Lease:
        return self.get(Lease, order_id, "order")

    def deposit(self, order_id: UUID) -> Deposit:
        return self.get(Deposit, Deposit.create_id(order_id), "deposit")

    def customer(self, customer_id: UUID) -> Customer:
        return self.get(Customer, customer_id, "customer")

    def credit_line(self, customer_id: UUID) -> CreditLine:
        return self.get(CreditLine, CreditLine.create_id(customer_id), "credit line")

    def product(self, product_id: UUID, *, to_change: bool = True) -> Product:
        return self.get(Product, product_id, "product", to_change=to_change)

    def inventory(self, sku_id: UUID, *, to_change: bool = True) -> Inventory:
        return self.get(Inventory, Inventory.create_id(sku_id), "sku", to_change=to_change)

    def categories(self) -> CategoryTree:
        try:
            return self.get(CategoryTree, CATEGORY_TREE_ID, "category tree")
        except NotFound:
            return CategoryTree(timestamp=self.clock.now())

    def _credit_line_or_new(self, customer_id: UUID, now: datetime) -> CreditLine:
        try:
            return self.credit_line(customer_id)
        except NotFound:
            return CreditLine.grant(customer_id, ZERO, None, now)

    def payment(self, payment_id: UUID) -> Payment:
        return self.get(Payment, payment_id, "payment")

    def document(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        """A configuration document and its version (the current one unless asked)."""
        if name not in DOCUMENT_NAMES:
            raise NotFound("configuration", name)
        try:
            config: Configuration = self.repository.get(
                Configuration.create_id(name), version=version, deepcopy_from_cache=False
            )
        except AggregateNotFoundError:
            raise NotFound("configuration", name if version is None else f"{name} v{version}") from None
        return config.version, config.document

    def configured(self) -> Configured:
        """Every configuration document in force, with its version.

        A command uses the copy kept in memory, read from the store once per version, and its save checks,
        in the save's own transaction, that no document has changed since: if one has, the save is refused
        as a conflict and the command runs again under the new version. So a command never acts on a stale
        version, and no command reads the documents again. Outside a command (a query, a screen) the copy serves
        when the log shows no document changed since it was read, else the documents are read anew."""
        if not self._running.depth:
            return self._current_configured()
        if self._running.configured is None:
            configured = self._configuration
            if configured is None:
                configured = self._configuration = self._read_configured()
            self._running.configured = configured
        return self._running.configured

    def configuration_changed(self) -> bool:
        """Whether a configuration event was stored after the copy in memory was read (then the copy is dropped)."""
        with self._configuration_lock:
            since = self._configuration_checked
        changed = bool(self._configuration_events(since))
        if changed:
            with self._configuration_lock:
                self._configuration = None
        return changed

    def _configuration_events(self, since: int, *, limit: int = 1, stop: int | None = None) -> Sequence[Notification]:
        """Configuration events stored after position `since` (up to `stop`), oldest first."""
        return self.recorder.select_notifications(
            since, limit, stop=stop, topics=CONFIGURATION_TOPICS, inclusive_of_start=False
        )

    def _current_configured(self) -> Configured:
        """The copy in memory if no configuration event was stored since it was read (two short queries: the
        log's head, then configuration events up to it), else the documents read anew and kept."""
        with self._configuration_lock:
            configured, since = self._configuration, self._configuration_checked
        if configured is not None:
            head = self.recorder.max_notification_id() or 0
            changed = head > since and self._configuration_events(since, stop=head)
            if not changed:
                with self._configuration_lock:
                    if self._configuration is configured:
                        self._configuration_checked = max(self._configuration_checked, head)
                return configured
        configured = self._read_configured()
        with self._configuration_lock:
            self._configuration = configured
        return configured

    def _read_configured(self) -> Configured:
        checked = self.recorder.max_notification_id() or 0
        documents = {}
        for name in DOCUMENT_NAMES:
            try:
                documents[name] = self.document(name)
            except NotFound:
                continue
        with self._configuration_lock:
            self._configuration_checked = checked
        return Configured(documents)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record the events; a command records them only if the configuration it read is still in force and
        no aggregate it read without writing has changed since it read it."""
        running = self._running
        writing = {event.originator_id for event in processing_event.events}
        read = {} if not (running.depth and writing) else running.reads
        others = {aggregate_id: version for aggregate_id, version in read.items() if aggregate_id not in writing}
        if running.configured is None and not others:
            recordings = self._record_unchecked(processing_event)
        else:
            transaction = getattr(self.recorder, "transaction", None)
            if transaction is None:  # in memory: one lock orders the checks and every save
                with self._configuration_lock:
                    self._check_reads(others)
                    recordings = super()._record(processing_event)
                    if running.configured is not None:
                        self._check_configuration(writing, recordings)
            else:
                since = self._configuration_checked if running.configured is not None else None
                checks = SaveChecks(since, CONFIGURATION_TOPICS, CONFIGURATION_CHECKED, others)
                processing_event.saved_kwargs["checks"] = checks
                with transaction(commit=True):
                    recordings = super()._record(processing_event)
                    self._check_saved(writing, recordings, checks)
        if running.depth and writing:
            for event in processing_event.events:
                read[event.originator_id] = event.originator_version
            running.unchecked.clear()
        return recordings

    def _record_unchecked(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        if getattr(self.recorder, "transaction", None) is None:
            with self._configuration_lock:
                return super()._record(processing_event)
        return super()._record(processing_event)

    def _check_saved(self, writing: set[UUID], recordings: list[Recording[UUID]], checks: SaveChecks) -> None:
        """The configuration's check and the aggregates' check of a save in its transaction: answered by the
        insert's own statement where the store can, else in one query where it can ask both at once."""
        configuration = checks.since is not None
        if not checks.answered:
            select_changes = getattr(self.recorder, "select_changes", None)
            if select_changes is None or not (configuration and checks.versions):
                if configuration:
                    self._check_configuration(writing, recordings)
                self._check_reads(checks.versions)
                return
            checks.changes, checks.stale = select_changes(
                checks.since, checks.topics, checks.limit, checks.versions
            )
        if configuration:
            self._check_configuration(writing, recordings, checks.changes)
        if checks.stale:
            self.stale_reads += 1
            raise IntegrityError("an aggregate the command read changed before its save")

    def _check_reads(self, versions: dict[UUID, int]) -> None:
        """Refuse the save (a conflict: the command runs again, on fresh loads) if an aggregate the command read
        has an event stored after the version it used. Run after this save's insert (or, in memory, under the
        lock every save takes), so no event can be stored between the check and the save's commit."""
        if versions and self._stale_reads(versions):
            raise IntegrityError("an aggregate the command read changed before its save")

    def _stale_reads(self, aggregate_ids: dict[UUID, int] | set[UUID]) -> list[UUID]:
        """Which of these aggregates read by the command have an event stored after the version it used."""
        reads = self._running.reads
        versions = {aggregate_id: reads[aggregate_id] for aggregate_id in aggregate_ids}
        select_newer = getattr(self.recorder, "select_newer", None)
        if select_newer is not None:
            stale: list[UUID] = select_newer(versions)
        else:
            stale = [i for i, version in versions.items() if self.recorder.select_events(i, gt=version, limit=1)]
        if stale:
            self.stale_reads += 1
        return stale

    def _decided_on_stale(self) -> bool:
        """Whether a refusal was decided under a configuration or on an aggregate that has changed since."""
        running = self._running
        if running.configured is not None and self.configuration_changed():
            return True
        return bool(running.unchecked) and bool(self._stale_reads(running.unchecked))

    def _check_configuration(
        self, writing: set[UUID], recordings: list[Recording[UUID]], found: Sequence[tuple[int, object]] | None = None
    ) -> None:
        """Refuse the save (a conflict: the command runs again, under the new version) if a configuration
        document changed after the copy in memory was read: one query for configuration events in the log
        since the last check. It runs after this save's insert, which on PostgreSQL locked the events table
        and on SQLite took the write lock, so every event before this save's is committed and none can be
        added until it commits: the log is checked up to this save's own position."""
        if found is None:
            events = self._configuration_events(self._configuration_checked, limit=CONFIGURATION_CHECKED)
            found = [(n.id, n.originator_id) for n in events]
        changes = [position for position, originator_id in found if originator_id not in writing]
        if changes:
            self._configuration = None
            raise IntegrityError(f"the configuration changed (event {changes[0]}) while a command used it")
        if recordings:
            position = max(recording.notification.id for recording in recordings)
            self._configuration_checked = max(self._configuration_checked, position)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save as the library does (collect, record, snapshot, notify), remembering on this thread where in the
        log the last save landed; a save of a configuration document drops the copy in memory."""
        processing_event = _Collected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._keep_saved(processing_event.events)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        if recordings:
            self._saved.position = max(recording.notification.id for recording in recordings)
            self._saved.events = processing_event.events
            with self._recent_lock:
                for recording in recordings:
                    self._recent[recording.notification.id] = recording.domain_event
                while len(self._recent) > RECENT_EVENTS:
                    self._recent.popitem(last=False)
            if any(isinstance(obj, Configuration) for obj in objs):
                self._configuration = None
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot, every so many events, the aggregate just saved as the command holds it. The library
        instead loads it again from its previous snapshot and the events since, which for a customer with
        thousands of orders decoded them all once more. An aggregate saved with more events past the one due
        is loaded at that event's version, as the library does."""
        if not self.snapshots:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if aggregate is None or interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                snapshot_class = getattr(type(aggregate), "Snapshot", self.snapshot_class)
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, event.originator_version)

    def forget_changed_elsewhere(self) -> int:
        """Drop from memory the kept aggregates that events stored since the last call have moved past (another
        process's saves; this process's own bring its copies along as they save), and return how many.

        A command uses a kept aggregate without asking the store, and its save checks that it has not changed: with
        several processes, a customer's commands served by one after another had changed the customer ran once to
        be refused at the save and then again from fresh loads (a quarter of the orders at 16 clients on two
        processes, the second run costing the whole command again). Dropped, the aggregate is loaded afresh at its
        next use (one query). Nothing rests on it: a save still checks every aggregate it read. The first call only
        notes where the log ends."""
        cache = self.repository.cache
        select = getattr(self.recorder, "select_originators", None)
        if cache is None or select is None:
            return 0
        if self._followed is None:
            self._followed = self.recorder.max_notification_id() or 0
            return 0
        forgotten = 0
        while page := select(self._followed, FOLLOWED_PAGE):
            for position, aggregate_id, version in page:
                self._followed = position
                try:
                    kept = cast(Aggregate, cache.get(aggregate_id))
                except KeyError:
                    continue
                if kept.version < version:
                    cache.get(aggregate_id, evict=True)
                    forgotten += 1
            if len(page) < FOLLOWED_PAGE:
                break
        self.forgotten += forgotten
        return forgotten

    def saved_events(self) -> Sequence[Any]:
        """The events of this thread's latest save (a command's answer from what it just wrote)."""
        events: Sequence[Any] = getattr(self._saved, "events", ())
        return events

    def recently_saved(self, notification_id: int) -> Any | None:
        """The event this process saved at that position, if it still holds it, and then no more: the read models'
        runner takes it rather than decoding what it reads back from the log (the very event, immutable, which
        the log's copy decodes to)."""
        with self._recent_lock:
            return self._recent.pop(notification_id, None)

    def document_versions(self) -> dict[str, int]:
        return self.configured().versions

    def score_range(self) -> tuple[int, int]:
        return self.configured().score_range

    def billing_policy(self) -> BillingPolicy:
        return self.configured().billing()

    def waiver_policy(self) -> WaiverPolicy:
        return self.configured().waiver_policy()

    def credit_levels(self) -> CreditLevels:
        return self.configured().credit_levels()

    def local_today(self) -> date:
        """Today in the billing timezone (Asia/Shanghai until billing is configured)."""
        try:
            return self.billing_policy().late_fee_rule.local_date(self.clock.now())
        except Refused:
            return self.clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()

    def _follow_overdue(self, lease: Lease, now: datetime) -> list[Aggregate]:
        """Keep the credit line's block and the collection stage in step with the ledger."""
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        if lease.ledger.is_overdue:
            credit_line.mark_overdue(lease.id, now)
        else:
            credit_line.clear_overdue(lease.id, now)
            lease.move_collection_stage(None, now)
        return [credit_line]

    def _close(self, lease: Lease, deposit: Deposit, now: datetime) -> list[Aggregate]:
        deposit.refund("settled", now)
        deposit.unfreeze_all("settled", now)
        lease.settle(now)
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        credit_line.release(lease.id, now)
        credit_line.clear_overdue(lease.id, now)
        return [credit_line]

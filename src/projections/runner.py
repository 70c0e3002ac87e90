"""Running projections exactly once: catch up, follow, rebuild, wait until a position is read.

A batch of notifications is applied in one transaction that also moves the projection's
position, and only if the position is still where the batch started (`UPDATE … WHERE position =
old`), so a batch commits once or not at all even when two runners race. On PostgreSQL each
projection is run by one process at a time: the holder of its session advisory lock
(`pg_try_advisory_lock`, on the runner's own connection, which also LISTENs for the event store's
NOTIFY); when that connection goes, so do its locks, and another process takes over from the
stored position. SQLite and `memory:` poll the notification log.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
import os
import re
import select
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from sqlalchemy import BigInteger, Column, Connection, String, Table, TextClause, bindparam, inspect, text, update
from sqlalchemy import select as select_rows

from leasecore.lease.lease import Lease
from projections.ledgers import KEPT, LEASE_TOPICS, LeaseLedgers, overtaken
from projections.projection import Batch, Event, Held, Projection
from projections.store import Instant, ViewStore, metadata

log = logging.getLogger(__name__)

tracking = Table(
    "projections_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", Instant, nullable=False),
)
"""Where each projection stands in the notification log, and the tables and handlers it was built with."""

Progress = Callable[[int, int, int], None]
"""Called after each batch with (position reached, head, events applied so far)."""

REBUILD_KEPT_ROWS = 10_000
"""Keys of a table a rebuild holds in memory (an order's dozen installment rows are one key) before it writes what
it applied and lets that table's rows go: some hundred megabytes at most."""
REBUILD_COLLECT_AFTER = 50_000
"""Objects allocated (less those freed) between the garbage collector's youngest collections while a rebuild runs,
instead of Python's 700: the rows, leases and ledgers a rebuild holds are long-lived, and each collection walked
them again; collecting at the usual pace was a fifth of a rebuild's CPU time."""


@dataclass(frozen=True)
class ProjectionStatus:
    """Where a projection stands against the head of the notification log."""

    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did: events applied out of the `head` notifications in the log, and how long."""

    names: tuple[str, ...]
    events: int
    head: int
    seconds: float

    @property
    def rate(self) -> float:
        """Notifications of the log rebuilt per second."""
        return self.head / self.seconds if self.seconds > 0 else float(self.head)


@dataclass(frozen=True)
class Listener:
    """A process woken after batches holding events of its topics (None: every batch)."""

    wake: Callable[[], None]
    topics: frozenset[str] | None


GATHER = 0.05
"""Seconds the follower waits for more events once woken, unless a reader waits (see `ProjectionRunner._gather`)."""


class _Reading(NamedTuple):
    topics: dict[str, frozenset[str]]
    wanted: list[str]
    folding: bool


class _Moved(Exception):
    """Another runner moved the position since this batch started: read it again."""


def _move(connection: Connection, group: Sequence[Projection], position: int, end: int) -> None:
    """Move each read model's position from `position` to `end` in the transaction that applies the events between
    (`_Moved` if another runner moved one meanwhile): one statement for the group, not one per read model (on
    PostgreSQL each was a round trip, fifteen a batch)."""
    names = tuple(projection.name for projection in group)
    moved = connection.execute(_moving(names), {"from_": position, "to": end, "at": datetime.now(UTC)})
    if moved.rowcount != len(names):
        raise _Moved(", ".join(names))


@functools.lru_cache(maxsize=64)
def _moving(names: tuple[str, ...]) -> TextClause:
    """The statement moving these read models' positions, written once per group (the names in it: an expanding
    `IN` list would be rendered again on every batch)."""
    if not all(_NAME.fullmatch(name) for name in names):
        raise ValueError(f"read model names are lower-case words: {names}")
    listed = ", ".join(f"'{name}'" for name in names)
    return text(
        f"UPDATE {tracking.name} SET position = :to, updated_at = :at WHERE position = :from_ AND name IN ({listed})"
    ).bindparams(bindparam("at", type_=Instant))


_NAME = re.compile(r"[a-z][a-z0-9_]*")


class ProjectionRunner:
    """Keeps a set of projections up to date with an application's notification log."""

    def __init__(
        self,
        app: Application[UUID],
        views: ViewStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        ledger_cache: int = KEPT,
        gather: float = GATHER,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.app, self.views = app, views
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size, self.poll_interval, self.gather = batch_size, poll_interval, gather
        self.restarts = 0
        self.ledgers = LeaseLedgers(app, ledger_cache)
        self.rebuild_kept = REBUILD_KEPT_ROWS
        self._applied: dict[str, int] = dict.fromkeys(self.projections, 0)
        self._stored: dict[str, int] = {}
        """Each projection's stored position as this runner last read or moved it: the follower starts each run
        from here instead of asking (a position another process moved meanwhile shows at the batch's `_move`)."""
        self._reading: dict[tuple[str, ...], _Reading] = {}
        """What a batch of a group of projections reads, worked out once per group (see `_reading_for`)."""
        self.listeners: list[Listener] = []
        """Told after each batch this runner applies that holds events of their topics (processes that react to new
        read-model rows or events); see `listen`."""
        self._processing = threading.Lock()
        self._progress = threading.Condition()
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._urgent = threading.Event()
        """Set by a reader waiting for a position: the follower applies what is there without gathering more."""
        self._thread: threading.Thread | None = None
        channel = str(getattr(app.recorder, "channel_name", "leasecore_events"))
        self._locks = _AdvisoryLocks(views, channel) if views.is_postgres else None
        self.setup()
        self._interrupt, self._interrupter = os.pipe()
        for end in (self._interrupt, self._interrupter):
            os.set_blocking(end, False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.projections)

    # Tables and positions.

    def setup(self) -> list[str]:
        """Create what is missing; a projection whose tables or handlers changed starts over."""
        reset = []
        with self.views.begin() as connection:
            self._serialise_ddl(connection)
            tracking.create(connection, checkfirst=True)
            stored = dict(connection.execute(select_rows(tracking.c.name, tracking.c.fingerprint)).tuples().all())
            existing = set(inspect(connection).get_table_names())
            for projection in self.projections.values():
                complete = all(table.name in existing for table in projection.tables)
                if stored.get(projection.name) != projection.fingerprint or not complete:
                    self._reset(connection, projection)
                    reset.append(projection.name)
        return reset

    def positions(self) -> dict[str, int]:
        """Each projection's stored position (what this runner knows in memory is brought up to it)."""
        with self.views.read() as connection:
            stored = dict(connection.execute(select_rows(tracking.c.name, tracking.c.position)).tuples().all())
        found = {name: int(stored.get(name, 0)) for name in self.projections}
        self._stored.update(found)
        self._learn(found)
        return found

    def _learn(self, positions: dict[str, int]) -> None:
        with self._progress:
            for name, position in positions.items():
                self._applied[name] = max(self._applied.get(name, 0), position)
            self._progress.notify_all()

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def status(self) -> list[ProjectionStatus]:
        head, positions = self.head(), self.positions()
        return [ProjectionStatus(name, positions[name], head) for name in self.projections]

    # Catching up.

    def catch_up(
        self, names: Iterable[str] | None = None, *, progress: Progress | None = None, timeout: float = 60.0
    ) -> int:
        """Apply everything recorded so far; returns how many events this process applied.

        A projection another process runs (PostgreSQL) is waited for, at most `timeout` seconds."""
        return self._catch_up(self._chosen(names), progress, timeout, rebuilding=False)

    def rebuild(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: Progress | None = None,
        timeout: float = 3600.0,
        chunk: int | None = None,
    ) -> RebuildReport:
        """Drop the read models' tables, reset their positions, and apply the log again from the first event.

        The rows are held in memory and written once a chunk of the log is applied, with plain inserts (and deletes
        first for keys a chunk before wrote), in one transaction that also moves the positions to the chunk's end.
        A chunk is `chunk` events, by default the whole log; a chunk also ends once a table holds `rebuild_kept`
        keys, whose rows are then let go (read back when touched again). A crash loses only the chunk under way:
        whoever runs the read models next carries on from the positions stored, as after any batch (from the first
        event if no chunk was written: the read models are then rebuilt again). If another runner moved a position
        meanwhile, the rows held are dropped and the rebuild catches up batch by batch like any runner."""
        if chunk is not None and chunk < 1:
            raise ValueError("a chunk is at least one event")
        started = time.perf_counter()
        chosen = self.reset(names)
        head = self.head()
        applied = self._catch_up(chosen, progress, timeout, rebuilding=True, chunk=chunk)
        return RebuildReport(tuple(chosen), applied, head, time.perf_counter() - started)

    def _catch_up(
        self,
        chosen: list[str],
        progress: Progress | None,
        timeout: float,
        *,
        rebuilding: bool,
        chunk: int | None = None,
    ) -> int:
        head = self.head()
        with self._processing:
            try:
                owned = self._owned(chosen)
                applied = self._rebuild_held(owned, head, progress, chunk) if rebuilding else 0
                applied += self._run(owned, head, progress)
            finally:
                self._release_unless_following()
        others = [name for name in chosen if name not in owned]
        if others and not self._reached(others, head, timeout):
            raise TimeoutError(f"{', '.join(others)} run by another process and still behind {head} after {timeout}s")
        return applied

    def reset(self, names: Iterable[str] | None = None) -> list[str]:
        """Drop and create the read models' tables and put their positions back to 0, at once."""
        chosen = self._chosen(names)
        self.ledgers.forget()
        with self._processing, self.views.begin() as connection:
            self._serialise_ddl(connection)
            for name in chosen:
                self._reset(connection, self.projections[name])
        return chosen

    def wait_until(self, position: int, timeout: float = 5.0) -> bool:
        """Read your writes: True once every projection has applied `position` (the notification id of a
        command just saved), False if that takes longer than `timeout` seconds. While this runner follows
        the log it is told in memory as each batch commits; it reads the stored positions only for
        projections another process runs."""
        deadline = time.monotonic() + timeout
        while True:
            if min(self._applied.values(), default=position) >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.following:
                self._urgent.set()
                self._nudge()
                with self._progress:
                    self._progress.wait_for(
                        lambda: min(self._applied.values(), default=position) >= position, min(remaining, 0.05)
                    )
                if set(self.projections) - self.owned():
                    self.positions()
                continue
            with self._processing:
                try:
                    self._run(self._owned(self.names), self.head(), None, deadline)
                finally:
                    self._release_unless_following()
            if min(self.positions().values(), default=position) < position:
                time.sleep(min(max(deadline - time.monotonic(), 0), 0.02))

    # Following.

    @property
    def following(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Follow the log in a background thread, restarted from the stored positions on failure."""
        if self.following:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name="leasecore-projections", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._urgent.set()
        self._nudge()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._locks is not None:
            self._locks.close()

    def close(self) -> None:
        self.stop()
        ends, (self._interrupt, self._interrupter) = (self._interrupt, self._interrupter), (-1, -1)
        for end in ends:
            if end >= 0:
                os.close(end)

    def owned(self) -> set[str]:
        """The projections this runner may run now (on PostgreSQL: whose lock it holds)."""
        return set(self.projections) if self._locks is None else set(self._locks.held)

    def _supervise(self) -> None:
        pause = 0.1
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._follow()
                return
            except Exception as error:
                log.warning("projection runner restarts from its stored positions after: %s", error, exc_info=True)
                if self._locks is not None:
                    self._locks.close()
                self.restarts += 1  # counted once the lost connection is let go
                pause = 0.1 if time.monotonic() - started > 60 else min(pause * 2, 5.0)
                self._stopping.wait(pause)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            if self._locks is not None:  # other processes save to this store: forget what they changed
                getattr(self.app, "forget_changed_elsewhere", lambda: 0)()
            with self._processing:
                owned = self._owned(self.names)
                if owned:  # a standby, while another process runs them all, reads nothing more
                    self._run(owned, self.head(), None, remembered=True)
            with self._progress:
                self._progress.notify_all()
            if self._stopping.is_set():
                return
            if self._locks is not None:
                self._locks.wait(self.poll_interval, self._interrupt)
            else:
                self._wake.wait(self.poll_interval)
                self._wake.clear()
            _drain(self._interrupt)
            self._gather()

    def _gather(self) -> None:
        """Woken by a new event, wait `gather` seconds for more before applying them, unless a reader is waiting
        for a position (`wait_until`) or one waits meanwhile. Each batch costs the read models a read and a write
        of every table it touches (two dozen statements): at one order at a time that was most of the service's
        work, and orders gathered over 50 ms share them. Nothing waits on the gathering but the staff's screens
        and background processes, which see a change that much later; a client reading its own write (X-Read-After)
        or a command waiting for the read models ends it at once."""
        if self.gather > 0 and not self._urgent.is_set():
            self._urgent.wait(self.gather)
        self._urgent.clear()

    # One batch at a time.

    def _run(
        self,
        names: Sequence[str],
        head: int,
        progress: Progress | None,
        deadline: float | None = None,
        *,
        remembered: bool = False,
    ) -> int:
        """Apply what is behind `head` to these projections, a batch at a time; from the positions last read or
        moved when `remembered` (the follower: nobody else runs them while it holds their locks), else as stored."""
        applied = 0
        known = remembered and all(name in self._stored for name in names)
        positions = {name: self._stored[name] for name in names} if known else self.positions()
        while names and (deadline is None or time.monotonic() < deadline):
            behind = [name for name in names if positions[name] < head]
            if not behind:
                break
            low = min(positions[name] for name in behind)
            group = [self.projections[name] for name in behind if positions[name] == low]
            try:
                count, seen, end = self._advance(group, low, head)
            except _Moved:
                positions = self.positions()
                continue
            positions.update((projection.name, end) for projection in group)  # as moved (checked by `_move`)
            self._stored.update((projection.name, end) for projection in group)
            applied += count
            self._tell(seen)
            if progress is not None:
                progress(min(self.positions()[name] for name in names), head, applied)
        return applied

    def listen(self, wake: Callable[[], None], topics: Iterable[str] | None = None) -> None:
        """Call `wake` after each batch that holds an event of these topics (None: after every batch, and after
        each chunk a rebuild writes). The batches read the listeners' topics beside the read models', so a topic
        no read model follows still wakes its listener."""
        self.listeners.append(Listener(wake, None if topics is None else frozenset(topics)))
        self._reading.clear()

    def _tell(self, seen: Collection[str] | None) -> None:
        """Wake the listeners for the topics of a batch just applied (None: all of them)."""
        for listener in self.listeners:
            if seen is None or listener.topics is None or not listener.topics.isdisjoint(seen):
                listener.wake()

    def _advance(self, group: Sequence[Projection], position: int, head: int) -> tuple[int, set[str], int]:
        """Apply the next batch of events to the group; how many it read, their topics, and the position the group
        moved to."""
        topics, wanted, folding = self._reading_for(group)
        page = self.app.recorder.select_notifications(
            position, self.batch_size, stop=head, topics=wanted, inclusive_of_start=False
        )
        end = page[-1].id if len(page) == self.batch_size else head
        events = self._decoded(page)
        with self.views.begin(durable=False) as connection:  # undone by a crash, it is applied again
            _move(connection, group, position, end)
            ledgers = self.ledgers.after(event for _, event in events) if folding else None
            batch = Batch(connection, ledgers)
            for projection in group:
                mine = [event for topic, event in events if topic in topics[projection.name]]
                projection.prefetch(batch, mine)
                for event in mine:
                    projection.process(batch, event)
            batch.flush()
        self._learn({projection.name: end for projection in group})
        return len(page), {notification.topic for notification in page}, end

    def _reading_for(self, group: Sequence[Projection]) -> _Reading:
        """Each projection's topics, the topics a batch reads (the listeners' too, and the lease's when a projection
        folds ledgers) and whether it folds them: the same for every batch of the group until a listener is added."""
        key = tuple(projection.name for projection in group)
        found = self._reading.get(key)
        if found is None:
            topics = {projection.name: frozenset(projection.topics) for projection in group}
            folding = any(projection.needs_ledgers for projection in group)
            heard = (listener.topics for listener in self.listeners if listener.topics is not None)
            wanted = sorted(set().union(*topics.values(), *heard, LEASE_TOPICS if folding else ()))
            found = self._reading[key] = _Reading(topics, wanted, folding)
        return found

    def _decoded(self, page: Sequence[Notification]) -> list[tuple[str, Event]]:
        """The page's events: those this process saved lately as it saved them, the others decoded."""
        saved: Callable[[int], Event | None] = getattr(self.app, "recently_saved", lambda _: None)
        decode = self.app.mapper.to_domain_event
        return [(n.topic, saved(n.id) or decode(n)) for n in page]

    def _rebuild_held(self, names: Sequence[str], head: int, progress: Progress | None, chunk: int | None) -> int:
        """Apply the log from the start to the projections still at position 0, their rows held in memory, written
        every `chunk` events, when a table holds more than `rebuild_kept` keys and at the end (see `rebuild`);
        returns the events applied and written. Stops early (the caller catches up) if another runner moved a
        position meanwhile."""
        positions = self.positions()
        group = [self.projections[name] for name in names if positions[name] == 0]
        if not group:
            return 0
        with _collecting_less():
            return self._apply_held(group, head, progress, chunk)

    def _apply_held(self, group: Sequence[Projection], head: int, progress: Progress | None, chunk: int | None) -> int:
        topics = [set(projection.topics) for projection in group]
        dispatches = [projection.dispatch() for projection in group]
        folding = any(projection.needs_ledgers for projection in group)
        wanted = sorted(set().union(*topics, LEASE_TOPICS if folding else ()))
        overtaking = folding and all(
            projection.assessments_overtaken or Lease.OverdueAssessed not in dispatch
            for projection, dispatch in zip(group, dispatches, strict=True)
        )
        routes: dict[tuple[str, type], list[tuple[int, Handler]]] = {}
        tables: dict[str, Held] = {}
        size = self.batch_size if chunk is None else min(self.batch_size, chunk)
        written = position = applied = pending = 0
        decode = self.app.mapper.to_domain_event
        while position < head:
            page = self.app.recorder.select_notifications(
                position, size, stop=head, topics=wanted, inclusive_of_start=False
            )
            end = page[-1].id if len(page) == size else head
            events: list[Event] = [decode(n) for n in page]
            left = overtaken(events) if overtaking else set()
            ledgers = self.ledgers.after(events, left) if folding else {}
            batch = Batch(None, ledgers, held=tables, reads=self.views.read)
            calls: list[list[tuple[Handler, Event]]] = [[] for _ in group]
            for notification, event in zip(page, events, strict=True):
                if left and id(event) in left and (event.originator_id, event.originator_version) not in ledgers:
                    continue  # overtaken by the lease's next assessment, and left unassessed
                kind = (notification.topic, type(event))
                route = routes.get(kind)
                if route is None:
                    route = routes[kind] = _route(kind, topics, dispatches)
                for n, handler in route:
                    calls[n].append((handler, event))
            for projection, mine in zip(group, calls, strict=True):
                if not _all_held(projection, tables):
                    projection.prefetch(batch, [event for _, event in mine])
                for handler, event in mine:
                    handler(batch, event)
            position, pending = end, pending + len(page)
            full = [held for held in tables.values() if len(held.rows) > self.rebuild_kept]
            if position >= head or full or (chunk is not None and pending >= chunk):
                try:
                    self._write_held(group, tables.values(), written, position)
                except _Moved:
                    self.ledgers.forget()
                    return applied
                written, applied, pending = position, applied + pending, 0
                for held in full:
                    held.let_go()
                self._tell(None)
            if progress is not None:
                progress(position, head, applied + pending)
        return applied

    def _write_held(self, group: Sequence[Projection], tables: Iterable[Held], position: int, end: int) -> None:
        """The rows a rebuild applied since `position` and its positions moved to `end`, in one transaction (a crash
        undoes both: the read models then carry on from `position`)."""
        with self.views.begin(durable=False) as connection:
            _move(connection, group, position, end)
            for held in tables:
                held.write(connection)
        self._learn({projection.name: end for projection in group})

    # Helpers.

    def _nudge(self) -> None:
        """Wake the follower now, whether it waits on the event or on the database's NOTIFY."""
        self._wake.set()
        if self._interrupter < 0:
            return
        try:
            os.write(self._interrupter, b"\0")
        except OSError:
            return

    def _release_unless_following(self) -> None:
        """A runner that does not follow lets its projections go once it has caught up."""
        if self._locks is not None and not self.following:
            self._locks.close()

    def _chosen(self, names: Iterable[str] | None) -> list[str]:
        chosen = list(self.projections) if names is None else list(dict.fromkeys(names))
        unknown = [name for name in chosen if name not in self.projections]
        if unknown:
            raise ValueError(f"no projection named {', '.join(unknown)} (there are {', '.join(self.projections)})")
        return chosen

    def _owned(self, names: Sequence[str]) -> list[str]:
        """The projections this runner may run; only the follower's thread takes locks while it runs."""
        if self._locks is None:
            return list(names)
        following_elsewhere = self.following and threading.current_thread() is not self._thread
        held = self._locks.held if following_elsewhere else self._locks.acquire(names)
        return [name for name in names if name in held]

    def _reached(self, names: Sequence[str], head: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            positions = self.positions()
            if all(positions[name] >= head for name in names):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _reset(self, connection: Connection, projection: Projection) -> None:
        metadata.drop_all(connection, tables=list(projection.tables), checkfirst=True)
        metadata.create_all(connection, tables=list(projection.tables))
        values: dict[str, Any] = {"position": 0, "fingerprint": projection.fingerprint, "updated_at": datetime.now(UTC)}
        with self._progress:
            self._applied[projection.name] = 0
        changed = connection.execute(update(tracking).where(tracking.c.name == projection.name).values(**values))
        if changed.rowcount == 0:
            connection.execute(tracking.insert().values(name=projection.name, **values))

    def _serialise_ddl(self, connection: Connection) -> None:
        """On PostgreSQL, one process at a time creates or drops tables (SQLite locks the file)."""
        if self.views.is_postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("leasecore-views-ddl")})


Handler = Callable[[Batch, Event], None]


def _route(
    kind: tuple[str, type], topics: Sequence[set[str]], dispatches: Sequence[dict[type, Handler]]
) -> list[tuple[int, Handler]]:
    """Which of a rebuild's projections handle an event of this topic and type, in their order, and by what: what
    each asked of every event (its topics, then its handler for the type) asked once per kind of event."""
    topic, cls = kind
    return [
        (n, handler)
        for n, (mine, dispatch) in enumerate(zip(topics, dispatches, strict=True))
        if topic in mine and (handler := dispatch.get(cls)) is not None
    ]


def _all_held(projection: Projection, tables: dict[str, Held]) -> bool:
    """Every table of the projection holds all its rows in memory (or is still untouched, and empty): prefetching
    for it would read nothing."""
    return all((held := tables.get(table.name)) is None or held.complete for table in projection.tables)


@contextmanager
def _collecting_less() -> Iterator[None]:
    """The garbage collector's youngest generation collected every `REBUILD_COLLECT_AFTER` allocations meanwhile
    (the thresholds are the process's: they are put back after). Cycles are still collected, only less often."""
    thresholds = gc.get_threshold()
    if thresholds[0]:
        gc.set_threshold(max(thresholds[0], REBUILD_COLLECT_AFTER), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _drain(descriptor: int) -> None:
    try:
        while os.read(descriptor, 512):
            continue
    except OSError:
        return


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


TRY_LOCKS = "SELECT key FROM unnest(%s::bigint[]) AS key WHERE pg_try_advisory_lock(key)"
LOCK_RETRY = 1.0
"""Seconds between a runner's tries for the locks of projections another process runs (how soon it takes over
from a process that stopped)."""


class _AdvisoryLocks:
    """One connection holding a session advisory lock per projection it runs, and LISTENing on
    the event store's channel; closing it (or losing it) releases every lock at once."""

    def __init__(self, views: ViewStore, channel: str) -> None:
        self.views, self.channel = views, channel
        self.held: set[str] = set()
        self._next_try = 0.0
        self._proxied: Any = None
        self._schema = ""

    def acquire(self, names: Sequence[str]) -> set[str]:
        """Those of these projections whose locks this connection holds, trying the others in one statement, at
        most once a `LOCK_RETRY` seconds: while another process runs them, a standby asking on every batch of
        the log cost a query a projection each time."""
        missing = [name for name in names if name not in self.held]
        now = time.monotonic()
        if missing and now >= self._next_try:
            self._next_try = now + LOCK_RETRY
            connection = self._connection()
            keys = {lock_key(self._schema, name): name for name in missing}
            with connection.cursor() as cursor:
                cursor.execute(TRY_LOCKS, (list(keys),))
                self.held.update(keys[key] for (key,) in cursor.fetchall())
        return self.held & set(names)

    def wait(self, timeout: float, interrupt: int) -> None:
        """Until the event store NOTIFYs an insert, `interrupt` is written to, or `timeout` seconds."""
        connection = self._connection()
        if not connection.notifies:
            select.select([connection, interrupt], [], [], timeout)
        connection.poll()
        connection.notifies.clear()

    def backend_pid(self) -> int:
        return int(self._connection().get_backend_pid())

    def close(self) -> None:
        self.held.clear()
        self._next_try = 0.0
        proxied, self._proxied = self._proxied, None
        if proxied is not None:
            try:
                proxied.close()
            except Exception as error:
                log.debug("closing the lock connection: %s", error)

    def _connection(self) -> Any:
        if self._proxied is None:
            proxied = self.views.engine.raw_connection()
            proxied.detach()
            connection: Any = proxied.dbapi_connection
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_schema()")
                self._schema = str(cursor.fetchone()[0])
                cursor.execute(f"LISTEN {self.channel}")
            self._proxied = proxied
        return self._proxied.dbapi_connection

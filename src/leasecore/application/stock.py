"""Stock units and the holds an order keeps: receiving and retiring units, booking them for an order,
shipping, releasing and selling them, and letting go of everything an order holds.

Each unit is its own aggregate, so an order loads and writes only the units it takes. Which units to
try comes from the stock index (a read model) when there is one; the index may lag behind the log,
so every unit it offers is checked on its aggregate before it is booked, and a refusal for want of
stock is given only on an index that has read the whole log, or after every unit was checked.

Units this process booked itself, while the index has not read that far, are passed over (the index still shows
them free), and units an earlier offer held that no order here took are tried first: only the order of the tries,
never whether a unit is free, comes from memory."""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Generator, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from leasecore.application.base import Commands, command
from leasecore.catalog import StockUnit
from leasecore.errors import InvalidInput, NotFound, Unavailable
from leasecore.lease.lease import Lease
from leasecore.ports import StockIndex

CANDIDATES = 16
"""How many free units to ask the index for at a time, beyond those an order needs."""
INDEX_ROUNDS = 8
"""How many times to ask the index for more when the units it offered were taken meanwhile."""
SPARES = 32
"""Units the index offered beyond what an order took, kept per SKU for the next orders to try first."""
SPARE_TRIES = 4
"""How many kept units an order tries before it asks the index."""
SPARE_SECONDS = 30.0
"""How long a kept unit is worth trying: another process may have booked it since."""


class StockCommands(Commands):
    """Stock units and the holds an order keeps on them."""

    stock_index: StockIndex | None = None

    @functools.cached_property
    def _booked_here(self) -> dict[UUID, dict[str, int]]:
        """Per SKU, the serials this process booked and has not seen released, each with the notification id of
        its booking, in the order saved: likely taken while the index has not read that far, so tried last.
        Forgotten once the index reads past them, so it holds no more than the index's lag."""
        return {}

    @functools.cached_property
    def _memory_lock(self) -> threading.Lock:
        """Guards what the threads of this process share of the stock: the bookings it made, the spare offers."""
        return threading.Lock()

    @functools.cached_property
    def _spares(self) -> dict[UUID, list[tuple[float, str]]]:
        """Per SKU, units the index offered that no order here took (with when), newest last: likely still free."""
        return {}

    _index_position = 0
    """The furthest position of the log the stock index has reported having read (this process's bookings up to
    it are known to the index)."""

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save, and remember where each unit this process booked landed in the log."""
        recordings = super().save(*objs, **kwargs)
        units = {obj.id: obj for obj in objs if isinstance(obj, StockUnit)}
        if units:
            with self._memory_lock:
                for recording in recordings:
                    if type(recording.domain_event) is StockUnit.Booked:
                        unit = units[recording.domain_event.originator_id]
                        booked = self._booked_here.setdefault(unit.sku_id, {})
                        booked.pop(unit.serial, None)  # kept in the order saved
                        booked[unit.serial] = recording.notification.id
        return recordings

    def _not_yet_indexed(self, sku_id: UUID, position: int) -> dict[str, int]:
        """The SKU's units this process booked after the index's position (forgetting those it has read)."""
        with self._memory_lock:
            booked = self._booked_here.get(sku_id)
            if booked is None:
                return {}
            while booked and next(iter(booked.values())) <= position:
                del booked[next(iter(booked))]
            return dict(booked)

    def _take_spare(self, sku_id: UUID) -> str | None:
        """The newest unit kept from an earlier offer, for this order alone (None if none is recent enough)."""
        with self._memory_lock:
            kept = self._spares.get(sku_id)
            recent = time.monotonic() - SPARE_SECONDS
            while kept:
                at, serial = kept.pop()
                if at >= recent:
                    return serial
            return None

    def _keep_spares(self, sku_id: UUID, serials: Sequence[str]) -> None:
        with self._memory_lock:
            kept = self._spares.setdefault(sku_id, [])
            now = time.monotonic()
            kept.extend((now, serial) for serial in serials)
            del kept[:-SPARES]

    def _forget_booked(self, sku_id: UUID, serial: str) -> None:
        with self._memory_lock:
            self._booked_here.get(sku_id, {}).pop(serial, None)

    def _likely_taken_last(self, sku_id: UUID, serials: Iterable[str]) -> list[str]:
        taken = self._booked_here.get(sku_id, {})
        return sorted(serials, key=taken.__contains__)

    @command
    def receive_units(self, sku_id: UUID, serials: list[str]) -> None:
        """New serials join the SKU's register, each as a unit of its own."""
        inventory = self.inventory(sku_id)
        now = self.clock.now()
        received = inventory.receive(serials, now)
        units = [StockUnit.receive(sku_id, inventory.product_id, serial, now) for serial in received]
        self.save(inventory, *units)

    @command
    def retire_unit(self, sku_id: UUID, serial: str) -> None:
        unit = self.stock_unit(sku_id, serial)
        unit.retire(self.clock.now())
        self.save(unit)

    def stock_unit(self, sku_id: UUID, serial: str) -> StockUnit:
        """A unit of the SKU as it stands; a unit received under stock v1 takes over its state from the
        SKU's register the first time it is needed (saved with whatever the command changes)."""
        try:
            return self.get(StockUnit, StockUnit.create_id(sku_id, serial), "unit")
        except NotFound:
            inventory = self.inventory(sku_id, to_change=False)
            if serial not in inventory.units:
                raise NotFound("unit", serial) from None
            return StockUnit.take_over(inventory, serial, self.clock.now())

    def stock_units(self, sku_id: UUID) -> list[StockUnit]:
        """Every unit of the SKU as it stands, in the order received (each loaded: the stock read model
        lists them faster)."""
        return [self.stock_unit(sku_id, serial) for serial in self.inventory(sku_id, to_change=False).serials]

    def units_held(self, order_id: UUID) -> tuple[str, ...]:
        """The serials an order holds (booked, or shipped), whichever stock model it was placed under."""
        lease = self.lease(order_id)
        return self._units_held(lease)

    def _units_held(self, lease: Lease) -> tuple[str, ...]:
        if lease.units_held:
            return lease.units_held
        return self.inventory(lease.sku_id, to_change=False).booked_before_units(lease.id)

    def _book_units(
        self, sku_id: UUID, order_id: UUID, quantity: int, start: date, end: date | None, now: datetime
    ) -> list[StockUnit]:
        """Hold `quantity` free units of the SKU for the order over the dates (end None: until returned)."""
        booked: list[StockUnit] = []
        candidates = self._free_candidates(sku_id, quantity, start, end)
        try:
            for unit in candidates:
                unit.book(order_id, start, end, now)
                booked.append(unit)
                if len(booked) == quantity:
                    return booked
        finally:
            candidates.close()  # keeps what the index offered and this order did not try
        raise Unavailable(f"only {len(booked)} unit(s) free for those dates, {quantity} asked")

    def _free_candidates(
        self, sku_id: UUID, quantity: int, start: date, end: date | None
    ) -> Generator[StockUnit, None, None]:
        """Units free over the dates, checked on their aggregates: first a few the index offered an earlier order
        here that it did not take (asking the index for every order cost more than the order's own checks), then
        those the index offers (in a random order, so concurrent orders for one SKU take different units; more while
        those offered were taken meanwhile), then, unless the index had offered all it had and read the whole log,
        every other unit of the register, loaded `CANDIDATES` at a time. What the index offered and this order did
        not try is kept for the next.

        Units this process booked after the index's position are passed over: the index still offers them as free,
        and on a SKU close to selling out they could fill every offer, each loaded only to be found taken. Once an
        offer held one, the next asks the index to leave them all out (hundreds behind a busy writer). An index that
        read the whole log is asked again without leaving them out, and those passed over are tried, before a
        refusal (another process may have let one go); in the register they come last."""
        asked: set[str] = set()
        untried: list[str] = []
        try:
            pending = self._not_yet_indexed(sku_id, self._index_position)
            for _ in range(SPARE_TRIES):
                if (serial := self._take_spare(sku_id)) is None:
                    break
                asked.add(serial)
                if serial not in pending and (unit := self._free_unit(sku_id, serial, start, end)) is not None:
                    yield unit
            if self.stock_index is not None:
                passed_over: list[str] = []
                leaving_out = False
                for _ in range(INDEX_ROUNDS):
                    wanted = quantity + CANDIDATES
                    besides = asked | pending.keys() if leaving_out else asked
                    offered = self.stock_index.free_units(sku_id, start, end, wanted, besides)
                    self._index_position = max(self._index_position, offered.position)
                    asked.update(offered.serials)
                    passed_over += (serial for serial in offered.serials if serial in pending)
                    untried = [serial for serial in offered.serials if serial not in pending]
                    self._load_units(sku_id, untried)
                    while untried:
                        if (unit := self._free_unit(sku_id, untried.pop(0), start, end)) is not None:
                            yield unit
                    known = self._not_yet_indexed(sku_id, offered.position)
                    if len(offered.serials) < wanted:
                        if offered.position < (self.recorder.max_notification_id() or 0):
                            break
                        for serial in passed_over:  # every unit it knows free, knowing the whole log
                            if (unit := self._free_unit(sku_id, serial, start, end)) is not None:
                                yield unit
                        if not (leaving_out and pending.keys() - known.keys()):
                            return
                        pending, passed_over = known, []  # ask once more without those it has read since
                        continue
                    leaving_out = leaving_out or bool(passed_over)
                    pending = known
            register = self.inventory(sku_id, to_change=False).serials
            shuffled = self._likely_taken_last(sku_id, random.sample(register, len(register)))
            tries = [serial for serial in shuffled if serial not in asked]
            for first in range(0, len(tries), CANDIDATES):
                chunk = tries[first : first + CANDIDATES]
                self._load_units(sku_id, chunk)
                for serial in chunk:
                    if (unit := self._free_unit(sku_id, serial, start, end)) is not None:
                        yield unit
        finally:
            if untried:
                self._keep_spares(sku_id, untried)

    def _load_units(self, sku_id: UUID, serials: Sequence[str]) -> None:
        """The units an offer holds, loaded at once (one query, not one per unit as each is tried, here or as a
        spare by a later order), and kept in memory like any aggregate loaded: a command books a kept unit without
        asking the store again, and its save checks that the unit has not changed since."""
        self.repository.keep_loaded([StockUnit.create_id(sku_id, serial) for serial in serials])

    def _free_unit(self, sku_id: UUID, serial: str, start: date, end: date | None) -> StockUnit | None:
        unit = self._unit_or_none(sku_id, serial)
        return unit if unit is not None and unit.is_free(start, end) else None

    def _unit_or_none(self, sku_id: UUID, serial: str) -> StockUnit | None:
        try:
            return self.stock_unit(sku_id, serial)
        except NotFound:
            return None

    def _ship_units(self, lease: Lease, held: Sequence[str], serials: Sequence[str], now: datetime) -> list[StockUnit]:
        """These units go out for the order, which held `held`; those it does not ship are free again."""
        if not held:
            raise InvalidInput("unit_serial", f"order {lease.id} holds no stock to ship")
        if len(serials) != len(held) or len(set(serials)) != len(serials):
            raise InvalidInput("unit_serial", f"ship exactly {len(held)} distinct unit(s)")
        start, end = self._booked_dates(lease, held[0])
        changed: list[StockUnit] = []
        for serial in serials:
            try:
                unit = self.stock_unit(lease.sku_id, serial)
            except NotFound:
                raise InvalidInput("unit_serial", f"{serial} is not a unit of this SKU") from None
            unit.ship(lease.id, start, end, now)
            changed.append(unit)
        for serial in held:
            if serial not in serials:
                unit = self.stock_unit(lease.sku_id, serial)
                unit.release(lease.id, now)
                self._forget_booked(lease.sku_id, serial)
                changed.append(unit)
        return changed

    def _booked_dates(self, lease: Lease, serial: str) -> tuple[date, date | None]:
        unit = self.stock_unit(lease.sku_id, serial)
        booking = next(booking for booking in unit.bookings if booking.order_id == lease.id)
        return booking.start, booking.end

    def _release_units(self, lease: Lease, now: datetime) -> list[StockUnit]:
        """Cancelled, rejected or returned: the order's units are free again."""
        units = [self.stock_unit(lease.sku_id, serial) for serial in self._units_held(lease)]
        for unit in units:
            unit.release(lease.id, now)
            self._forget_booked(lease.sku_id, unit.serial)
        return units

    def _sell_units(self, lease: Lease, now: datetime) -> list[StockUnit]:
        """Bought out: the order's units leave the stock for good."""
        units = [self.stock_unit(lease.sku_id, serial) for serial in lease.unit_serials]
        for unit in units:
            unit.sell(lease.id, now)
        return units

    def _release_everything(self, lease: Lease, reason: str, now: datetime) -> list[Aggregate]:
        """Cancelled, rejected or timed out: the checkout refunded, the waiver and the units released."""
        deposit = self.deposit(lease.id)
        deposit.refund(reason, now)
        deposit.unfreeze_all(reason, now)
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        credit_line.release(lease.id, now)
        credit_line.clear_overdue(lease.id, now)
        return [deposit, credit_line, *self._release_units(lease, now)]

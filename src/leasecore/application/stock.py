"""Stock units and the holds an order keeps: receiving and retiring units, booking them for an order,
shipping, releasing and selling them, and letting go of everything an order holds.

Each unit is its own aggregate, so an order loads and writes only the units it takes. Which units to
try comes from the stock index (a read model) when there is one; the index may lag behind the log,
so every unit it offers is checked on its aggregate before it is booked, and a refusal for want of
stock is given only on an index that has read the whole log, or after every unit was checked.

Units this process booked itself, while the index has not read that far, are tried last (the index still shows
them free): only the order of the tries, never whether a unit is free, comes from memory."""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
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
    def _booked_here_lock(self) -> threading.Lock:
        return threading.Lock()

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save, and remember where each unit this process booked landed in the log."""
        recordings = super().save(*objs, **kwargs)
        units = {obj.id: obj for obj in objs if isinstance(obj, StockUnit)}
        if units:
            with self._booked_here_lock:
                for recording in recordings:
                    if type(recording.domain_event) is StockUnit.Booked:
                        unit = units[recording.domain_event.originator_id]
                        booked = self._booked_here.setdefault(unit.sku_id, {})
                        booked.pop(unit.serial, None)  # kept in the order saved
                        booked[unit.serial] = recording.notification.id
        return recordings

    def _not_yet_indexed(self, sku_id: UUID, position: int) -> dict[str, int]:
        """The SKU's units this process booked after the index's position (forgetting those it has read)."""
        with self._booked_here_lock:
            booked = self._booked_here.get(sku_id)
            if booked is None:
                return {}
            while booked and next(iter(booked.values())) <= position:
                del booked[next(iter(booked))]
            return dict(booked)

    def _forget_booked(self, sku_id: UUID, serial: str) -> None:
        with self._booked_here_lock:
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
        for unit in self._free_candidates(sku_id, quantity, start, end):
            unit.book(order_id, start, end, now)
            booked.append(unit)
            if len(booked) == quantity:
                return booked
        raise Unavailable(f"only {len(booked)} unit(s) free for those dates, {quantity} asked")

    def _free_candidates(self, sku_id: UUID, quantity: int, start: date, end: date | None) -> Iterator[StockUnit]:
        """Units free over the dates, checked on their aggregates: first those the index offers (in a random
        order, so concurrent orders for one SKU take different units; more while those offered were taken
        meanwhile), then, unless the index had offered all it had and read the whole log, every other unit
        of the register.

        Units this process booked after the index's position are passed over: the index still offers them as free,
        and on a SKU close to selling out they could fill every offer, each loaded only to be found taken. Each next
        offer asks for as many more as there are of them; an index that read the whole log offers none of them, and
        in the register they come last."""
        asked: set[str] = set()
        deferred: list[str] = []
        if self.stock_index is not None:
            wanted = quantity + CANDIDATES
            for _ in range(INDEX_ROUNDS):
                offered = self.stock_index.free_units(sku_id, start, end, wanted, asked)
                asked.update(offered.serials)
                taken_here = self._not_yet_indexed(sku_id, offered.position)
                for serial in offered.serials:
                    if serial in taken_here:
                        deferred.append(serial)
                    elif (unit := self._free_unit(sku_id, serial, start, end)) is not None:
                        yield unit
                if len(offered.serials) < wanted:
                    if offered.position >= (self.recorder.max_notification_id() or 0):
                        return  # every unit it knows free, knowing the whole log (so none was passed over)
                    break
                wanted = quantity + CANDIDATES + len(taken_here)  # enough to get past what the index has not read
        loaded = asked.difference(deferred)
        register = self.inventory(sku_id, to_change=False).serials
        for serial in self._likely_taken_last(sku_id, random.sample(register, len(register))):
            if serial not in loaded and (unit := self._free_unit(sku_id, serial, start, end)) is not None:
                yield unit

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

"""The security deposit of one order: required, paid, deducted, refunded (押金)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState
from leasecore.values import ZERO, derived_id


class Deposit(Aggregate):
    """An order's deposit: what was required after the waiver, paid, kept and given back.

    Refunded + deducted never exceed what was paid, so nothing ever goes negative. A pre-authorized deposit
    (押金预授权) is frozen with the payment provider instead of paid: what is frozen is taken, unfrozen, or still
    frozen, never more than that.
    """

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return derived_id("deposit", order_id)

    class Required(Aggregate.Created):
        order_id: UUID
        amount: Decimal
        waived: Decimal

    @event(Required)
    def __init__(self, order_id: UUID, amount: Decimal, waived: Decimal, timestamp: datetime) -> None:
        self.order_id, self.amount, self.waived = order_id, amount, waived
        self.paid = self.deducted = self.refunded = ZERO
        self.to_freeze = ZERO
        self.freeze_requests: dict[str, str] = {}
        self.freezes: dict[str, Freeze] = {}
        self.securing: str | None = None
        self.operations: dict[str, FreezeOperation] = {}

    @classmethod
    def require(cls, order_id: UUID, amount: Decimal, waived: Decimal, now: datetime) -> Deposit:
        """The deposit of the order; the waived part (信用免押) is never paid."""
        if amount < ZERO or not ZERO <= waived <= amount:
            raise InvalidInput("waiver", f"must lie between 0 and the deposit {amount}")
        return cls(order_id, amount, waived, timestamp=now)

    @property
    def due(self) -> Decimal:
        """What is paid at checkout: the part not waived, unless it is frozen instead."""
        return self.amount - self.waived - self.to_freeze

    @property
    def held(self) -> Decimal:
        return self.paid - self.deducted - self.refunded

    def toward(self, amount: Decimal) -> Decimal:
        """What the deposit held puts toward an amount owed or a price: all of it, never more than it holds."""
        return min(amount, self.held)

    def pay(self, amount: Decimal, ref: str, now: datetime) -> None:
        """The part not waived is paid once, in full, at checkout."""
        if self.paid:
            raise InvalidState(f"deposit of order {self.order_id}", "paid", "pay it again")
        if amount != self.due:
            raise InvalidInput("amount", f"the deposit due is {self.due}, not {amount}")
        if amount:
            self._paid(amount, ref, timestamp=now)

    def deduct(self, amount: Decimal, reason: str, now: datetime) -> None:
        """Damage, unpaid rent or a buyout come out of the deposit held, never more than it."""
        if amount <= ZERO or amount > self.held:
            raise InvalidInput("amount", f"a deduction lies between 0 and the {self.held} held")
        self._deducted(amount, reason, timestamp=now)

    def refund(self, reason: str, now: datetime) -> Decimal:
        """Everything still held goes back to the customer; returns how much."""
        amount = self.held
        if amount > ZERO:
            self._refunded(amount, reason, timestamp=now)
        return amount

    class Paid(Aggregate.Event):
        amount: Decimal
        ref: str

    @event(Paid)
    def _paid(self, amount: Decimal, ref: str, timestamp: datetime) -> None:
        self.paid += amount

    class Deducted(Aggregate.Event):
        amount: Decimal
        reason: str

    @event(Deducted)
    def _deducted(self, amount: Decimal, reason: str, timestamp: datetime) -> None:
        self.deducted += amount

    class Refunded(Aggregate.Event):
        amount: Decimal
        reason: str

    @event(Refunded)
    def _refunded(self, amount: Decimal, reason: str, timestamp: datetime) -> None:
        self.refunded += amount

    # Pre-authorization (押金预授权): the part not waived frozen with the provider, then taken or unfrozen.

    def require_freeze(self, now: datetime) -> None:
        """A pre-authorized order freezes the part of the deposit not waived instead of paying it."""
        if self.paid or self.to_freeze:
            raise InvalidState(f"deposit of order {self.order_id}", "paid or frozen already", "freeze it instead")
        if self.amount > self.waived:
            self._freeze_required(self.amount - self.waived, timestamp=now)

    @property
    def preauth(self) -> bool:
        return self.to_freeze > ZERO

    @property
    def is_secured(self) -> bool:
        """Nothing more to freeze: the order may proceed once its first rent is paid."""
        return not self.preauth or self.securing is not None

    @property
    def frozen(self) -> Decimal:
        """The money providers ever froze for the order (their own credit waivers excluded)."""
        return sum((freeze.fund for freeze in self.freezes.values()), ZERO)

    @property
    def waived_by_provider(self) -> Decimal:
        return sum((freeze.credit for freeze in self.freezes.values()), ZERO)

    @property
    def taken(self) -> Decimal:
        """What the platform took from freezes: settled as soon as asked, since the provider holds the money."""
        return self._operated(FreezeOperationKind.TAKE)

    @property
    def unfrozen(self) -> Decimal:
        return self._operated(FreezeOperationKind.UNFREEZE)

    @property
    def still_frozen(self) -> Decimal:
        return self.frozen - self.taken - self.unfrozen

    @property
    def takeable(self) -> Decimal:
        """What settlement may still take from the freeze that secures the deposit."""
        freeze = self.freezes.get(self.securing or "")
        return self._left(freeze) if freeze is not None else ZERO

    @property
    def pending_operations(self) -> tuple[FreezeOperation, ...]:
        """Takes and unfreezes asked of the provider and not yet confirmed by it."""
        return tuple(operation for operation in self.operations.values() if not operation.done)

    def request_freeze(self, provider: str, now: datetime) -> str:
        """The freeze asked of a provider, once per provider (asking again names the same request, which the
        provider dedupes); returns its out_request_no."""
        if not self.preauth:
            raise InvalidState(f"deposit of order {self.order_id}", "not pre-authorized", "freeze it")
        if self.securing is not None:
            raise InvalidState(f"deposit of order {self.order_id}", "frozen", "freeze it again")
        if provider in self.freeze_requests:
            return self.freeze_requests[provider]
        out_request_no = freeze_request_no(self.order_id)
        self._freeze_requested(provider, out_request_no, self.to_freeze, timestamp=now)
        return out_request_no

    def record_freeze(self, frozen: FrozenFunds, now: datetime) -> bool:
        """The provider froze the money, once per auth_no: the first freeze of the amount asked secures the
        deposit; any other (a second provider, a wrong amount) is unfrozen at once. False for a repeat."""
        if frozen.auth_no in self.freezes:
            return False
        if frozen.fund + frozen.credit != frozen.amount or min(frozen.fund, frozen.credit) < ZERO:
            raise InvalidInput("fund_amount", f"fund {frozen.fund} and credit {frozen.credit} make {frozen.amount}")
        self._frozen(
            frozen.provider,
            frozen.out_request_no,
            frozen.auth_no,
            frozen.operation_id,
            frozen.amount,
            frozen.fund,
            frozen.credit,
            timestamp=now,
        )
        if self.securing != frozen.auth_no:
            self._unfreeze(self.freezes[frozen.auth_no], "not the freeze this deposit asked for", now)
        return True

    def take_from_freeze(self, owed: Decimal, reason: str, now: datetime) -> Decimal:
        """Damage and arrears come out of the money frozen, never more than it holds; returns what was taken."""
        freeze = self.freezes.get(self.securing or "")
        amount = min(owed, self.takeable)
        if freeze is not None and amount > ZERO:
            ref = operation_ref(FreezeOperationKind.TAKE, self.order_id, len(self.operations))
            completes = amount == self._left(freeze)
            self._take_requested(freeze.provider, freeze.auth_no, ref, amount, reason, completes, timestamp=now)
        return amount

    def unfreeze_all(self, reason: str, now: datetime) -> Decimal:
        """Everything still frozen is given back (settled, cancelled, rejected); returns how much."""
        released = ZERO
        for freeze in self.freezes.values():
            released += self._unfreeze(freeze, reason, now)
        return released

    def confirm_operation(self, ref: str, provider_ref: str, now: datetime) -> bool:
        """The provider confirmed a take or an unfreeze, once per request; False for a repeat."""
        operation = self.operations.get(ref)
        if operation is None:
            raise InvalidInput("ref", f"names no take or unfreeze of deposit {self.id}")
        if operation.done:
            return False
        if operation.kind is FreezeOperationKind.TAKE:
            self._taken_from_freeze(ref, provider_ref, operation.amount, timestamp=now)
        else:
            self._unfrozen(ref, provider_ref, operation.amount, timestamp=now)
        return True

    def _left(self, freeze: Freeze) -> Decimal:
        used = (op.amount for op in self.operations.values() if op.auth_no == freeze.auth_no)
        return freeze.fund - sum(used, ZERO)

    def _operated(self, kind: FreezeOperationKind) -> Decimal:
        return sum((op.amount for op in self.operations.values() if op.kind is kind), ZERO)

    def _unfreeze(self, freeze: Freeze, reason: str, now: datetime) -> Decimal:
        amount = self._left(freeze)
        if amount > ZERO:
            ref = operation_ref(FreezeOperationKind.UNFREEZE, self.order_id, len(self.operations))
            self._unfreeze_requested(freeze.provider, freeze.auth_no, ref, amount, reason, timestamp=now)
        return amount

    class FreezeRequired(Aggregate.Event):
        amount: Decimal

    @event(FreezeRequired)
    def _freeze_required(self, amount: Decimal, timestamp: datetime) -> None:
        self.to_freeze = amount

    class FreezeRequested(Aggregate.Event):
        provider: str
        out_request_no: str
        amount: Decimal

    @event(FreezeRequested)
    def _freeze_requested(self, provider: str, out_request_no: str, amount: Decimal, timestamp: datetime) -> None:
        self.freeze_requests[provider] = out_request_no

    class Frozen(Aggregate.Event):
        """`fund_amount` is really frozen; `credit_amount` the provider waived on its own credit."""

        provider: str
        out_request_no: str
        auth_no: str
        operation_id: str
        amount: Decimal
        fund_amount: Decimal
        credit_amount: Decimal

    @event(Frozen)
    def _frozen(
        self,
        provider: str,
        out_request_no: str,
        auth_no: str,
        operation_id: str,
        amount: Decimal,
        fund_amount: Decimal,
        credit_amount: Decimal,
        timestamp: datetime,
    ) -> None:
        self.freezes[auth_no] = Freeze(provider, auth_no, fund_amount, credit_amount)
        asked = self.freeze_requests.get(provider) == out_request_no and amount == self.to_freeze
        if self.securing is None and asked:
            self.securing = auth_no

    class TakeFromFreezeRequested(Aggregate.Event):
        """`completes`: nothing stays frozen after it, so the charge also ends the authorization."""

        provider: str
        auth_no: str
        ref: str
        amount: Decimal
        reason: str
        completes: bool

    @event(TakeFromFreezeRequested)
    def _take_requested(
        self, provider: str, auth_no: str, ref: str, amount: Decimal, reason: str, completes: bool, timestamp: datetime
    ) -> None:
        self.operations[ref] = FreezeOperation(FreezeOperationKind.TAKE, provider, auth_no, ref, amount, completes)

    class UnfreezeRequested(Aggregate.Event):
        provider: str
        auth_no: str
        ref: str
        amount: Decimal
        reason: str

    @event(UnfreezeRequested)
    def _unfreeze_requested(
        self, provider: str, auth_no: str, ref: str, amount: Decimal, reason: str, timestamp: datetime
    ) -> None:
        self.operations[ref] = FreezeOperation(FreezeOperationKind.UNFREEZE, provider, auth_no, ref, amount, True)

    class TakenFromFreeze(Aggregate.Event):
        ref: str
        trade_no: str
        amount: Decimal

    @event(TakenFromFreeze)
    def _taken_from_freeze(self, ref: str, trade_no: str, amount: Decimal, timestamp: datetime) -> None:
        self.operations[ref] = replace(self.operations[ref], done=True)

    class Unfrozen(Aggregate.Event):
        ref: str
        operation_id: str
        amount: Decimal

    @event(Unfrozen)
    def _unfrozen(self, ref: str, operation_id: str, amount: Decimal, timestamp: datetime) -> None:
        self.operations[ref] = replace(self.operations[ref], done=True)


class FreezeOperationKind(Enum):
    TAKE = "take"
    UNFREEZE = "unfreeze"


@dataclass(frozen=True)
class Freeze:
    """Money a provider froze for the deposit under one authorization (auth_no)."""

    provider: str
    auth_no: str
    fund: Decimal
    credit: Decimal


@dataclass(frozen=True)
class FrozenFunds:
    """A provider's word that it froze money: `fund` really frozen, `credit` waived on its own credit."""

    provider: str
    out_request_no: str
    auth_no: str
    operation_id: str
    amount: Decimal
    fund: Decimal
    credit: Decimal


@dataclass(frozen=True)
class FreezeOperation:
    """A take from a freeze or an unfreeze, asked of the provider under `ref` (which it dedupes on)."""

    kind: FreezeOperationKind
    provider: str
    auth_no: str
    ref: str
    amount: Decimal
    completes: bool
    done: bool = False


def freeze_request_no(order_id: UUID) -> str:
    """The out_request_no (and out_order_no) of an order's freeze; the order is read back from it."""
    return "fz" + order_id.hex


def operation_ref(kind: FreezeOperationKind, order_id: UUID, index: int) -> str:
    """A take's out_trade_no or an unfreeze's out_request_no: the same whenever the command is run again."""
    return f"{'ft' if kind is FreezeOperationKind.TAKE else 'fu'}{order_id.hex}{index:03d}"


def order_of_ref(ref: str) -> UUID:
    """The order a freeze, take or unfreeze reference belongs to; ValueError for one that is not ours."""
    if len(ref) < 34 or ref[:2] not in ("fz", "ft", "fu"):
        raise ValueError(f"{ref!r} is no freeze reference of this platform")
    return UUID(hex=ref[2:34])

"""The lease: one order from checkout to settlement, and every money movement on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, InvalidState, Overdue, Refused
from leasecore.lease.ledger import (
    Adjustment,
    Balance,
    Collected,
    FeeWaiver,
    GoodwillCredit,
    LateFeeRule,
    Ledger,
    Receipt,
    assess,
)
from leasecore.lease.schedule import Installment, Rates, monthly, restart
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import ERASED_ADDRESS, ZERO, Address, DepositMode, LongTerm, Plan, ShortTerm, add_months, money

END_OF_TERM_WINDOW = timedelta(days=7)
AUTOMATIC = "automatic"
"""The reviewer of an order automated review (自动化审批) approved."""
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class LeaseStatus(Enum):
    """Where an order stands; see the README for the path between them."""

    PENDING_PAYMENT = "pending_payment"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    PENDING_CONTRACT = "pending_contract"
    PENDING_SHIPMENT = "pending_shipment"
    SHIPPED = "shipped"
    LEASING = "leasing"
    RETURNING = "returning"
    INSPECTING = "inspecting"
    PENDING_SETTLEMENT = "pending_settlement"
    BOUGHT_OUT = "bought_out"
    SETTLED = "settled"

    @property
    def is_final(self) -> bool:
        return self in (LeaseStatus.REJECTED, LeaseStatus.CANCELLED, LeaseStatus.SETTLED)


class CallOutcome(Enum):
    """What came of a collection call (催收电话)."""

    REACHED = "reached"
    PROMISED = "promised"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"


CANCELLABLE = (
    LeaseStatus.PENDING_PAYMENT,
    LeaseStatus.PENDING_REVIEW,
    LeaseStatus.PENDING_CONTRACT,
    LeaseStatus.PENDING_SHIPMENT,
)
STATUS_AFTER: dict[str, LeaseStatus] = {
    "CheckoutPaid": LeaseStatus.PENDING_REVIEW,
    "ReviewApproved": LeaseStatus.PENDING_CONTRACT,
    "ReviewRejected": LeaseStatus.REJECTED,
    "Cancelled": LeaseStatus.CANCELLED,
    "ContractSigned": LeaseStatus.PENDING_SHIPMENT,
    "Shipped": LeaseStatus.SHIPPED,
    "Delivered": LeaseStatus.LEASING,
    "ReturnRequested": LeaseStatus.RETURNING,
    "SwappedOut": LeaseStatus.RETURNING,
    "DeviceReturned": LeaseStatus.INSPECTING,
    "SettlementPending": LeaseStatus.PENDING_SETTLEMENT,
    "BoughtOut": LeaseStatus.BOUGHT_OUT,
    "Settled": LeaseStatus.SETTLED,
}
"""The lease's state machine: the status each event leaves an order in (the others leave it where it was)."""

RENT_PAYABLE = (
    LeaseStatus.LEASING,
    LeaseStatus.RETURNING,
    LeaseStatus.INSPECTING,
    LeaseStatus.PENDING_SETTLEMENT,
)


def status_after(event: object) -> LeaseStatus | None:
    """The status a lease event leaves its order in; None when it leaves the status where it was."""
    return STATUS_AFTER.get(type(event).__name__)


@dataclass(frozen=True)
class LeaseTerms:
    """Everything agreed at checkout, kept whatever the catalog or configuration says later."""

    plan: Plan
    quantity: int
    unit_deposit: Decimal
    rates: Rates
    buyout_price: Decimal
    renewal_rent: Decimal
    daily_rent: Decimal
    damage_excess: Decimal | None
    late_fee: LateFeeRule
    early_buyout_discount_share: Decimal

    @property
    def protected(self) -> bool:
        return self.damage_excess is not None

    @property
    def is_long(self) -> bool:
        return isinstance(self.plan, LongTerm)


@dataclass(frozen=True)
class Charges:
    """What the lease charges beyond rent: damage liability, late return days, buyout."""

    damage: Decimal = ZERO
    late_return: Decimal = ZERO
    buyout: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.damage + self.late_return + self.buyout

    def __add__(self, other: Charges) -> Charges:
        return Charges(self.damage + other.damage, self.late_return + other.late_return, self.buyout + other.buyout)

    def __sub__(self, other: Charges) -> Charges:
        return Charges(self.damage - other.damage, self.late_return - other.late_return, self.buyout - other.buyout)

    def pay(self, amount: Decimal) -> Charges:
        """How `amount` settles these charges in order: damage, late return, buyout."""
        damage = min(amount, self.damage)
        late = min(amount - damage, self.late_return)
        return Charges(damage, late, min(amount - damage - late, self.buyout))


@dataclass(frozen=True)
class Inspection:
    """What an inspection finds and charges (验机): the damage fee, the excess protection caps the liability at
    (None without protection), the customer's liability, and the days a short-term unit came back late."""

    damage_fee: Decimal
    excess: Decimal | None
    liability: Decimal
    late_days: int
    charges: Charges


@dataclass(frozen=True)
class SettlementForecast:
    """Settlement after an inspection, worked out before it is confirmed: the rent and fees still owed and the
    charges unpaid (this inspection's included) come out of the deposit held, at most what it holds (as settling
    takes them: rent and fees first, then damage, late return, buyout); the rest of the deposit is refunded, what
    it does not cover is the balance the customer pays, and money paid beyond what was owed is refunded apart."""

    inspection: Inspection
    rent_owed: Decimal
    charges_owed: Charges
    deposit_held: Decimal
    credit: Decimal

    @property
    def owed(self) -> Decimal:
        return self.rent_owed + self.charges_owed.total

    @property
    def deducted(self) -> Decimal:
        return min(self.owed, self.deposit_held)

    @property
    def rent_deducted(self) -> Decimal:
        return min(self.deducted, self.rent_owed)

    @property
    def charges_deducted(self) -> Charges:
        return self.charges_owed.pay(self.deducted - self.rent_deducted)

    @property
    def deposit_refunded(self) -> Decimal:
        return self.deposit_held - self.deducted

    @property
    def balance(self) -> Decimal:
        return self.owed - self.deducted


@dataclass(frozen=True)
class Allocation:
    """Where one payment went: rent side (including any credit) and charges; refs the source."""

    rent_side: Collected = field(default_factory=Collected)
    charges: Charges = field(default_factory=Charges)
    unapplied: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.rent_side.total + self.charges.total + self.unapplied


class PaymentSource(Enum):
    PROVIDER = "provider"
    DEPOSIT = "deposit"


@dataclass(frozen=True)
class BuyoutQuote:
    """Buyout (买断): the term-end price, plus unpaid rent less the early-buyout discount."""

    buyout_price: Decimal
    unpaid_rent: Decimal
    discount: Decimal

    @property
    def price(self) -> Decimal:
        return self.buyout_price + self.unpaid_rent - self.discount


class Lease(Aggregate):
    """An order and the lease it becomes (租赁订单); its id is the order id."""

    Snapshot = TaggedSnapshot

    class_version = 2
    """v2: the units an order books are kept on the order (`booked_units`), as each unit is its own
    aggregate; a v1 snapshot's order booked its units on the SKU's inventory."""

    id: UUID
    adjustments: tuple[Adjustment, ...] = ()
    """Fee waivers and goodwill credits, in the order finance made them; none until the first (so a lease
    replayed from a snapshot taken before adjustments existed has none)."""
    calls_recorded: int = 0
    """Collection calls recorded on the order (the calls themselves are its `CallRecorded` events); none until the
    first, as for a snapshot taken before calls were recorded."""
    requests: tuple[tuple[UUID, datetime], ...] = ()
    """The requests (their ids, derived from an `Idempotency-Key`) whose adjustment or call the order recorded, with
    when: the same request again records nothing more. Empty for an order whose adjustments and calls came without a
    request id, as all did before v2 of their events, and for a snapshot taken before requests were kept."""
    signing_flow_id: str | None = None
    """The e-signature provider's sign flow under way for the contract (kept once signed); none before signing
    started, as for a snapshot taken before sign flows existed."""
    contract_document_id: str = ""
    contract_sha256: str = ""
    """The signed document's id at the provider and the SHA-256 of its bytes; empty for a contract signed before
    they were kept."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["booked_units"] = ()

    class Event(Aggregate.Event):
        """An event of the lease; it moves the order's status as `STATUS_AFTER` says."""

        def apply(self, aggregate: Any) -> None:
            status = status_after(self)
            if status is not None:
                aggregate.status = status

    class OrderPlaced(Aggregate.Created):
        """v2 adds `booked_units`, the serials the order holds until it ships; a v1 order held its
        units on the SKU's inventory (`Inventory.booked_before_units`)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["booked_units"] = ()

        customer_id: UUID
        product_id: UUID
        sku_id: UUID
        channel: str
        deposit_mode: DepositMode
        address: Address
        terms: LeaseTerms
        deposit: Decimal
        waiver: Decimal
        schedule: tuple[Installment, ...]
        config_versions: dict[str, int]
        swapped_from: UUID | None
        booked_units: tuple[str, ...]

    @event(OrderPlaced)
    def __init__(
        self,
        customer_id: UUID,
        product_id: UUID,
        sku_id: UUID,
        channel: str,
        deposit_mode: DepositMode,
        address: Address,
        terms: LeaseTerms,
        deposit: Decimal,
        waiver: Decimal,
        schedule: tuple[Installment, ...],
        config_versions: dict[str, int],
        swapped_from: UUID | None,
        booked_units: tuple[str, ...],
        timestamp: datetime,
    ) -> None:
        self.customer_id, self.product_id, self.sku_id = customer_id, product_id, sku_id
        self.channel, self.deposit_mode, self.address = channel, deposit_mode, address
        self.terms, self.deposit, self.waiver = terms, deposit, waiver
        self.schedule = tuple(schedule)
        self.config_versions = config_versions
        self.swapped_from = swapped_from
        self.booked_units = tuple(booked_units)
        self.swapped_to: UUID | None = None
        self.status = LeaseStatus.PENDING_PAYMENT
        self.payment_refs: set[str] = set()
        self.receipts: tuple[Receipt, ...] = ()
        self.ledger = Ledger(
            as_of=terms.late_fee.local_date(timestamp),
            balances=tuple(
                Balance(i.seq, i.due_date, i.rent, i.protection, overdue_from=terms.late_fee.first_overdue_day(i))
                for i in schedule
            ),
        )
        self.charges = self.charges_paid = Charges()
        self.unapplied = ZERO
        self.refunded = ZERO
        self.stray_refunded = ZERO
        self.paid_in = ZERO
        self.start: date | None = None
        self.unit_serials: tuple[str, ...] = ()
        self.carrier: str | None = None
        self.tracking_no: str | None = None
        self.return_tracking_no: str | None = None
        self.contract_id: str | None = None
        self.shipped_back_on: date | None = None
        self.review_reason: str | None = None
        self.review_reasons: tuple[str, ...] = ()
        self.inspected = False
        self.collection_stage: str | None = None
        self.reason: str | None = None

    @classmethod
    def place(
        cls,
        *,
        order_id: UUID,
        customer_id: UUID,
        product_id: UUID,
        sku_id: UUID,
        channel: str,
        deposit_mode: DepositMode,
        address: Address,
        terms: LeaseTerms,
        deposit: Decimal,
        waiver: Decimal,
        schedule: tuple[Installment, ...],
        config_versions: dict[str, int],
        now: datetime,
        booked_units: tuple[str, ...] = (),
        swapped_from: UUID | None = None,
    ) -> Lease:
        """An order holds its quoted terms; the waiver never exceeds the deposit."""
        if not ZERO <= waiver <= deposit:
            raise InvalidInput("waiver", f"must lie between 0 and the deposit {deposit}")
        if deposit_mode is DepositMode.FULL and waiver:
            raise InvalidInput("deposit_mode", "a full-deposit order has no waiver")
        if not schedule:
            raise InvalidInput("plan", "an order has at least one installment")
        return cls(  # type: ignore[call-arg]
            id=order_id,
            customer_id=customer_id,
            product_id=product_id,
            sku_id=sku_id,
            channel=channel,
            deposit_mode=deposit_mode,
            address=address,
            terms=terms,
            deposit=deposit,
            waiver=waiver,
            schedule=schedule,
            config_versions=config_versions,
            swapped_from=swapped_from,
            booked_units=booked_units,
            timestamp=now,
        )

    # What the order owes and holds.

    @property
    def deposit_due(self) -> Decimal:
        """The deposit paid at checkout: none when it is frozen with the provider instead (押金预授权)."""
        return ZERO if self.deposit_mode is DepositMode.PREAUTH else self.deposit - self.waiver

    @property
    def due_now(self) -> Decimal:
        """Checkout: the deposit not waived plus installment 1 (long) or the whole rent (short)."""
        return self.deposit_due + self.schedule[0].amount

    @property
    def is_settled(self) -> bool:
        return self.status is LeaseStatus.SETTLED

    @property
    def units_held(self) -> tuple[str, ...]:
        """The units the order holds: those it shipped, or until then those it booked."""
        return self.unit_serials or self.booked_units

    @property
    def placed_at(self) -> datetime:
        return self.created_on

    @property
    def quantity(self) -> int:
        return self.terms.quantity

    @property
    def plan(self) -> Plan:
        return self.terms.plan

    @property
    def months(self) -> int:
        return len(self.schedule) if self.terms.is_long else 0

    @property
    def ends_on(self) -> date | None:
        """The lease's last day: start + months − 1 day, or the short-term end date."""
        if isinstance(self.plan, ShortTerm):
            return self.plan.end
        if self.start is None:
            return None
        return add_months(self.start, self.months) - timedelta(days=1)

    def local_date(self, instant: datetime) -> date:
        return self.terms.late_fee.local_date(instant)

    def assessed(self, now: datetime, *more: Receipt) -> Ledger:
        """The rent ledger as of `now`'s day in the billing timezone."""
        return self.ledger_on(self.local_date(now), *more)

    def ledger_on(self, day: date, *more: Receipt) -> Ledger:
        return assess(self.schedule, (*self.receipts, *more), self.terms.late_fee, day, self.adjustments)

    def owed(self, now: datetime) -> Decimal:
        """Everything still owed: rent and fees as of now, and unpaid charges."""
        return self.assessed(now).owed + (self.charges - self.charges_paid).total

    def owed_by(self, now: datetime) -> Decimal:
        """What is due today: rent and fees on installments due by today, and unpaid charges."""
        today = self.local_date(now)
        return self.assessed(now).owed_by(today) + (self.charges - self.charges_paid).total

    def is_overdue(self, now: datetime) -> bool:
        return self.assessed(now).is_overdue

    def credit(self, now: datetime) -> Decimal:
        """Money received beyond everything owed, to be refunded at settlement."""
        return self.assessed(now).credit + self.unapplied

    def has_payment(self, ref: str) -> bool:
        return ref in self.payment_refs

    def collected(self) -> Collected:
        return self.ledger.collected()

    # The path of an order.

    def pay_checkout(self, ref: str, amount: Decimal, paid_at: datetime, now: datetime) -> Decimal:
        """Checkout pays the deposit not waived plus the first rent, exactly; returns the deposit part."""
        self._require(LeaseStatus.PENDING_PAYMENT, action="pay the checkout")
        if amount != self.due_now:
            raise InvalidInput("amount", f"checkout is {self.due_now}, not {amount}")
        self._checkout_paid(ref, amount, paid_at, self.deposit_due, timestamp=now)
        return self.deposit_due

    def queue_for_review(self, reasons: tuple[str, ...], now: datetime) -> None:
        """What automated review could not pass waits for a reviewer, with its reasons."""
        self._require(LeaseStatus.PENDING_REVIEW, action="queue it for review")
        self._review_queued(tuple(reasons), timestamp=now)

    def approve(self, reviewer: str, reason: str, now: datetime) -> None:
        """Risk review (审批) passes; automatically or by a reviewer."""
        self._require(LeaseStatus.PENDING_REVIEW, action="approve it")
        self._approved(reviewer, reason, timestamp=now)

    def reject(self, reviewer: str, reason: str, now: datetime) -> Decimal:
        """A rejected order refunds the rent paid at checkout; returns that amount."""
        self._require(LeaseStatus.PENDING_REVIEW, action="reject it")
        if not reason.strip():
            raise InvalidInput("reason", "a rejection gives its reason")
        refund = self.collected().total
        self._rejected(reviewer, reason, refund, timestamp=now)
        return refund

    def cancel(self, reason: str, now: datetime) -> Decimal:
        """Cancel before shipping: what was paid toward rent is refunded; returns that amount."""
        self._require(*CANCELLABLE, action="cancel it")
        refund = self.collected().total
        self._cancelled(reason, refund, timestamp=now)
        return refund

    def start_signing(self, flow_id: str, now: datetime) -> None:
        """The customer signs on the provider's page; the order waits for the sign flow's end, one flow at a time."""
        self._require(LeaseStatus.PENDING_CONTRACT, action="start signing the contract")
        if not flow_id.strip():
            raise InvalidInput("flow_id", "must not be empty")
        if self.signing_flow_id is not None:
            raise Refused(f"sign flow {self.signing_flow_id} is already under way for order {self.id}")
        self._signing_started(flow_id, timestamp=now)

    def abandon_signing(self, flow_id: str, reason: str, now: datetime) -> None:
        """A sign flow that ended unsigned (refused, revoked, expired) frees the order to start another."""
        self._require(LeaseStatus.PENDING_CONTRACT, action="abandon signing the contract")
        if flow_id != self.signing_flow_id:
            raise Refused(f"sign flow {flow_id} is not the one under way for order {self.id}")
        self._signing_abandoned(flow_id, reason, timestamp=now)

    def sign_contract(self, contract_id: str, now: datetime, *, document_id: str = "", sha256: str = "") -> None:
        """The electronic contract (电子签章) is signed before anything ships; the signed document's id and the
        SHA-256 of its bytes are kept when the provider gives them."""
        self._require(LeaseStatus.PENDING_CONTRACT, action="sign the contract")
        if sha256 and not SHA256_HEX.fullmatch(sha256):
            raise InvalidInput("sha256", "must be 64 lower-case hexadecimal digits")
        self._contract_signed(contract_id, document_id, sha256, timestamp=now)

    def ship(self, unit_serials: tuple[str, ...], carrier: str, tracking_no: str, now: datetime) -> None:
        """Specific units go out with a carrier and a tracking number."""
        self._require(LeaseStatus.PENDING_SHIPMENT, action="ship it")
        if len(unit_serials) != self.quantity:
            raise InvalidInput("unit_serial", f"ship {self.quantity} unit(s), not {len(unit_serials)}")
        if not carrier.strip():
            raise InvalidInput("carrier", "must not be empty")
        if not tracking_no.strip():
            raise InvalidInput("tracking_no", "must not be empty")
        self._shipped(unit_serials, carrier, tracking_no, timestamp=now)

    def confirm_receipt(self, now: datetime) -> None:
        """Receipt starts the lease and fixes the schedule from that day."""
        self._require(LeaseStatus.SHIPPED, action="confirm receipt")
        today = self.local_date(now)
        if isinstance(self.plan, ShortTerm):
            start, schedule = self.plan.start, self.schedule
        else:
            start, schedule = today, restart(self.schedule, today)
        self._delivered(start, schedule, timestamp=now)

    def pay_rent(self, ref: str, amount: Decimal, paid_at: datetime, now: datetime) -> Allocation:
        """Rent payments, partial or whole, go to the oldest installment first, fees before rent."""
        self._require(*RENT_PAYABLE, action="pay rent")
        if amount <= ZERO:
            raise InvalidInput("amount", "must be more than 0")
        before = self.assessed(now)
        after = self.assessed(now, Receipt(ref, amount, paid_at))
        allocation = Allocation(rent_side=after.collected() - before.collected())
        self._installment_paid(ref, amount, paid_at, PaymentSource.PROVIDER, allocation, timestamp=now)
        return allocation

    def assess_overdue(self, as_of: date, now: datetime) -> bool:
        """The daily assessment: overdue days and late fees as of a day; an event only on change."""
        if self.status not in RENT_PAYABLE or as_of < self.ledger.as_of:
            return False
        ledger = self.ledger_on(as_of)
        if ledger.balances == self.ledger.balances or not (ledger.is_overdue or self.ledger.is_overdue):
            return False
        self._assessed(as_of, timestamp=now)
        return True

    def move_collection_stage(self, stage: str | None, now: datetime) -> bool:
        if stage == self.collection_stage:
            return False
        self._collection_stage_changed(stage, self.ledger.days_overdue, timestamp=now)
        return True

    def renew(self, months: int, now: datetime) -> None:
        """Renew (续租): more months at the renewal rent, continuing the schedule."""
        self._require_end_of_term(now, "renew")
        if not self.terms.is_long:
            raise Refused("only a long-term lease can be renewed")
        if not 1 <= months <= 36:
            raise InvalidInput("months", "renew for 1 to 36 months")
        assert self.start is not None
        rates = Rates(self.terms.renewal_rent, self.terms.rates.protection)
        added = monthly(self.start, first_seq=len(self.schedule) + 1, count=months, rates=rates, quantity=self.quantity)
        self._renewed(months, added, timestamp=now)

    def request_return(self, tracking_no: str, now: datetime) -> None:
        """Return (设备返还): the customer ships the device back from 7 days before the term's end."""
        self._require_end_of_term(now, "return it")
        self._return_requested(tracking_no.strip(), self.local_date(now), timestamp=now)

    def swap_out(self, new_order_id: UUID, tracking_no: str, now: datetime) -> None:
        """Swap (换机): this device goes back like a return; a linked new order takes over."""
        if not self.terms.is_long:
            raise Refused("only a long-term lease can be swapped")
        self._require_end_of_term(now, "swap it")
        self._swapped_out(new_order_id, tracking_no.strip(), self.local_date(now), timestamp=now)

    def record_return(self, now: datetime) -> None:
        """The device is back at the warehouse, waiting for inspection."""
        self._require(LeaseStatus.RETURNING, action="record the return")
        self._device_returned(timestamp=now)

    def complete_inspection(self, damage_fee: Decimal, notes: str, now: datetime) -> Charges:
        """Inspection sets the damage fee (损坏费) and charges what `inspection` finds."""
        found = self.inspection(damage_fee)
        self._inspected(damage_fee, found.liability, found.late_days, found.charges, notes, timestamp=now)
        return found.charges

    def inspection(self, damage_fee: Decimal) -> Inspection:
        """What an inspection finding `damage_fee` would charge, changing nothing: protection caps the liability at
        the excess; a short-term unit shipped back after its end date owes daily rent per day late."""
        self._require(LeaseStatus.INSPECTING, action="complete the inspection")
        if damage_fee < ZERO or damage_fee != money(damage_fee):
            raise InvalidInput("damage_fee", "must be an amount ≥ 0")
        excess = self.terms.damage_excess
        liability = damage_fee if excess is None else min(damage_fee, excess)
        late_days = 0
        if isinstance(self.plan, ShortTerm) and self.shipped_back_on is not None:
            late_days = max(0, (self.shipped_back_on - self.plan.end).days)
        late_return = money(self.terms.daily_rent * late_days * self.quantity)
        charges = Charges(damage=liability, late_return=late_return)
        return Inspection(damage_fee, excess, liability, late_days, charges)

    def settlement_forecast(self, inspection: Inspection, deposit_held: Decimal, now: datetime) -> SettlementForecast:
        """What settling right after `inspection` would do with the deposit held, changing nothing."""
        unpaid = self.charges - self.charges_paid + inspection.charges
        return SettlementForecast(inspection, self.assessed(now).owed, unpaid, deposit_held, self.credit(now))

    def buyout_quote(self, now: datetime) -> BuyoutQuote:
        """At term end the buyout price; earlier, plus the unpaid rent less the discount on it."""
        self._require(LeaseStatus.LEASING, action="buy it out")
        if not self.terms.is_long:
            raise Refused("only a long-term lease can be bought out")
        ledger = self.assessed(now)
        if ledger.is_overdue:
            raise Overdue("an installment is overdue; pay it before buying out")
        unpaid = ledger.unpaid_rent()
        discount = money(unpaid * self.terms.early_buyout_discount_share)
        return BuyoutQuote(money(self.terms.buyout_price * self.quantity), unpaid, discount)

    def buy_out(self, ref: str, amount: Decimal, from_deposit: Decimal, paid_at: datetime, now: datetime) -> None:
        """Ownership passes (租转售) once the price is paid, the deposit counting toward it."""
        quote = self.buyout_quote(now)
        if amount + from_deposit != quote.price:
            raise InvalidInput("amount", f"the buyout price is {quote.price}, not {amount + from_deposit}")
        ledger = self.assessed(now)
        closed = tuple(
            replace(installment, rent=balance.rent_paid, protection=balance.protection_paid)
            for installment, balance in zip(self.schedule, ledger.balances, strict=True)
            if balance.rent_paid or balance.protection_paid
        )
        self._bought_out(ref, amount, from_deposit, quote, closed, paid_at, timestamp=now)

    def pay_balance(
        self, ref: str, amount: Decimal, source: PaymentSource, paid_at: datetime, now: datetime
    ) -> Allocation:
        """Money toward the balance at settlement: rent and fees first, then charges."""
        self._require(LeaseStatus.INSPECTING, LeaseStatus.PENDING_SETTLEMENT, action="pay the balance")
        if amount <= ZERO:
            raise InvalidInput("amount", "must be more than 0")
        before = self.assessed(now)
        to_rent = min(amount, before.owed)
        after = self.assessed(now, Receipt(ref, to_rent, paid_at)) if to_rent else before
        charges = (self.charges - self.charges_paid).pay(amount - to_rent)
        allocation = Allocation(after.collected() - before.collected(), charges, amount - to_rent - charges.total)
        self._balance_paid(ref, amount, paid_at, source, allocation, timestamp=now)
        return allocation

    def await_balance(self, now: datetime) -> None:
        """The deposit did not cover what is owed: the order waits for a damage payment."""
        self._require(LeaseStatus.INSPECTING, action="wait for the balance")
        self._settlement_pending(self.owed(now), timestamp=now)

    def check_settleable(self) -> None:
        """Only a device back from inspection, or bought out, can be settled."""
        self._require(
            LeaseStatus.INSPECTING, LeaseStatus.PENDING_SETTLEMENT, LeaseStatus.BOUGHT_OUT, action="settle it"
        )
        if self.status is LeaseStatus.INSPECTING and not self.inspected:
            raise InvalidState(f"order {self.id}", "inspecting", "settle it before the inspection is complete")

    def settle(self, now: datetime) -> Decimal:
        """Settlement (结清): nothing owed, device back or bought out; refunds any credit; returns it."""
        self.check_settleable()
        owed = self.owed(now)
        if owed > ZERO:
            raise Refused(f"{owed} is still owed")
        refund = self.credit(now)
        self._settled(refund, timestamp=now)
        return refund

    def erase_personal_data(self, now: datetime) -> None:
        """The delivery address reads "erased" once its customer's personal data was erased; the order, its
        ledger and every figure stay (the contract's records are kept, only who it was is gone)."""
        if self.address != ERASED_ADDRESS:
            self._personal_data_erased(timestamp=now)

    class PersonalDataErased(Aggregate.Event):
        """The order's customer had their personal data erased (`Customer.PersonalDataErased`)."""

    @event(PersonalDataErased)
    def _personal_data_erased(self, timestamp: datetime) -> None:
        self.address = ERASED_ADDRESS

    def record_stray_payment(self, ref: str, amount: Decimal, paid_at: datetime, now: datetime) -> None:
        """Money that arrives when nothing can take it (a checkout paid after cancelling) goes back."""
        self._stray_payment_refunded(ref, amount, paid_at, timestamp=now)

    # Finance's adjustments.

    def recorded(self, request_id: UUID | None) -> datetime | None:
        """When the order recorded what the request asked for; None if it has not (or no request is named)."""
        return next((at for known, at in self.requests if known == request_id), None)

    def waive_late_fee(
        self, seq: int, amount: Decimal, reason: str, staff: str, now: datetime, request_id: UUID | None = None
    ) -> None:
        """Finance waives (减免) at most the late fee assessed and unpaid on one installment, for a reason. The waiver
        sticks: the installment's fee cap counts the waived fee as accrued, so no later assessment charges it again,
        and the fee goes on accruing for the overdue days after it as the rule says. A request (`request_id`) the
        order recorded already waives nothing more."""
        if self.recorded(request_id) is not None:
            return
        self._require(*RENT_PAYABLE, action="adjust what it owes")
        reason = _adjustment_reason(reason)
        _adjustment_amount(amount)
        balance = next((b for b in self.assessed(now).balances if b.seq == seq), None)
        if balance is None:
            raise InvalidInput("seq", f"the order's installments are 1 to {len(self.schedule)}, not {seq}")
        unpaid = balance.late_fee - balance.fee_paid
        if amount > unpaid:
            raise InvalidInput("amount", f"exceeds the late fee unpaid on installment {seq}, {unpaid}")
        self._late_fee_waived(seq, amount, reason, staff, request_id, timestamp=now)

    def grant_goodwill_credit(
        self, amount: Decimal, reason: str, staff: str, now: datetime, request_id: UUID | None = None
    ) -> None:
        """Finance credits the order an amount, for a reason (商誉补偿): it pays rent and late fees like money
        received, oldest first, fees before rent, but is no money in and never refunded, so it is at most what
        the ledger still owes (damage and other charges are not the ledger's). A request (`request_id`) the order
        recorded already credits nothing more."""
        if self.recorded(request_id) is not None:
            return
        self._require(*RENT_PAYABLE, action="adjust what it owes")
        reason = _adjustment_reason(reason)
        _adjustment_amount(amount)
        owed = self.assessed(now).owed
        if amount > owed:
            raise InvalidInput("amount", f"exceeds the rent and late fees still owed, {owed}")
        self._goodwill_credited(amount, reason, staff, request_id, timestamp=now)

    # Collections.

    def record_call(
        self,
        outcome: CallOutcome,
        notes: str,
        promised_on: date | None,
        staff: str,
        now: datetime,
        request_id: UUID | None = None,
    ) -> datetime:
        """Collections (催收) records a call about the order while it pays rent: what came of it, in notes of at most
        500 characters; a promise to pay (承诺还款) names its day, today or later, and only a promise names one.
        When it was recorded; a request (`request_id`) the order recorded already records nothing more."""
        made_at = self.recorded(request_id)
        if made_at is not None:
            return made_at
        self._require(*RENT_PAYABLE, action="record a collection call")
        notes = notes.strip()
        if len(notes) > 500:
            raise InvalidInput("notes", "at most 500 characters")
        if outcome is CallOutcome.PROMISED and promised_on is None:
            raise InvalidInput("promised_on", "a promise to pay names the day it will be paid")
        if outcome is not CallOutcome.PROMISED and promised_on is not None:
            raise InvalidInput("promised_on", "only a promise to pay names a day")
        if promised_on is not None and promised_on < self.local_date(now):
            raise InvalidInput("promised_on", f"must be today ({self.local_date(now).isoformat()}) or later")
        self._call_recorded(outcome.value, notes, promised_on, staff, request_id, timestamp=now)
        return now

    # Guards.

    def require(self, *allowed: LeaseStatus, action: str) -> None:
        """Refuse, naming the state, unless the order is in one of `allowed`."""
        self._require(*allowed, action=action)

    def _require(self, *allowed: LeaseStatus, action: str) -> None:
        if self.status not in allowed:
            raise InvalidState(f"order {self.id}", self.status.value, action)

    def _require_end_of_term(self, now: datetime, action: str) -> None:
        self._require(LeaseStatus.LEASING, action=action)
        ends_on = self.ends_on
        assert ends_on is not None
        opens = ends_on - END_OF_TERM_WINDOW
        if self.local_date(now) < opens:
            raise Refused(f"cannot {action} before {opens.isoformat()}, 7 days before the term ends")
        if self.is_overdue(now):
            raise Overdue(f"cannot {action}: an installment is overdue")

    # Events: each only assigns what the command decided.

    def _take(self, ref: str, amount: Decimal) -> None:
        self.payment_refs = self.payment_refs | {ref}
        self.paid_in += amount

    def _reassess(self, timestamp: datetime) -> None:
        """The ledger follows from the schedule and the receipts, assessed on the event's day: never stored."""
        self.ledger = self.ledger_on(self.local_date(timestamp))

    class CheckoutPaid(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        ref: str
        amount: Decimal
        paid_at: datetime
        deposit_part: Decimal

    @event(CheckoutPaid)
    def _checkout_paid(
        self, ref: str, amount: Decimal, paid_at: datetime, deposit_part: Decimal, timestamp: datetime
    ) -> None:
        self._take(ref, amount)
        self.receipts = (*self.receipts, Receipt(ref, amount - deposit_part, paid_at))
        self._reassess(timestamp)

    class ReviewQueued(Event):
        reasons: tuple[str, ...]

    @event(ReviewQueued)
    def _review_queued(self, reasons: tuple[str, ...], timestamp: datetime) -> None:
        self.review_reasons = tuple(reasons)

    class ReviewApproved(Event):
        reviewer: str
        reason: str

    @event(ReviewApproved)
    def _approved(self, reviewer: str, reason: str, timestamp: datetime) -> None:
        self.review_reason = reason

    class ReviewRejected(Event):
        reviewer: str
        reason: str
        refund: Decimal

    @event(ReviewRejected)
    def _rejected(self, reviewer: str, reason: str, refund: Decimal, timestamp: datetime) -> None:
        self.review_reason = reason
        self.refunded += refund

    class Cancelled(Event):
        reason: str
        refund: Decimal

    @event(Cancelled)
    def _cancelled(self, reason: str, refund: Decimal, timestamp: datetime) -> None:
        self.reason = reason
        self.refunded += refund

    class SigningStarted(Event):
        flow_id: str

    @event(SigningStarted)
    def _signing_started(self, flow_id: str, timestamp: datetime) -> None:
        self.signing_flow_id = flow_id

    class SigningAbandoned(Event):
        flow_id: str
        reason: str

    @event(SigningAbandoned)
    def _signing_abandoned(self, flow_id: str, reason: str, timestamp: datetime) -> None:
        self.signing_flow_id = None

    class ContractSigned(Event):
        """v2 adds the signed document's id at the provider and the SHA-256 of its bytes; a v1 contract has
        neither (both empty)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["document_id"] = ""
            state["sha256"] = ""

        contract_id: str
        document_id: str
        sha256: str

    @event(ContractSigned)
    def _contract_signed(self, contract_id: str, document_id: str, sha256: str, timestamp: datetime) -> None:
        self.contract_id = contract_id
        self.contract_document_id, self.contract_sha256 = document_id, sha256

    class Shipped(Event):
        unit_serials: tuple[str, ...]
        carrier: str
        tracking_no: str

    @event(Shipped)
    def _shipped(self, unit_serials: tuple[str, ...], carrier: str, tracking_no: str, timestamp: datetime) -> None:
        self.unit_serials, self.carrier, self.tracking_no = tuple(unit_serials), carrier, tracking_no

    class Delivered(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        start: date
        schedule: tuple[Installment, ...]

    @event(Delivered)
    def _delivered(self, start: date, schedule: tuple[Installment, ...], timestamp: datetime) -> None:
        self.start, self.schedule = start, tuple(schedule)
        self._reassess(timestamp)

    class InstallmentPaid(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        ref: str
        amount: Decimal
        paid_at: datetime
        source: PaymentSource
        allocation: Allocation

    @event(InstallmentPaid)
    def _installment_paid(
        self,
        ref: str,
        amount: Decimal,
        paid_at: datetime,
        source: PaymentSource,
        allocation: Allocation,
        timestamp: datetime,
    ) -> None:
        self._take(ref, amount)
        self.receipts = (*self.receipts, Receipt(ref, amount, paid_at))
        self._reassess(timestamp)

    class OverdueAssessed(Event):
        """The daily assessment as of a day (the fact); the overdue days and fees follow from it."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 stored the whole ledger; the day it was assessed as of is all replay needs."""
            state["as_of"] = state.pop("ledger").as_of

        as_of: date

    @event(OverdueAssessed)
    def _assessed(self, as_of: date, timestamp: datetime) -> None:
        self.ledger = self.ledger_on(as_of)

    class CollectionStageChanged(Event):
        stage: str | None
        days_overdue: int

    @event(CollectionStageChanged)
    def _collection_stage_changed(self, stage: str | None, days_overdue: int, timestamp: datetime) -> None:
        self.collection_stage = stage

    class RenewalAgreed(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        months: int
        installments: tuple[Installment, ...]

    @event(RenewalAgreed)
    def _renewed(self, months: int, installments: tuple[Installment, ...], timestamp: datetime) -> None:
        self.schedule = (*self.schedule, *installments)
        self._reassess(timestamp)

    class ReturnRequested(Event):
        tracking_no: str
        shipped_back_on: date

    @event(ReturnRequested)
    def _return_requested(self, tracking_no: str, shipped_back_on: date, timestamp: datetime) -> None:
        self.return_tracking_no, self.shipped_back_on = tracking_no, shipped_back_on

    class SwappedOut(Event):
        new_order_id: UUID
        tracking_no: str
        shipped_back_on: date

    @event(SwappedOut)
    def _swapped_out(self, new_order_id: UUID, tracking_no: str, shipped_back_on: date, timestamp: datetime) -> None:
        self.swapped_to = new_order_id
        self.return_tracking_no, self.shipped_back_on = tracking_no, shipped_back_on

    class DeviceReturned(Event):
        """No more than that it happened."""

    @event(DeviceReturned)
    def _device_returned(self, timestamp: datetime) -> None:
        """The device is back; the order waits for inspection."""

    class InspectionCompleted(Event):
        damage_fee: Decimal
        liability: Decimal
        late_days: int
        charges: Charges
        notes: str

    @event(InspectionCompleted)
    def _inspected(
        self, damage_fee: Decimal, liability: Decimal, late_days: int, charges: Charges, notes: str, timestamp: datetime
    ) -> None:
        self.charges = self.charges + charges
        self.inspected = True

    class BoughtOut(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        ref: str
        amount: Decimal
        from_deposit: Decimal
        quote: BuyoutQuote
        schedule: tuple[Installment, ...]
        paid_at: datetime

    @event(BoughtOut)
    def _bought_out(
        self,
        ref: str,
        amount: Decimal,
        from_deposit: Decimal,
        quote: BuyoutQuote,
        schedule: tuple[Installment, ...],
        paid_at: datetime,
        timestamp: datetime,
    ) -> None:
        if amount:
            self._take(ref, amount)
        self.schedule = tuple(schedule)
        self._reassess(timestamp)
        buyout = Charges(buyout=quote.price)
        self.charges, self.charges_paid = self.charges + buyout, self.charges_paid + buyout

    class BalancePaid(Event):
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 also stored the ledger it led to, which replay now assesses from the schedule and receipts."""
            del state["ledger"]

        ref: str
        amount: Decimal
        paid_at: datetime
        source: PaymentSource
        allocation: Allocation

    @event(BalancePaid)
    def _balance_paid(
        self,
        ref: str,
        amount: Decimal,
        paid_at: datetime,
        source: PaymentSource,
        allocation: Allocation,
        timestamp: datetime,
    ) -> None:
        if source is PaymentSource.PROVIDER:
            self._take(ref, amount)
        else:
            self.payment_refs = self.payment_refs | {ref}
        if allocation.rent_side.total:
            self.receipts = (*self.receipts, Receipt(ref, allocation.rent_side.total, paid_at))
        self._reassess(timestamp)
        self.charges_paid = self.charges_paid + allocation.charges
        self.unapplied += allocation.unapplied

    class SettlementPending(Event):
        balance: Decimal

    @event(SettlementPending)
    def _settlement_pending(self, balance: Decimal, timestamp: datetime) -> None:
        """The deposit fell short; the order waits for the balance."""

    class Settled(Event):
        refund: Decimal

    @event(Settled)
    def _settled(self, refund: Decimal, timestamp: datetime) -> None:
        self.refunded += refund

    class StrayPaymentRefunded(Event):
        ref: str
        amount: Decimal
        paid_at: datetime

    @event(StrayPaymentRefunded)
    def _stray_payment_refunded(self, ref: str, amount: Decimal, paid_at: datetime, timestamp: datetime) -> None:
        self._take(ref, amount)
        self.refunded += amount
        self.stray_refunded += amount

    def _requested(self, request_id: UUID | None, timestamp: datetime) -> None:
        if request_id is not None:
            self.requests = (*self.requests, (request_id, timestamp))

    class LateFeeWaived(Event):
        """Finance waived `amount` of the late fee on installment `seq`, for `reason`; `staff` is who did it. v2
        adds `request_id`, the request that asked for it (None without one, as for every v1 waiver)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        seq: int
        amount: Decimal
        reason: str
        staff: str
        request_id: UUID | None

    @event(LateFeeWaived)
    def _late_fee_waived(
        self, seq: int, amount: Decimal, reason: str, staff: str, request_id: UUID | None, timestamp: datetime
    ) -> None:
        self.adjustments = (*self.adjustments, FeeWaiver(seq, amount, timestamp, len(self.receipts)))
        self._requested(request_id, timestamp)
        self._reassess(timestamp)

    class GoodwillCredited(Event):
        """Finance credited the order `amount`, for `reason`; `staff` is who did it. No money moved. v2 adds
        `request_id`, the request that asked for it (None without one, as for every v1 credit)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        amount: Decimal
        reason: str
        staff: str
        request_id: UUID | None

    @event(GoodwillCredited)
    def _goodwill_credited(
        self, amount: Decimal, reason: str, staff: str, request_id: UUID | None, timestamp: datetime
    ) -> None:
        self.adjustments = (*self.adjustments, GoodwillCredit(amount, timestamp, len(self.receipts)))
        self._requested(request_id, timestamp)
        self._reassess(timestamp)

    class CallRecorded(Event):
        """`staff` called the customer about the order: `outcome` (a `CallOutcome`), their `notes`, and for a
        promise to pay the day promised. Nothing the order owes changes. v2 adds `request_id`, the request that
        recorded it (None without one, as for every v1 call)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        outcome: str
        notes: str
        promised_on: date | None
        staff: str
        request_id: UUID | None

    @event(CallRecorded)
    def _call_recorded(
        self,
        outcome: str,
        notes: str,
        promised_on: date | None,
        staff: str,
        request_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.calls_recorded = self.calls_recorded + 1
        self._requested(request_id, timestamp)


def _adjustment_reason(reason: str) -> str:
    """An adjustment says why, in at most 500 characters."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "an adjustment gives its reason")
    if len(reason) > 500:
        raise InvalidInput("reason", "at most 500 characters")
    return reason


def _adjustment_amount(amount: Decimal) -> None:
    if amount <= ZERO or amount != money(amount):
        raise InvalidInput("amount", "must be an amount of money above 0, in fen")

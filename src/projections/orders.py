"""The order list: one row per order, by customer and by status, with the fields of the API order, its delivery
address and, once settled, its settlement statement (what the deposit paid went to)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
)

from leasecore.lease import AUTOMATIC, RENT_PAYABLE, STATUS_AFTER, Lease, LeaseStatus, PaymentSource, status_after
from leasecore.lease.ledger import Ledger, days_overdue_on
from leasecore.money.deposit import Deposit
from leasecore.values import ERASED, ZERO, DepositMode, ShortTerm, add_months
from projections.customers import customers_view
from projections.prepared import Prepared
from projections.projection import (
    Batch,
    Event,
    Page,
    Projection,
    Row,
    as_read,
    blank,
    check_page,
    field_names,
    is_new,
    on,
    replay,
)
from projections.store import Instant, ViewStore, metadata, money

orders_view = Table(
    "orders_view",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("product_id", Uuid, nullable=False),
    Column("sku_id", Uuid, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("plan_kind", String(8), nullable=False),
    Column("plan_months", Integer),
    Column("months", Integer),
    Column("plan_start", Date),
    Column("plan_end", Date),
    Column("protection", Boolean, nullable=False),
    Column("deposit_mode", String(8), nullable=False),
    money("deposit"),
    money("waiver"),
    money("deposit_due"),
    money("due_now"),
    Column("unit_serials", JSON, nullable=False),
    Column("carrier", String(64)),
    Column("tracking_no", String(64)),
    Column("return_tracking_no", String(64)),
    Column("contract_id", String(128)),
    Column("signing_flow_id", String(128)),
    Column("contract_document_id", String(128)),
    Column("contract_sha256", String(64)),
    Column("channel", String(32), nullable=False),
    Column("swapped_from", Uuid),
    Column("swapped_to", Uuid),
    Column("collection_stage", String(16)),
    Column("days_overdue", Integer, nullable=False),
    Column("overdue_from", Date),
    Column("reason", Text),
    Column("review_reasons", JSON, nullable=False),
    Column("address_name", String(64), nullable=False),
    Column("address_phone", String(32), nullable=False),
    Column("address_line", String(200), nullable=False),
    Column("damage_fee", Numeric(14, 2)),
    Column("liability", Numeric(14, 2)),
    money("rent_deducted"),
    money("fees_deducted"),
    money("damage_deducted"),
    money("buyout_deducted"),
    money("credit_refunded"),
    Column("settled_at", Instant),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_orders_view_created", "created_at", "id"),
    Index("ix_orders_view_tracking", "tracking_no"),
    Index("ix_orders_view_return_tracking", "return_tracking_no"),
    Index("ix_orders_view_customer", "customer_id", "created_at"),
    Index("ix_orders_view_status", "status", "created_at"),
    Index("ix_orders_view_overdue", "overdue_from"),
    Index("ix_orders_view_customer_status", "customer_id", "status", "created_at"),
    Index("ix_orders_view_signing_flow", "signing_flow_id"),
)
"""`rent_deducted`, `fees_deducted`, `damage_deducted`: what the deposit paid at settlement (rent with protection
and late-return days, late fees, damage liability); `buyout_deducted` what it paid toward a buyout.
`signing_flow_id` is the e-signature provider's sign flow (its callback names only that); `contract_document_id`
and `contract_sha256` the signed document there and the SHA-256 of its bytes (empty for contracts signed before)."""

order_deposits_view = Table(
    "order_deposits_view",
    metadata,
    Column("deposit_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    money("paid"),
    money("deducted"),
    money("refunded"),
    money("to_freeze"),
    money("frozen"),
    money("credit_waived"),
    money("taken"),
    money("unfrozen"),
    Column("pending_operations", Integer, nullable=False),
    Column("freeze_requested_at", Instant),
    Index("ix_order_deposits_view_pending", "pending_operations"),
    Index("ix_order_deposits_view_freeze_requested", "freeze_requested_at"),
)
"""Each order's deposit as its own events tell it: paid, deducted, refunded; and when pre-authorized (押金预授权),
what was to be frozen, what providers froze (`frozen`, with `credit_waived` on their own credit besides), what
was taken from it and unfrozen, and how many takes and unfreezes the providers have yet to confirm;
`freeze_requested_at` when a freeze was first asked of a provider."""

order_counts_view = Table(
    "order_counts_view",
    metadata,
    Column("status", String(24), primary_key=True),
    Column("orders", Integer, nullable=False),
)
"""How many orders each status holds, kept as orders move, so a count over all orders reads a dozen rows."""

order_serials_view = Table(
    "order_serials_view",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("serial", String(64), primary_key=True),
    Index("ix_order_serials_view_serial", "serial"),
)
"""The units each order holds or held (booked at placing, then those shipped), so staff find an order by the
serial or IMEI in their hand."""

STATUS_EVENTS = tuple(getattr(Lease, name) for name in STATUS_AFTER)
"""The lease events that move an order's status (`leasecore.lease`'s state machine says where to)."""

LEDGER_EVENTS = (
    Lease.CheckoutPaid,
    Lease.Delivered,
    Lease.InstallmentPaid,
    Lease.OverdueAssessed,
    Lease.RenewalAgreed,
    Lease.BoughtOut,
    Lease.BalancePaid,
    Lease.LateFeeWaived,
    Lease.GoodwillCredited,
)
"""Every lease event after which its ledger may differ."""


class OrdersProjection(Projection):
    """Orders as the API shows them: status, plan, deposit and waiver, units, collection stage."""

    name = "orders"
    version = 8
    needs_ledgers = True
    assessments_overtaken = True
    tables = (orders_view, order_deposits_view, order_serials_view, order_counts_view)

    def prefetch(self, batch: Batch, events: Sequence[Event]) -> None:
        ids = [event.originator_id for event in events]
        batch.rows(orders_view, "id").prefetch(ids)
        batch.rows(order_deposits_view, "deposit_id").prefetch(ids)
        batch.rows(order_serials_view, "order_id").prefetch(ids)
        batch.rows(order_counts_view, "status").prefetch(status.value for status in LeaseStatus)

    @on(Lease.OrderPlaced)
    def placed(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(orders_view, "id")
        if not is_new(rows.one(event.originator_id), event):
            return
        terms, plan = event.terms, event.terms.plan
        short = isinstance(plan, ShortTerm)
        rows.put(
            event.originator_id,
            [
                blank(
                    orders_view,
                    id=event.originator_id,
                    version=event.originator_version,
                    status=LeaseStatus.PENDING_PAYMENT.value,
                    customer_id=event.customer_id,
                    product_id=event.product_id,
                    sku_id=event.sku_id,
                    quantity=terms.quantity,
                    plan_kind=plan.kind.value,
                    plan_months=None if short else plan.months,
                    months=None if short else len(event.schedule),
                    plan_start=plan.start if short else None,
                    plan_end=plan.end if short else None,
                    protection=terms.damage_excess is not None,
                    deposit_mode=event.deposit_mode.value,
                    deposit=event.deposit,
                    waiver=event.waiver,
                    deposit_due=_paid_at_checkout(event),
                    due_now=_paid_at_checkout(event) + event.schedule[0].amount,
                    unit_serials=[],
                    review_reasons=[],
                    address_name=event.address.name,
                    address_phone=event.address.phone,
                    address_line=event.address.line,
                    rent_deducted=ZERO,
                    fees_deducted=ZERO,
                    damage_deducted=ZERO,
                    buyout_deducted=ZERO,
                    credit_refunded=ZERO,
                    channel=event.channel,
                    swapped_from=event.swapped_from,
                    days_overdue=0,
                    created_at=event.timestamp,
                    updated_at=event.timestamp,
                )
            ],
        )
        _hold(batch, event.originator_id, event.booked_units)
        _count(batch, LeaseStatus.PENDING_PAYMENT.value, +1)

    @on(Lease.PersonalDataErased)
    def erased(self, batch: Batch, event: Event) -> None:
        row = batch.rows(orders_view, "id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        row["address_name"], row["address_phone"], row["address_line"] = ERASED, ERASED, ERASED

    @on(*STATUS_EVENTS, Lease.ReviewQueued, Lease.CollectionStageChanged, Lease.InstallmentPaid)
    @on(Lease.OverdueAssessed, Lease.RenewalAgreed, Lease.BalancePaid, Lease.InspectionCompleted)
    @on(Lease.StrayPaymentRefunded, Lease.LateFeeWaived, Lease.GoodwillCredited)
    @on(Lease.SigningStarted, Lease.SigningAbandoned)
    def changed(self, batch: Batch, event: Event) -> None:
        row = batch.rows(orders_view, "id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"], row["updated_at"] = event.originator_version, event.timestamp
        status = status_after(event)
        if status is not None and status.value != row["status"]:
            _count(batch, row["status"], -1)
            _count(batch, status.value, +1)
            row["status"] = status.value
        if isinstance(event, LEDGER_EVENTS):
            ledger = batch.ledger(event)
            row["days_overdue"], row["overdue_from"] = ledger.days_overdue, ledger.overdue_from
        _apply(row, event)
        if row["status"] not in PAYING:
            row["overdue_from"] = None
        if isinstance(event, Lease.Shipped):
            _hold(batch, event.originator_id, event.unit_serials)

    @on(Deposit.Required)
    def deposit_required(self, batch: Batch, event: Event) -> None:
        rows = batch.rows(order_deposits_view, "deposit_id")
        if not is_new(rows.one(event.originator_id), event):
            return
        row = blank(
            order_deposits_view,
            deposit_id=event.originator_id,
            order_id=event.order_id,
            version=event.originator_version,
            paid=ZERO,
            deducted=ZERO,
            refunded=ZERO,
            to_freeze=ZERO,
            frozen=ZERO,
            credit_waived=ZERO,
            taken=ZERO,
            unfrozen=ZERO,
            pending_operations=0,
        )
        rows.put(event.originator_id, [row])

    @on(Deposit.Paid, Deposit.Deducted, Deposit.Refunded)
    def deposit_moved(self, batch: Batch, event: Event) -> None:
        row = batch.rows(order_deposits_view, "deposit_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"] = event.originator_version
        column = {Deposit.Paid: "paid", Deposit.Deducted: "deducted", Deposit.Refunded: "refunded"}[type(event)]
        row[column] += event.amount

    @on(Deposit.FreezeRequired, Deposit.FreezeRequested, Deposit.Frozen)
    @on(Deposit.TakeFromFreezeRequested, Deposit.UnfreezeRequested)
    @on(Deposit.TakenFromFreeze, Deposit.Unfrozen)
    def freeze_moved(self, batch: Batch, event: Event) -> None:
        row = batch.rows(order_deposits_view, "deposit_id").one(event.originator_id)
        if row is None or not is_new(row, event):
            return
        row["version"] = event.originator_version
        if isinstance(event, Deposit.FreezeRequired):
            row["to_freeze"] = event.amount
        elif isinstance(event, Deposit.FreezeRequested):
            row["freeze_requested_at"] = row["freeze_requested_at"] or event.timestamp
        elif isinstance(event, Deposit.Frozen):
            row["frozen"] += event.fund_amount
            row["credit_waived"] += event.credit_amount
        elif isinstance(event, Deposit.TakeFromFreezeRequested | Deposit.UnfreezeRequested):
            row["taken" if isinstance(event, Deposit.TakeFromFreezeRequested) else "unfrozen"] += event.amount
            row["pending_operations"] += 1
        else:
            row["pending_operations"] -= 1


def _paid_at_checkout(event: Event) -> Decimal:
    """The deposit paid at checkout: none when it is frozen instead (押金预授权)."""
    return ZERO if event.deposit_mode is DepositMode.PREAUTH else event.deposit - event.waiver


def orders_with_freeze_operations(views: ViewStore, limit: int = 100) -> list[UUID]:
    """Orders whose takes from a freeze or unfreezes the provider has yet to confirm, for the dispatcher."""
    deposits = order_deposits_view.c
    query = select(deposits.order_id).where(deposits.pending_operations > 0).order_by(deposits.order_id)
    with views.read() as connection:
        return list(connection.execute(query.limit(limit)).scalars())


def freezes_unnotified(views: ViewStore, asked_between: tuple[datetime, datetime], limit: int = 100) -> list[UUID]:
    """Orders whose deposit freeze was asked of a provider between the two instants and never notified frozen,
    for asking the provider whether its notification was lost."""
    deposits = order_deposits_view.c
    since, until = asked_between
    query = (
        select(deposits.order_id)
        .where(deposits.frozen == 0, deposits.credit_waived == 0)
        .where(deposits.freeze_requested_at >= since, deposits.freeze_requested_at < until)
        .order_by(deposits.freeze_requested_at, deposits.order_id)
    )
    with views.read() as connection:
        return list(connection.execute(query.limit(limit)).scalars())


def _count(batch: Batch, status: str, change: int) -> None:
    rows = batch.rows(order_counts_view, "status")
    row = rows.one(status)
    if row is None:
        rows.put(status, [{"status": status, "orders": change}])
    else:
        row["orders"] += change


def _hold(batch: Batch, order_id: UUID, serials: Sequence[str]) -> None:
    """The order's units are these (those shipped replace those booked)."""
    batch.rows(order_serials_view, "order_id").put(
        order_id, [{"order_id": order_id, "serial": serial} for serial in dict.fromkeys(serials)]
    )


def _apply(row: Row, event: Event) -> None:
    if isinstance(event, Lease.Cancelled | Lease.ReviewRejected):
        row["reason"] = event.reason
    elif isinstance(event, Lease.ReviewQueued):
        row["review_reasons"] = list(event.reasons)
    elif isinstance(event, Lease.ReviewApproved) and event.reviewer == AUTOMATIC:
        row["review_reasons"] = [event.reason]
    elif isinstance(event, Lease.ContractSigned):
        row["contract_id"] = event.contract_id
        row["contract_document_id"], row["contract_sha256"] = event.document_id, event.sha256
    elif isinstance(event, Lease.SigningStarted):
        row["signing_flow_id"] = event.flow_id
    elif isinstance(event, Lease.SigningAbandoned):
        row["signing_flow_id"] = None
    elif isinstance(event, Lease.Shipped):
        row["unit_serials"] = list(event.unit_serials)
        row["carrier"], row["tracking_no"] = event.carrier, event.tracking_no
    elif isinstance(event, Lease.Delivered):
        if row["plan_kind"] == "long":
            row["plan_start"] = event.start
            row["months"] = len(event.schedule)
            row["plan_end"] = _long_term_end(row)
    elif isinstance(event, Lease.RenewalAgreed):
        row["months"] = (row["months"] or 0) + event.months
        row["plan_end"] = _long_term_end(row)
    elif isinstance(event, Lease.ReturnRequested):
        row["return_tracking_no"] = event.tracking_no
    elif isinstance(event, Lease.SwappedOut):
        row["swapped_to"] = event.new_order_id
        row["return_tracking_no"] = event.tracking_no
    elif isinstance(event, Lease.CollectionStageChanged):
        row["collection_stage"] = event.stage
        row["days_overdue"] = event.days_overdue
    elif isinstance(event, Lease.InspectionCompleted):
        row["damage_fee"], row["liability"] = event.damage_fee, event.liability
    elif isinstance(event, Lease.BalancePaid) and event.source is PaymentSource.DEPOSIT:
        rent_side, charges = event.allocation.rent_side, event.allocation.charges
        row["rent_deducted"] += rent_side.rent + rent_side.protection + rent_side.credit + charges.late_return
        row["fees_deducted"] += rent_side.fees
        row["damage_deducted"] += charges.damage
        row["buyout_deducted"] += charges.buyout
    elif isinstance(event, Lease.BoughtOut):
        row["buyout_deducted"] += event.from_deposit
    elif isinstance(event, Lease.Settled):
        row["settled_at"], row["credit_refunded"] = event.timestamp, event.refund


PAYING = frozenset(status.value for status in RENT_PAYABLE)
"""The statuses whose rent is payable, as the rows store them."""


def _long_term_end(row: Row) -> date | None:
    """A long-term lease's last day: start + months − 1 day (renewals add months)."""
    if row["plan_start"] is None or row["months"] is None:
        return None
    return add_months(row["plan_start"], row["months"]) - timedelta(days=1)


# Queries.


@dataclass(frozen=True)
class PlanView:
    """`long` with its months (renewals included) or `short`; the lease's first and last day
    (a long-term lease has them from receipt on)."""

    kind: str
    months: int | None
    start: date | None
    end: date | None


@dataclass(frozen=True)
class AddressView:
    name: str
    phone: str
    line: str


@dataclass(frozen=True)
class PreauthView:
    """A pre-authorized deposit: `frozen` by the provider (and `credit` waived on its own credit besides) =
    `taken` for damage and arrears + `unfrozen` + `still_frozen`."""

    frozen: Decimal
    credit: Decimal
    taken: Decimal
    unfrozen: Decimal
    still_frozen: Decimal


@dataclass(frozen=True)
class SettlementView:
    """What became of the deposit paid when the order settled: `deposit_paid` = `rent_deducted` +
    `fees_deducted` + `damage_deducted` + `buyout_deducted` + `deposit_refunded`. The damage fee the inspector
    set and the customer's liability for it (protection caps it) are None without an inspection (a buyout);
    `credit_refunded` is rent paid beyond what was owed, refunded apart from the deposit."""

    settled_at: datetime
    damage_fee: Decimal | None
    liability: Decimal | None
    deposit_paid: Decimal
    rent_deducted: Decimal
    fees_deducted: Decimal
    damage_deducted: Decimal
    buyout_deducted: Decimal
    deposit_refunded: Decimal
    waiver_released: Decimal
    credit_refunded: Decimal


@dataclass(frozen=True)
class OrderView:
    id: UUID
    status: str
    customer_id: UUID
    product_id: UUID
    sku_id: UUID
    quantity: int
    plan: PlanView
    protection: bool
    deposit_mode: str
    deposit: Decimal
    waiver: Decimal
    deposit_due: Decimal
    due_now: Decimal
    unit_serials: tuple[str, ...]
    channel: str
    carrier: str | None
    tracking_no: str | None
    return_tracking_no: str | None
    contract_id: str | None
    signing_flow_id: str | None
    contract_document_id: str | None
    contract_sha256: str | None
    """The signed document at the e-signature provider and the SHA-256 of its bytes (empty when signed before they
    were kept, None until signed)."""
    swapped_from: UUID | None
    swapped_to: UUID | None
    collection_stage: str | None
    days_overdue: int
    """As the lease was last assessed (by the daily job, or a payment); `days_overdue_on` counts to any day."""
    overdue_from: date | None
    """The first day its oldest unpaid installment is overdue, while it pays rent; None otherwise."""
    reason: str | None
    review_reasons: tuple[str, ...]
    """Why review was automatic, or why it was not (the reasons a reviewer saw)."""
    address: AddressView
    settlement: SettlementView | None
    created_at: datetime
    updated_at: datetime
    version: int
    preauth: PreauthView | None = None
    """The freeze of a pre-authorized deposit (押金预授权); None in the other deposit modes."""

    @property
    def unit_serial(self) -> str | None:
        return self.unit_serials[0] if self.unit_serials else None

    def days_overdue_on(self, day: date) -> int:
        """Days overdue on `day` (the clock's), whether or not the daily job has assessed that day yet."""
        return _days_overdue(self.overdue_from, self.days_overdue, day)


def _days_overdue(overdue_from: date | None, assessed: int, day: date) -> int:
    return days_overdue_on(overdue_from, day) if overdue_from is not None else assessed


def order(views: ViewStore, order_id: UUID) -> OrderView | None:
    row = _ORDER.first(views, order_id=order_id)
    return _order(row) if row else None


def replayed(order_id: UUID, events: Sequence[Event], ledgers: Mapping[tuple[UUID, int], Ledger]) -> OrderView | None:
    """The order as `order` will read it once this read model has applied `events`, every event of the order's
    lease and of its deposit (`ledgers` the lease's ledger after each, as the runner hands them): this projection's
    own handlers applied in memory (`projection.replay`). None without the lease's events."""
    batch = replay(OrdersProjection(), events, ledgers)
    row = batch.rows(orders_view, "id").one(order_id)
    if row is None:
        return None
    deposit = batch.rows(order_deposits_view, "deposit_id").one(Deposit.create_id(order_id))
    deposit = as_read(order_deposits_view, deposit) if deposit is not None else {}
    return _order({**as_read(orders_view, row), **{label: deposit.get(c) for label, c in _DEPOSIT_COLUMNS.items()}})


def order_signing(views: ViewStore, flow_id: str) -> UUID | None:
    """The order whose contract the e-signature provider's sign flow is for (its callback names only the flow)."""
    with views.read() as connection:
        found = connection.execute(select(orders_view.c.id).where(orders_view.c.signing_flow_id == flow_id)).first()
    return found[0] if found else None


def serials_of(views: ViewStore, order_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
    """The units each order holds (booked until it ships, then those shipped) or held, for a page of orders in one
    query; an order holding none is left out."""
    if not order_ids:
        return {}
    table = order_serials_view.c
    query = select(table.order_id, table.serial).where(table.order_id.in_(order_ids))
    found: dict[UUID, list[str]] = {}
    with views.read() as connection:
        for order_id, serial in connection.execute(query.order_by(table.order_id, table.serial)):
            found.setdefault(order_id, []).append(serial)
    return found


SORTS = {
    "newest": (orders_view.c.created_at.desc(), orders_view.c.id.desc()),
    "oldest": (orders_view.c.created_at.asc(), orders_view.c.id.asc()),
    "overdue": (
        orders_view.c.overdue_from.asc().nulls_last(),
        orders_view.c.days_overdue.desc(),
        orders_view.c.created_at.desc(),
        orders_view.c.id.desc(),
    ),
}
"""How a list may be ordered; each ends on the order id, so pages never repeat or skip a row of equal time."""


@dataclass(frozen=True)
class OrderFilter:
    """What staff narrow a list by; every field optional, all of them together."""

    customer_id: UUID | None = None
    status: LeaseStatus | str | None = None
    channel: str | None = None
    product_id: UUID | None = None
    placed_from: datetime | None = None
    """Placed at or after this instant."""
    placed_before: datetime | None = None
    """Placed before this instant."""
    serial: str | None = None
    """Holds or held this unit."""
    tracking_no: str | None = None
    """Shipped out or back under this tracking number."""

    def parameters(self) -> dict[str, Any]:
        """The values it narrows by, by field (the status as stored); the fields left out admit every order."""
        values = {name: value for name in _NARROWING if (value := getattr(self, name)) is not None}
        if "status" in values:
            values["status"] = LeaseStatus(values["status"]).value
        return values

    @property
    def shape(self) -> tuple[str, ...]:
        """The fields it narrows by: filters of one shape share one prepared statement."""
        return tuple(self.parameters())

    def conditions(self) -> list[Any]:
        """The filter's conditions on the orders, its values written in."""
        return [_NARROWING[name](value) for name, value in self.parameters().items()]


_NARROWING: dict[str, Callable[[Any], Any]] = {
    "customer_id": lambda value: orders_view.c.customer_id == value,
    "status": lambda value: orders_view.c.status == value,
    "channel": lambda value: orders_view.c.channel == value,
    "product_id": lambda value: orders_view.c.product_id == value,
    "placed_from": lambda value: orders_view.c.created_at >= value,
    "placed_before": lambda value: orders_view.c.created_at < value,
    "serial": lambda value: orders_view.c.id.in_(
        select(order_serials_view.c.order_id).where(order_serials_view.c.serial == value)
    ),
    "tracking_no": lambda value: or_(orders_view.c.tracking_no == value, orders_view.c.return_tracking_no == value),
}
"""Each field of `OrderFilter` as a condition on its value: the value itself, or a `bindparam` named after the field."""


def _named(shape: Iterable[str], prefix: str = "") -> list[Any]:
    """The conditions of a filter of this shape, each value a parameter named after its field (and `prefix`)."""
    return [_NARROWING[name](bindparam(prefix + name)) for name in shape]


COUNT_CAP = 10_000
"""A narrowed list is counted up to this many (then "10,000+"): counting further would cost more than the page."""


@dataclass(frozen=True)
class Cursor:
    """A row's place in the newest- or oldest-first order (when placed, then its id): a page starts after one, or
    ends before one, at the cost of its own rows however deep it is."""

    placed: datetime
    order_id: UUID

    def __str__(self) -> str:
        return f"{self.placed.isoformat()}~{self.order_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        """A cursor from its text; None for text that is not one."""
        placed, _, order_id = text.partition("~")
        try:
            instant = datetime.fromisoformat(placed)
            return cls(instant, UUID(order_id)) if instant.tzinfo is not None else None
        except ValueError:
            return None

    @classmethod
    def of(cls, row: OrderView | OrderRow) -> Cursor:
        return cls(row.created_at, row.id)


def orders(
    views: ViewStore,
    *,
    customer_id: UUID | None = None,
    status: LeaseStatus | str | None = None,
    where: OrderFilter | None = None,
    sort: str = "newest",
    limit: int = 50,
    offset: int = 0,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Page[OrderView]:
    """Newest first unless sorted otherwise (`SORTS`); by customer, by status, or by anything `where` names. A page
    is `limit` rows from `offset`, or (newest or oldest first) the rows right after the cursor `after` or right
    before `before`. `total` counts every order so narrowed (by status alone: from the kept counts), up to
    `COUNT_CAP` + 1 when narrowed otherwise."""
    where = _where(where, customer_id, status)
    parameters = _page(where, sort, limit, offset, after, before)
    query = _listing(where.shape, sort, _direction(after, before), rows=False)
    items = [_order(row) for row in query.all(views, **parameters)]
    if before is not None:
        items.reverse()
    return Page(items, count(views, where), limit, offset)


@dataclass(frozen=True)
class OrderRow:
    """An order as a list of orders shows it, with its customer's name and phone: a few columns of one query."""

    id: UUID
    status: str
    customer_id: UUID
    customer_name: str | None
    customer_phone: str | None
    product_id: UUID
    plan: PlanView
    deposit: Decimal
    waiver: Decimal
    channel: str
    created_at: datetime
    days_overdue: int
    overdue_from: date | None

    def days_overdue_on(self, day: date) -> int:
        """Days overdue on `day` (the clock's), whether or not the daily job has assessed that day yet."""
        return _days_overdue(self.overdue_from, self.days_overdue, day)


def order_rows(
    views: ViewStore,
    *,
    where: OrderFilter | None = None,
    sort: str = "newest",
    limit: int = 50,
    offset: int = 0,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Page[OrderRow]:
    """`orders()` for a list screen: the same rows in the same order, each with only what a row shows and who
    placed it (joined from the customers read model)."""
    where = where or OrderFilter()
    parameters = _page(where, sort, limit, offset, after, before)
    query = _listing(where.shape, sort, _direction(after, before), rows=True)
    items = [
        OrderRow(
            id,
            status,
            customer_id,
            name,
            phone,
            product_id,
            PlanView(plan_kind, months, plan_start, plan_end),
            deposit,
            waiver,
            channel,
            created_at,
            days_overdue,
            overdue_from,
        )
        for (
            id,
            status,
            customer_id,
            name,
            phone,
            product_id,
            plan_kind,
            months,
            plan_start,
            plan_end,
            deposit,
            waiver,
            channel,
            created_at,
            days_overdue,
            overdue_from,
        ) in query.tuples(views, **parameters)
    ]
    if before is not None:
        items.reverse()
    return Page(items, count(views, where), limit, offset)


def _where(where: OrderFilter | None, customer_id: UUID | None, status: LeaseStatus | str | None) -> OrderFilter:
    where = where or OrderFilter()
    if customer_id is not None or status is not None:
        where = replace(where, customer_id=customer_id or where.customer_id, status=status or where.status)
    return where


def _page(
    where: OrderFilter, sort: str, limit: int, offset: int, after: Cursor | None, before: Cursor | None
) -> dict[str, Any]:
    """The parameters of a page's query, once they are checked: the filter's values, the cursor's, how many rows
    from where."""
    check_page(limit, offset)
    if sort not in SORTS:
        raise ValueError(f"sort is one of {', '.join(SORTS)}")
    if (after or before) and (sort == "overdue" or offset):
        raise ValueError("a cursor pages newest or oldest first, without an offset")
    cursor = after or before
    at = {"cursor_placed": cursor.placed, "cursor_id": cursor.order_id} if cursor is not None else {}
    return {**where.parameters(), **at, "limit": limit, "offset": offset}


def _direction(after: Cursor | None, before: Cursor | None) -> str | None:
    return "after" if after is not None else "before" if before is not None else None


@functools.lru_cache(maxsize=512)
def _listing(shape: tuple[str, ...], sort: str, direction: str | None, *, rows: bool) -> Prepared:
    """A page of orders narrowed by a filter of this shape, sorted so, after or before a cursor or from an offset:
    whole orders, or (`rows`) what a list's row shows with its customer. The page's ids come from the orders alone
    (an index walk however deep; joining before the offset would join every row skipped), then their rows, in the
    order shown (reversed when paging back before a cursor)."""
    table, people = orders_view.c, customers_view.c
    conditions, order_by = _named(shape), SORTS[sort]
    key = tuple_(table.created_at, table.id)
    cursor = tuple_(bindparam("cursor_placed", type_=Instant()), bindparam("cursor_id", type_=Uuid()))
    newest = sort == "newest"
    if direction == "after":
        conditions.append(key < cursor if newest else key > cursor)
    if direction == "before":
        conditions.append(key > cursor if newest else key < cursor)
        order_by = SORTS["oldest" if newest else "newest"]
    ids = select(table.id).where(*conditions).order_by(*order_by)
    page = ids.limit(bindparam("limit")).offset(bindparam("offset")).scalar_subquery()
    if not rows:
        return Prepared(_with_deposits().where(table.id.in_(page)).order_by(*order_by))
    shown = [getattr(table, name) for name in _ROW_COLUMNS]
    return Prepared(
        select(*shown[:3], people.name, people.phone, *shown[3:])
        .select_from(orders_view.outerjoin(customers_view, people.customer_id == table.customer_id))
        .where(table.id.in_(page))
        .order_by(*order_by)
    )


_ROW_COLUMNS = (
    "id",
    "status",
    "customer_id",
    "product_id",
    "plan_kind",
    "months",
    "plan_start",
    "plan_end",
    "deposit",
    "waiver",
    "channel",
    "created_at",
    "days_overdue",
    "overdue_from",
)
"""The orders' columns a list's row shows (the customer's name and phone come between the third and the fourth)."""


def count(views: ViewStore, where: OrderFilter) -> int:
    """How many orders `where` admits: exact from the kept counts when it names a status or nothing, else counted
    up to `COUNT_CAP` + 1."""
    if replace(where, status=None) == OrderFilter():
        counts = status_counts(views)
        return counts.get(LeaseStatus(where.status).value, 0) if where.status else sum(counts.values())
    [(found,)] = _counting(where.shape).tuples(views, **where.parameters())
    return int(found)


@functools.lru_cache(maxsize=256)
def _counting(shape: tuple[str, ...]) -> Prepared:
    narrowed = select(orders_view.c.id).where(*_named(shape)).limit(COUNT_CAP + 1).subquery()
    return Prepared(select(func.count()).select_from(narrowed))


def any_of(views: ViewStore, *wheres: OrderFilter) -> list[bool]:
    """Whether each filter admits any order, asked in one round trip (a search trying a serial, then a tracking
    number)."""
    parameters = {f"f{n}_{name}": value for n, where in enumerate(wheres) for name, value in where.parameters().items()}
    [hits] = _asking_any_of(tuple(where.shape for where in wheres)).tuples(views, **parameters)
    return [bool(hit) for hit in hits]


@functools.lru_cache(maxsize=64)
def _asking_any_of(shapes: tuple[tuple[str, ...], ...]) -> Prepared:
    table = orders_view.c
    return Prepared(
        select(*(exists(select(table.id).where(*_named(shape, f"f{n}_"))) for n, shape in enumerate(shapes)))
    )


def status_counts(views: ViewStore, where: OrderFilter | None = None) -> dict[str, int]:
    """How many orders each status holds: over all orders from the kept counts (a dozen rows), or of a customer or
    however else `where` narrows them in one query."""
    if where is None or where == OrderFilter():
        return {status: int(orders) for status, orders in _STATUS_COUNTS.tuples(views) if orders}
    return {status: int(count) for status, count in _counting_statuses(where.shape).tuples(views, **where.parameters())}


@functools.lru_cache(maxsize=256)
def _counting_statuses(shape: tuple[str, ...]) -> Prepared:
    table = orders_view.c
    return Prepared(select(table.status, func.count()).where(*_named(shape)).group_by(table.status))


_DEPOSIT_COLUMNS = {
    "deposit_paid": "paid",
    "deposit_refunded": "refunded",
    "deposit_frozen": "frozen",
    "deposit_credit_waived": "credit_waived",
    "deposit_taken": "taken",
    "deposit_unfrozen": "unfrozen",
}
"""The deposit's columns an order is read with, by the name it reads them under."""


def _with_deposits() -> Select[Any]:
    deposits = order_deposits_view.c
    return select(
        orders_view, *(deposits[column].label(label) for label, column in _DEPOSIT_COLUMNS.items())
    ).select_from(orders_view.outerjoin(order_deposits_view, deposits.order_id == orders_view.c.id))


_ORDER = Prepared(_with_deposits().where(orders_view.c.id == bindparam("order_id")))


_STATUS_COUNTS = Prepared(select(order_counts_view.c.status, order_counts_view.c.orders))


def _order(row: Any) -> OrderView:
    values = {name: row[name] for name in field_names(OrderView) if name in row}
    plan = PlanView(row["plan_kind"], row["months"], row["plan_start"], row["plan_end"])
    return OrderView(
        **{
            **values,
            "plan": plan,
            "unit_serials": tuple(row["unit_serials"]),
            "review_reasons": tuple(row["review_reasons"]),
            "address": AddressView(row["address_name"], row["address_phone"], row["address_line"]),
            "settlement": _settlement(row),
            "preauth": _preauth(row),
        }
    )


def _preauth(row: Any) -> PreauthView | None:
    if row["deposit_mode"] != DepositMode.PREAUTH.value:
        return None
    frozen, taken, unfrozen = (row[name] or ZERO for name in ("deposit_frozen", "deposit_taken", "deposit_unfrozen"))
    credit = row["deposit_credit_waived"] or ZERO
    return PreauthView(frozen, credit, taken, unfrozen, frozen - taken - unfrozen)


def _settlement(row: Any) -> SettlementView | None:
    if row["settled_at"] is None:
        return None
    return SettlementView(
        settled_at=row["settled_at"],
        damage_fee=row["damage_fee"],
        liability=row["liability"],
        deposit_paid=row["deposit_paid"] or ZERO,
        rent_deducted=row["rent_deducted"],
        fees_deducted=row["fees_deducted"],
        damage_deducted=row["damage_deducted"],
        buyout_deducted=row["buyout_deducted"],
        deposit_refunded=row["deposit_refunded"] or ZERO,
        waiver_released=row["waiver"],
        credit_refunded=row["credit_refunded"],
    )

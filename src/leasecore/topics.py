"""Where stored events find their classes again after a class moved to another module or was renamed.

An event is stored under its topic (`module:Class.Event`) forever. When an aggregate moves, its old
topic is registered here, so events stored before the move still resolve, and every reader that
filters the log by topic asks for the old topics too.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, register_topic

from leasecore.catalog import CategoryTree, Inventory, Product
from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer
from leasecore.lease import Lease
from leasecore.money.deposit import Deposit
from leasecore.money.payments import Payment
from leasecore.staff import StaffAccount

MOVED: dict[str, type[Aggregate]] = {
    "leasecore.catalog:CategoryTree": CategoryTree,
    "leasecore.catalog:Inventory": Inventory,
    "leasecore.catalog:Product": Product,
    "leasecore.credit_line:CreditLine": CreditLine,
    "leasecore.customer:Customer": Customer,
    "leasecore.deposit:Deposit": Deposit,
    "leasecore.lease:Lease": Lease,
    "leasecore.operators:Operator": StaffAccount,
    "leasecore.payments:Payment": Payment,
}
"""The topic an aggregate class had before it moved (or was renamed), and the class it is now."""


def register_moved_topics() -> None:
    """Let events stored under an old topic resolve to the class as it is now (idempotent)."""
    for old, aggregate in MOVED.items():
        register_topic(old, aggregate)


def stored_topics(event_class: type) -> tuple[str, ...]:
    """Every topic events of this class may be stored under: its own, and its aggregate's old ones."""
    owner, _, name = event_class.__qualname__.rpartition(".")
    earlier = (
        f"{old}.{name}"
        for old, aggregate in MOVED.items()
        if aggregate.__qualname__ == owner and aggregate.__module__ == event_class.__module__
    )
    return (get_topic(event_class), *earlier)

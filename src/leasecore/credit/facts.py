"""The platform's own facts about a customer, for the scoring rule engine (see docs/scoring-rules.md).

Identity traits come from the verified resident ID number (GB 11643) and the phone;
behaviour and credit history from the customer's orders; fulfilment capacity from the
credit line. External facts (income, social connections) come from a provider and are
merged into the same mapping by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer
from leasecore.credit.identity import read_resident_id
from leasecore.credit.scoring.rules import Fact
from leasecore.lease.lease import Lease, LeaseStatus
from leasecore.lease.ledger import assess
from leasecore.values import ZERO, total

UTILISATION_PLACES = Decimal("0.0001")


def phone_prefix(phone: str) -> str | None:
    """The first three digits of a mainland mobile number (its carrier segment), without +86."""
    digits = "".join(character for character in phone if character.isascii() and character.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits[:3] if len(digits) == 11 and digits.startswith("1") else None


def identity_facts(customer: Customer, today: date, timezone: str) -> dict[str, Fact]:
    """Identity traits: verification, age and gender from the ID number, phone segment, account age."""
    resident = read_resident_id(customer.id_number) if customer.is_verified and customer.id_number else None
    if resident is not None and resident.birth_date > today:
        resident = None
    registered = customer.created_on.astimezone(ZoneInfo(timezone)).date()
    return {
        "identity_verified": customer.is_verified,
        "age": resident.age_on(today) if resident else None,
        "gender": resident.gender if resident else None,
        "phone_prefix": phone_prefix(customer.phone),
        "account_age_days": max(0, (today - registered).days),
    }


def _started(lease: Lease) -> bool:
    """Rent is owed only once the device was received; orders that never started owe none."""
    return lease.start is not None


def _bought_out(lease: Lease) -> bool:
    return lease.status is LeaseStatus.BOUGHT_OUT or lease.charges.buyout > ZERO


def max_days_overdue(lease: Lease, today: date) -> int:
    """The most days any installment of the lease has been overdue, paid since or not, up to `today`."""
    if not _started(lease):
        return 0
    rule = lease.terms.late_fee
    receipts = sorted(lease.receipts, key=lambda receipt: (receipt.paid_at, receipt.ref))
    worst = lease.ledger_on(today).days_overdue
    for index, receipt in enumerate(receipts):
        paid_on = rule.local_date(receipt.paid_at)
        worst = max(worst, assess(lease.schedule, receipts[:index], rule, paid_on).days_overdue)
    return worst


def behaviour_facts(leases: Iterable[Lease]) -> dict[str, Fact]:
    """Behaviour preferences shown by the customer's orders."""
    orders = list(leases)
    return {
        "orders_with_protection": sum(1 for lease in orders if lease.terms.protected),
        "orders_long_term": sum(1 for lease in orders if lease.terms.is_long),
        "orders_bought_out": sum(1 for lease in orders if _bought_out(lease)),
    }


def credit_history_facts(leases: Iterable[Lease], today: date) -> dict[str, Fact]:
    """Credit history on this platform: orders by outcome, overdue now and ever, late fees charged."""
    orders = list(leases)
    started = [lease for lease in orders if _started(lease)]
    ledgers = [lease.ledger_on(today) for lease in started]
    return {
        "orders_total": len(orders),
        "orders_active": sum(1 for lease in orders if not lease.status.is_final),
        "orders_settled": sum(1 for lease in orders if lease.status is LeaseStatus.SETTLED),
        "orders_cancelled": sum(1 for lease in orders if lease.status is LeaseStatus.CANCELLED),
        "orders_rejected": sum(1 for lease in orders if lease.status is LeaseStatus.REJECTED),
        "orders_overdue": sum(1 for ledger in ledgers if ledger.is_overdue),
        "days_overdue_now": max((ledger.days_overdue for ledger in ledgers), default=0),
        "max_days_overdue": max((max_days_overdue(lease, today) for lease in started), default=0),
        "late_fees_total": total(ledger.fees for ledger in ledgers),
    }


def fulfilment_facts(credit_line: CreditLine | None) -> dict[str, Fact]:
    """Fulfilment capacity on the platform: the waiver quota granted and how much of it is in use."""
    if credit_line is None:
        return {
            "credit_level": None,
            "credit_quota": None,
            "credit_reserved": None,
            "credit_available": None,
            "credit_utilisation": None,
        }
    quota, reserved = credit_line.quota, credit_line.reserved_total
    utilisation = (reserved / quota).quantize(UTILISATION_PLACES, rounding=ROUND_HALF_UP) if quota > ZERO else None
    return {
        "credit_level": credit_line.level,
        "credit_quota": quota,
        "credit_reserved": reserved,
        "credit_available": credit_line.available,
        "credit_utilisation": utilisation,
    }


def platform_facts(
    customer: Customer,
    credit_line: CreditLine | None,
    leases: Iterable[Lease],
    today: date,
    timezone: str = "Asia/Shanghai",
) -> dict[str, Fact]:
    """Everything the platform itself knows of a customer, as named facts on `today` (in `timezone`)."""
    orders = list(leases)
    for lease in orders:
        if lease.customer_id != customer.id:
            raise ValueError(f"order {lease.id} belongs to another customer than {customer.id}")
    if credit_line is not None and credit_line.customer_id != customer.id:
        raise ValueError(f"credit line {credit_line.id} belongs to another customer than {customer.id}")
    return {
        **identity_facts(customer, today, timezone),
        **behaviour_facts(orders),
        **fulfilment_facts(credit_line),
        **credit_history_facts(orders, today),
    }

"""The lease agreement (电子签章): its text is fixed by the order's figures before it is signed."""

from __future__ import annotations

from leasecore.lease.lease import Lease
from leasecore.values import LongTerm


def contract_text(lease: Lease) -> str:
    """The agreement the customer signs: units, term, protection, deposit and waiver, the first payment."""
    plan = lease.plan
    term = f"{plan.months} months" if isinstance(plan, LongTerm) else f"{plan.start} to {plan.end}"
    return (
        f"Lease agreement for order {lease.id}.\n"
        f"The lessee rents {lease.quantity} unit(s) of SKU {lease.sku_id} for {term}, "
        f"{'with' if lease.terms.protected else 'without'} accident protection.\n"
        f"Deposit {lease.deposit} CNY, of which {lease.waiver} CNY is waived on credit and {lease.deposit_due} CNY "
        f"is paid; the first payment is {lease.due_now} CNY.\n"
        "Installments fall due as scheduled; late fees and collections follow the billing rules in force."
    )

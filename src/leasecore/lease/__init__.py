"""The lease: an order from checkout to settlement, its rent ledger, schedule, quote and terms."""

from leasecore.lease.lease import (
    AUTOMATIC,
    CANCELLABLE,
    END_OF_TERM_WINDOW,
    RENT_PAYABLE,
    STATUS_AFTER,
    Allocation,
    BuyoutQuote,
    CallOutcome,
    Charges,
    Inspection,
    Lease,
    LeaseStatus,
    LeaseTerms,
    PaymentSource,
    SettlementForecast,
    status_after,
)

__all__ = [
    "AUTOMATIC",
    "CANCELLABLE",
    "END_OF_TERM_WINDOW",
    "RENT_PAYABLE",
    "STATUS_AFTER",
    "Allocation",
    "BuyoutQuote",
    "CallOutcome",
    "Charges",
    "Inspection",
    "Lease",
    "LeaseStatus",
    "LeaseTerms",
    "PaymentSource",
    "SettlementForecast",
    "status_after",
]

"""How the values stored in events become JSON and back: dates, enums and value objects."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from leasecore import catalog, staff, values
from leasecore.credit import customer
from leasecore.lease import billing, lease, ledger, schedule
from leasecore.money import payments


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """An enum member by its value, under the enum's own name."""

    def __init__(self, enum: type[Enum]) -> None:
        self.type, self.name = enum, f"enum:{enum.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class DataclassAsDict(Transcoding):
    """A frozen dataclass by its fields; lists come back as the tuples they were."""

    def __init__(self, cls: type) -> None:
        self.type, self.name = cls, cls.__name__
        self.fields = [f.name for f in dataclasses.fields(cls) if f.init]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**{key: _tupled(value) for key, value in data.items()})


def _tupled(value: Any) -> Any:
    return tuple(_tupled(item) for item in value) if isinstance(value, list) else value


ENUMS: tuple[type[Enum], ...] = (
    values.DepositMode,
    values.PlanKind,
    lease.LeaseStatus,
    lease.PaymentSource,
    ledger.InstallmentStatus,
    billing.CollectionAction,
    catalog.UnitStatus,
    customer.IdentityStatus,
    staff.Role,
    payments.PaymentPurpose,
    payments.PaymentStatus,
)

VALUE_OBJECTS: tuple[type, ...] = (
    values.LongTerm,
    values.ShortTerm,
    values.Address,
    schedule.Installment,
    schedule.Rates,
    ledger.LateFeeRule,
    ledger.Balance,
    ledger.Ledger,
    ledger.Collected,
    ledger.Receipt,
    ledger.FeeWaiver,
    ledger.GoodwillCredit,
    lease.LeaseTerms,
    lease.Charges,
    lease.Allocation,
    lease.BuyoutQuote,
    catalog.LongTermOffer,
    catalog.ShortTermOffer,
    catalog.Protection,
    catalog.TermPrice,
    catalog.Sku,
    catalog.ProductDetails,
    catalog.Category,
    catalog.Unit,
    catalog.Booking,
    customer.CreditEvaluation,
)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for enum in ENUMS:
        transcoder.register(EnumAsValue(enum))
    for cls in VALUE_OBJECTS:
        transcoder.register(DataclassAsDict(cls))

"""Customers: phone login, real-name identity (实名认证) and credit evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.copies import CopiedBySharing
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import ERASED, derived_id


class IdentityStatus(Enum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IdentityCheck:
    """What the identity provider found: the ID card read by OCR and the face match."""

    name: str
    id_number: str
    verified: bool
    reason: str | None = None
    valid_until: date | None = None
    provider: str = "sandbox"
    reference: str = ""


@dataclass(frozen=True)
class CreditEvaluation:
    """One evaluation of a customer's score, with enough detail to explain it later."""

    score: int
    source: str
    level: str | None
    details: dict[str, Any]
    config_versions: dict[str, int]


class Customer(CopiedBySharing, Aggregate):
    """A consumer who rents; identified by phone number. Its events only reassign its attributes, so a
    customer with thousands of orders copies out of the aggregate cache as fast as a new one."""

    Snapshot = TaggedSnapshot

    erased = False
    """Whether its personal data was erased (and it has not registered again since)."""
    erased_at: datetime | None = None
    erased_by: str | None = None

    @staticmethod
    def create_id(phone: str) -> UUID:
        return derived_id("customer", phone)

    class Registered(Aggregate.Created):
        phone: str

    @event(Registered)
    def __init__(self, phone: str, timestamp: datetime) -> None:
        self.phone = phone
        self.identity_status = IdentityStatus.UNVERIFIED
        self.name: str | None = None
        self.id_number: str | None = None
        self.identity_reason: str | None = None
        self.evaluation: CreditEvaluation | None = None
        self.orders: tuple[UUID, ...] = ()

    @property
    def is_verified(self) -> bool:
        return self.identity_status is IdentityStatus.VERIFIED

    @property
    def score(self) -> int | None:
        return self.evaluation.score if self.evaluation else None

    def record_identity(self, check: IdentityCheck, now: datetime) -> None:
        """Orders need a verified identity; a later failed check does not undo a verified one."""
        if self.is_verified and check.verified and check.id_number == self.id_number:
            return
        if self.is_verified and not check.verified:
            return
        if check.verified:
            self._identity_verified(
                check.name, check.id_number, check.valid_until, check.provider, check.reference, timestamp=now
            )
        else:
            self._identity_rejected(check.reason or "identity not verified", check.provider, timestamp=now)

    def record_evaluation(self, evaluation: CreditEvaluation, now: datetime) -> None:
        self._evaluated(evaluation, timestamp=now)

    def open_order(self, order_id: UUID, now: datetime) -> None:
        """The customer's orders, so their history can be scored without a read model. Only a new order opens
        one: the order's lease is created in the same save, which a second save of that id cannot pass, so
        the list is not searched (that search grew with the customer's orders, on every order)."""
        self._order_opened(order_id, timestamp=now)

    class IdentityVerified(Aggregate.Event):
        name: str
        id_number: str
        valid_until: date | None
        provider: str
        reference: str

    @event(IdentityVerified)
    def _identity_verified(
        self, name: str, id_number: str, valid_until: date | None, provider: str, reference: str, timestamp: datetime
    ) -> None:
        self.identity_status = IdentityStatus.VERIFIED
        self.name, self.id_number, self.identity_reason = name, id_number, None

    class IdentityRejected(Aggregate.Event):
        reason: str
        provider: str

    @event(IdentityRejected)
    def _identity_rejected(self, reason: str, provider: str, timestamp: datetime) -> None:
        self.identity_status = IdentityStatus.REJECTED
        self.identity_reason = reason

    class CreditEvaluated(Aggregate.Event):
        evaluation: CreditEvaluation

    @event(CreditEvaluated)
    def _evaluated(self, evaluation: CreditEvaluation, timestamp: datetime) -> None:
        self.evaluation = evaluation

    class OrderOpened(Aggregate.Event):
        order_id: UUID

    @event(OrderOpened)
    def _order_opened(self, order_id: UUID, timestamp: datetime) -> None:
        self.orders = (*self.orders, order_id)

    def erase_personal_data(self, by: str, reason: str, now: datetime) -> bool:
        """Erasure at the customer's request (PIPL 删除权): phone, name and ID number read "erased" from then
        on, and the identity is no longer verified (no one knows whose it was); ids, orders, the credit evaluation
        and every figure stay. Erased once: a second request changes nothing (False)."""
        if self.erased:
            return False
        self._personal_data_erased(by, reason, timestamp=now)
        return True

    class PersonalDataErased(Aggregate.Event):
        """Who erased the customer's personal data and why; it holds none itself."""

        by: str
        reason: str

    @event(PersonalDataErased)
    def _personal_data_erased(self, by: str, reason: str, timestamp: datetime) -> None:
        self.phone, self.erased, self.erased_at, self.erased_by = ERASED, True, timestamp, by
        self.identity_status, self.identity_reason = IdentityStatus.UNVERIFIED, None
        self.name = None if self.name is None else ERASED
        self.id_number = None if self.id_number is None else ERASED

    def register_again(self, phone: str, now: datetime) -> None:
        """A customer whose personal data was erased may register again with the same phone: a new start,
        identity unverified, under a new key."""
        if self.erased:
            self._registered_again(phone, timestamp=now)

    class RegisteredAgain(Aggregate.Event):
        phone: str

    @event(RegisteredAgain)
    def _registered_again(self, phone: str, timestamp: datetime) -> None:
        self.phone, self.erased = phone, False
        self.identity_status, self.identity_reason = IdentityStatus.UNVERIFIED, None
        self.name = self.id_number = None

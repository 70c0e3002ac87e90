"""Versioned configuration documents: every change is an event with a new version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.credit.policy import DEFAULT_SCORE_RANGE, CreditLevels, WaiverPolicy
from leasecore.credit.scoring import ScoringRules
from leasecore.errors import Refused
from leasecore.lease.billing import BillingPolicy
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import derived_id

P = TypeVar("P")

DOCUMENT_NAMES = ("credit-levels", "waiver-policy", "billing", "scoring-rules")


class Configuration(Aggregate):
    """One of the operator's configuration documents; its version is the aggregate's version."""

    Snapshot = TaggedSnapshot

    @staticmethod
    def create_id(name: str) -> UUID:
        return derived_id("configuration", name)

    class Published(Aggregate.Created):
        name: str
        document: dict[str, Any]
        changed_by: str

    @event(Published)
    def __init__(self, name: str, document: dict[str, Any], changed_by: str, timestamp: datetime) -> None:
        self.name, self.document, self.changed_by = name, document, changed_by

    def revise(self, document: dict[str, Any], changed_by: str, now: datetime) -> bool:
        """A new version only when the document actually changes."""
        if document == self.document:
            return False
        self._revised(document, changed_by, timestamp=now)
        return True

    class Revised(Aggregate.Event):
        document: dict[str, Any]
        changed_by: str

    @event(Revised)
    def _revised(self, document: dict[str, Any], changed_by: str, timestamp: datetime) -> None:
        self.document, self.changed_by = document, changed_by


@dataclass(frozen=True)
class Configured:
    """The configuration documents as they stood at one moment, with their versions, so a
    command prices and records against one consistent set."""

    documents: Mapping[str, tuple[int, dict[str, Any]]]
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Each policy parsed once from its document: a `Configured` is kept while its versions are current."""

    @property
    def versions(self) -> dict[str, int]:
        return {name: version for name, (version, _) in self.documents.items()}

    def document(self, name: str) -> dict[str, Any]:
        try:
            return self.documents[name][1]
        except KeyError:
            raise Refused(f"the {name} document is not configured yet") from None

    @property
    def score_range(self) -> tuple[int, int]:
        if "scoring-rules" not in self.documents:
            return DEFAULT_SCORE_RANGE
        return ScoringRules.from_document(self.document("scoring-rules")).range

    def billing(self) -> BillingPolicy:
        return self._parse("billing", lambda: BillingPolicy.from_document(self.document("billing")))

    def waiver_policy(self) -> WaiverPolicy:
        return self._parse(
            "waiver-policy", lambda: WaiverPolicy.from_document(self.document("waiver-policy"), self.score_range)
        )

    def credit_levels(self) -> CreditLevels:
        return self._parse(
            "credit-levels", lambda: CreditLevels.from_document(self.document("credit-levels"), self.score_range)
        )

    def scoring_rules(self) -> ScoringRules:
        return self._parse("scoring-rules", lambda: ScoringRules.from_document(self.document("scoring-rules")))

    def _parse(self, name: str, parse: Callable[[], P]) -> P:
        if name not in self._parsed:
            self._parsed[name] = parse()
        policy: P = self._parsed[name]
        return policy

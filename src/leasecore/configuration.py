"""Versioned configuration documents: every change is an event with a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.values import derived_id

DOCUMENT_NAMES = ("credit-levels", "waiver-policy", "billing", "scoring-rules")


class Configuration(Aggregate):
    """One of the operator's configuration documents; its version is the aggregate's version."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return derived_id("configuration", name)

    @event("Published")
    def __init__(self, name: str, document: dict[str, Any], changed_by: str, timestamp: datetime) -> None:
        self.name, self.document, self.changed_by = name, document, changed_by

    def revise(self, document: dict[str, Any], changed_by: str, now: datetime) -> bool:
        """A new version only when the document actually changes."""
        if document == self.document:
            return False
        self._revised(document, changed_by, timestamp=now)
        return True

    @event("Revised")
    def _revised(self, document: dict[str, Any], changed_by: str, timestamp: datetime) -> None:
        self.document, self.changed_by = document, changed_by

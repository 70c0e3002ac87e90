"""The domain's errors: one hierarchy under LeaseError, mapped to HTTP once, in the API."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID


class LeaseError(Exception):
    """Any refusal by the domain; the message is meant for the person who asked."""


class NotFound(LeaseError):
    """An id that names nothing (404)."""

    def __init__(self, kind: str, id: object) -> None:
        super().__init__(f"{kind} {id} not found")
        self.kind, self.id = kind, id


class InvalidState(LeaseError):
    """A command not allowed in the current state (409); the state is named."""

    def __init__(self, subject: str, state: str, action: str) -> None:
        super().__init__(f"cannot {action}: {subject} is {state}")
        self.subject, self.state, self.action = subject, state, action


class Refused(LeaseError):
    """A business rule refuses the command as it stands (409)."""


class InvalidInput(LeaseError):
    """A value that breaks a rule of its field (422); the field is named."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class InvalidDocument(LeaseError):
    """A configuration document with one or more fields in error (422)."""

    def __init__(self, name: str, errors: list[tuple[str, str]]) -> None:
        listed = "; ".join(f"{field}: {message}" for field, message in errors)
        super().__init__(f"invalid {name}: {listed}")
        self.name, self.errors = name, errors


class QuotaExceeded(Refused):
    """A waiver larger than what is still available on the credit line."""

    def __init__(self, credit_line_id: UUID, amount: Decimal, available: Decimal) -> None:
        super().__init__(f"waiver {amount} exceeds the available quota {available} of credit line {credit_line_id}")
        self.amount, self.available = amount, available


class Overdue(Refused):
    """Something is overdue, which blocks the command until it is paid."""


class Unavailable(Refused):
    """No stock unit is free for what was asked."""


class Busy(LeaseError):
    """Optimistic concurrency kept conflicting after the bounded retries (503)."""

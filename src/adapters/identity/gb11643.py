"""GB 11643 resident ID numbers as the identity adapters read them: the domain's rule
(`leasecore.credit.identity`), with today taken in China when not given."""

from __future__ import annotations

from datetime import date

from adapters.china_time import today_in_china
from leasecore.clock import SystemClock
from leasecore.credit import identity
from leasecore.credit.identity import birth_date, normalize_id_number

__all__ = ["birth_date", "id_number_problem", "is_valid_id_number", "normalize_id_number"]


def id_number_problem(text: str, today: date | None = None) -> str | None:
    """Why the number is not a valid GB 11643 ID number, or None when it is."""
    return identity.id_number_problem(text, today or today_in_china(SystemClock()))


def is_valid_id_number(text: str, today: date | None = None) -> bool:
    """18 characters, a correct check digit and a real birth date not after `today`."""
    return id_number_problem(text, today) is None

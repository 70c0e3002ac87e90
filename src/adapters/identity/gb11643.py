"""GB 11643 citizen ID numbers (公民身份号码): 17 digits, then a check digit 0–9 or X; the birth date inside."""

from __future__ import annotations

import unicodedata
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.util import clean, isdigits

from adapters.china_time import today_in_china
from leasecore.clock import SystemClock

LENGTH = 18


def normalize_id_number(text: str) -> str:
    """Without spaces or hyphens, full-width characters (as Chinese IMEs type them) made ASCII, X upper-case."""
    return clean(unicodedata.normalize("NFKC", text), " -").strip().upper()


def id_number_problem(text: str, today: date | None = None) -> str | None:
    """Why the number is not a valid GB 11643 ID number, or None when it is."""
    number = normalize_id_number(text)
    if len(number) != LENGTH:
        return f"ID number must have {LENGTH} characters, not {len(number)}"
    if not isdigits(number[:-1]) or not (isdigits(number[-1]) or number[-1] == "X"):
        return "ID number must be 17 digits followed by a digit or X"
    if ric.calc_check_digit(number) != number[-1]:
        return "ID number fails the GB 11643 check digit"
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return "ID number carries no valid birth date"
    if born > (today or today_in_china(SystemClock())):
        return "ID number carries a birth date in the future"
    return None


def is_valid_id_number(text: str, today: date | None = None) -> bool:
    """18 characters, a correct check digit and a real birth date not after `today`."""
    return id_number_problem(text, today) is None


def birth_date(id_number: str) -> date:
    """The birth date written in positions 7–14 (YYYYMMDD)."""
    number = normalize_id_number(id_number)
    if len(number) != LENGTH or not isdigits(number[6:14]):
        raise ValueError(f"not an ID number: {id_number!r}")
    try:
        return ric.get_birth_date(number)
    except ValidationError as error:
        raise ValueError(f"ID number {id_number!r} carries no valid birth date") from error

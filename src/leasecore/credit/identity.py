"""Resident ID numbers (公民身份号码, GB 11643): 17 digits and a check digit 0–9 or X, the region,
birth date and gender written inside."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

LENGTH = 18
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


@dataclass(frozen=True)
class ResidentId:
    """What an 18-character resident ID number says of its holder."""

    region: str
    birth_date: date
    gender: str

    def age_on(self, day: date) -> int:
        """Whole years completed on `day` (one born on 29 February turns a year older on 1 March)."""
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalize_id_number(text: str) -> str:
    """Without spaces or hyphens, full-width characters (as Chinese IMEs type them) made ASCII, X upper-case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).replace("-", "").strip().upper()


def check_digit(first_17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(digit) * weight for digit, weight in zip(first_17, WEIGHTS, strict=True)) % 11]


def id_number_problem(text: str, today: date) -> str | None:
    """Why the number is not a valid resident ID number on `today`, or None when it is."""
    number = normalize_id_number(text)
    if len(number) != LENGTH:
        return f"ID number must have {LENGTH} characters, not {len(number)}"
    body, last = number[:-1], number[-1]
    if not (body.isascii() and body.isdigit()) or not ((last.isascii() and last.isdigit()) or last == "X"):
        return "ID number must be 17 digits followed by a digit or X"
    if check_digit(body) != last:
        return "ID number fails the GB 11643 check digit"
    born = _birth_date(number)
    if born is None:
        return "ID number carries no valid birth date"
    if born > today:
        return "ID number carries a birth date in the future"
    return None


def read_resident_id(number: str) -> ResidentId | None:
    """Region, birth date and gender (17th digit odd: male) of a valid ID number; None if it is not one."""
    number = normalize_id_number(number)
    born = _birth_date(number)
    if born is None or id_number_problem(number, date.max) is not None:
        return None
    return ResidentId(number[:6], born, "male" if int(number[16]) % 2 else "female")


def birth_date(id_number: str) -> date:
    """The birth date written in positions 7–14 (YYYYMMDD)."""
    born = _birth_date(normalize_id_number(id_number))
    if born is None:
        raise ValueError(f"ID number {id_number!r} carries no valid birth date")
    return born


def _birth_date(number: str) -> date | None:
    digits = number[6:14]
    if len(number) != LENGTH or not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None

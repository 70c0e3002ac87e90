"""The sandbox identity provider: the checks a real one makes, without OCR or a face engine."""

from __future__ import annotations

from datetime import date

from adapters.china_time import today_in_china
from adapters.identity.gb11643 import birth_date, id_number_problem, normalize_id_number
from adapters.sandbox_store import MemorySandboxStore, SandboxStore
from leasecore.clock import SystemClock
from leasecore.credit.customer import IdentityCheck
from leasecore.ports import Clock

PROVIDER = "sandbox"
FACE_MISMATCH, CHECKS = "identity-face-mismatch", "identity-checks"
"""The kinds of document the identity sandbox keeps: the people whose selfie fails, and how many checks it made."""


class SandboxIdentity:
    """An `IdentityVerifier` that needs a name, a GB 11643 ID number and both images; face match can be failed."""

    def __init__(self, clock: Clock | None = None, *, store: SandboxStore | None = None) -> None:
        self._clock = clock or SystemClock()
        self._store: SandboxStore = store or MemorySandboxStore()

    def fail_face_match(self, id_number: str) -> None:
        """From now on the selfie of this person does not match the ID photo."""
        with self._store.transaction() as documents:
            documents.put(FACE_MISMATCH, normalize_id_number(id_number), {})

    def pass_face_match(self, id_number: str) -> None:
        with self._store.transaction() as documents:
            documents.delete(FACE_MISMATCH, normalize_id_number(id_number))

    def verify(self, name: str, id_number: str, id_card_image: bytes, selfie_image: bytes) -> IdentityCheck:
        """Verified only when every check passes; otherwise the first failing check is the reason."""
        today = today_in_china(self._clock)
        number = normalize_id_number(id_number)
        reason = self._reason(name, number, id_card_image, selfie_image, today)
        reference = self._next_reference()
        if reason is not None:
            return IdentityCheck(name.strip(), number, False, reason, provider=PROVIDER, reference=reference)
        valid_until = card_valid_until(birth_date(number), today)
        return IdentityCheck(name.strip(), number, True, None, valid_until, PROVIDER, reference)

    def _reason(self, name: str, number: str, id_card_image: bytes, selfie_image: bytes, today: date) -> str | None:
        problem = submission_problem(name, number, id_card_image, selfie_image, today)
        if problem is not None:
            return problem
        if self._store.get(FACE_MISMATCH, number) is not None:
            return "selfie does not match the ID card photo"
        return None

    def _next_reference(self) -> str:
        with self._store.transaction() as documents:
            checks: int = (documents.get(CHECKS, "all") or {"count": 0})["count"] + 1
            documents.put(CHECKS, "all", {"count": checks})
        return f"sandbox-idv-{checks:06d}"


def submission_problem(name: str, number: str, id_card_image: bytes, selfie_image: bytes, today: date) -> str | None:
    """What makes a submission uncheckable by any provider (an empty name or image, an invalid ID number), or None."""
    if not name.strip():
        return "name is empty"
    problem = id_number_problem(number, today)
    if problem is not None:
        return problem
    if not id_card_image:
        return "ID card image is empty"
    if not selfie_image:
        return "selfie image is empty"
    return None


def card_valid_until(born: date, issued: date) -> date | None:
    """A card issued today runs 5 years under 16, 10 to 25, 20 to 45, and for life (None) from 46."""
    age = issued.year - born.year - ((issued.month, issued.day) < (born.month, born.day))
    if age >= 46:
        return None
    years = 5 if age < 16 else 10 if age < 26 else 20
    return _years_later(issued, years)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)

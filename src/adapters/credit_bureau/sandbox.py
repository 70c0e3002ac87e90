"""The sandbox credit bureau: deterministic scores that tests set per person, 650 for anyone else."""

from __future__ import annotations

import hashlib
import threading
from datetime import date

from adapters.identity.gb11643 import id_number_problem, normalize_id_number
from leasecore.ports import BureauScore

PROVIDER = "sandbox"
MIN_SCORE, MAX_SCORE = 350, 950
DEFAULT_SCORE = 650


class SandboxBureau:
    """A `CreditBureau` answering what was set for an ID number, the default score otherwise."""

    def __init__(self, default_score: int = DEFAULT_SCORE) -> None:
        self.default_score = require_score(default_score)
        self._scores: dict[str, int] = {}
        self._lock = threading.Lock()

    def set_score(self, id_number: str, score: int) -> None:
        """What the bureau answers from now on for this person; a Sesame score lies in 350–950."""
        number = normalize_id_number(id_number)
        problem = id_number_problem(number, date.max)
        if problem is not None:
            raise ValueError(problem)
        with self._lock:
            self._scores[number] = require_score(score)

    def clear_score(self, id_number: str) -> None:
        with self._lock:
            self._scores.pop(normalize_id_number(id_number), None)

    def score(self, name: str, id_number: str) -> BureauScore:
        number = normalize_id_number(id_number)
        with self._lock:
            score = self._scores.get(number, self.default_score)
        return BureauScore(score, PROVIDER, reference=_reference(number, score))


def require_score(score: int) -> int:
    """A whole score within the Sesame range 350–950."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise TypeError(f"a score is a whole number, not {score!r}")
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"a score lies in {MIN_SCORE}–{MAX_SCORE}, not {score}")
    return score


def _reference(id_number: str, score: int) -> str:
    """The same person with the same score gets the same reference, so evaluations replay identically."""
    return "sandbox-" + hashlib.sha256(f"{id_number}/{score}".encode()).hexdigest()[:20]

"""The sandbox credit bureau: deterministic scores that tests set per person, 650 for anyone else."""

from __future__ import annotations

import hashlib
from datetime import date

from adapters.identity.gb11643 import id_number_problem, normalize_id_number
from adapters.sandbox_store import MemorySandboxStore, SandboxStore
from leasecore.ports import BureauScore

PROVIDER = "sandbox"
MIN_SCORE, MAX_SCORE = 350, 950
DEFAULT_SCORE = 650
SCORE = "bureau-score"


class SandboxBureau:
    """A `CreditBureau` answering what was set for an ID number, the default score otherwise."""

    def __init__(self, default_score: int = DEFAULT_SCORE, *, store: SandboxStore | None = None) -> None:
        self.default_score = require_score(default_score)
        self._store: SandboxStore = store or MemorySandboxStore()

    def set_score(self, id_number: str, score: int) -> None:
        """What the bureau answers from now on for this person; a Sesame score lies in 350–950."""
        number = normalize_id_number(id_number)
        problem = id_number_problem(number, date.max)
        if problem is not None:
            raise ValueError(problem)
        with self._store.transaction() as documents:
            documents.put(SCORE, number, {"score": require_score(score)})

    def clear_score(self, id_number: str) -> None:
        with self._store.transaction() as documents:
            documents.delete(SCORE, normalize_id_number(id_number))

    def score(self, name: str, id_number: str) -> BureauScore:
        number = normalize_id_number(id_number)
        kept = self._store.get(SCORE, number)
        score: int = self.default_score if kept is None else kept["score"]
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

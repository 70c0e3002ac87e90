"""How the aggregate cache copies an aggregate it keeps.

The application keeps aggregates in memory between commands and hands each command a deep copy, so that
a command refused at save leaves the kept aggregate as it was. An aggregate whose events only ever assign
new values to its attributes, never change a value in place, can hand out a shallow copy instead: the
copy shares the (immutable) values, and whatever the command changes it assigns anew on the copy alone.
"""

from __future__ import annotations

import copy
from typing import Any, Self


class CopiedBySharing:
    """Mix into an aggregate whose attributes are only ever reassigned (frozen dataclasses, tuples,
    frozensets, UUIDs, dates): its copy costs the same however long its history."""

    _pending_events: list[Any]

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        clone = copy.copy(self)
        clone._pending_events = list(self._pending_events)
        return clone

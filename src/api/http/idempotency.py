"""`Idempotency-Key`: the first answer to a key is kept and given again for the same request;
the same key for another request is refused (422); a key still being answered is 409.

Exactly once through crashes: the answer is kept in a transaction of its own, after the command's, so a process
killed between them leaves the key pending with the command done. A command that creates something takes the
identity of what it creates from the key (`derived_id`), so running it again finds what the first run made and
answers it; one that adds an entry to an aggregate (a message, an adjustment, a call) records the id derived from the
key with it, and the aggregate adds a request it has recorded only once. Such a route (`rerun` to `claim`) runs a
pending key again at once rather than answering 409 until the key is abandoned. Only final answers are kept
(`lasting`): a retry after a transient one runs the command again.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid5

from sqlalchemy import and_, delete, select, update

from api.http.errors import ApiError, invalid
from api.store import ApiStore, api_idempotency, insert_ignore
from leasecore.ports import Clock

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
IDENTITIES = UUID("0c5f3a7e-6f0b-5b8e-9d1c-4a2e8f7b6d10")
"""The namespace of the ids derived from keys (`derived_id`): fixed for good, or retries would stop finding."""
LASTING = frozenset({400, 409, 413, 422})
"""Refusals kept as a key's answer besides success: the request's own fault or the command's decision on the state
it found (409: refused, invalid state, no stock), which a retry of the same request would meet again. A 404 is not
kept (what was not found may be there a moment later: a read model behind after a restart), nor a 429 or a 5xx."""


@dataclass(frozen=True)
class Stored:
    """The first answer to a key."""

    status: int
    body: bytes
    content_type: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request a key stands for: its method, path and body (JSON compared by value)."""
    try:
        canonical = json.dumps(json.loads(body or b"{}"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def derived_id(kind: str, scope: str, key: str, print_: str) -> UUID:
    """The id of the `kind` of thing a request with this key creates: the same for the same caller, key and request,
    so a retry finds what the first attempt made. Another request under the same key (refused while the key is
    kept, made once it has expired) gets another id."""
    return uuid5(IDENTITIES, "\n".join((kind, scope, key, print_)))


def lasting(status: int) -> bool:
    """Whether an answer is final, so kept as the key's answer (`LASTING`)."""
    return 200 <= status < 300 or status in LASTING


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise invalid(HEADER, "1 to 255 visible ASCII characters")
    return key


class IdempotencyKeys:
    """Keys per caller, kept 24 hours by the service's clock."""

    def __init__(self, store: ApiStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def claim(self, scope: str, key: str, print_: str, *, rerun: bool = False) -> Stored | None:
        """None when this request is the key's first (answer it, then `keep` or `release`); else the stored answer.
        A key still pending is 409 until abandoned, unless `rerun`: its command finds its own earlier effect, so a
        retry whose first attempt died with its process (or is still running) runs it again at once."""
        now = self._clock.now()
        row = {"scope": scope, "key": key, "fingerprint": print_, "state": "pending", "created_at": now}
        with self._store.begin() as connection:
            if random.random() < 0.01:
                connection.execute(delete(api_idempotency).where(api_idempotency.c.created_at < now - RETENTION))
            if insert_ignore(connection, api_idempotency, row, ("scope", "key")):
                return None
            found = (
                connection.execute(
                    select(api_idempotency).where(api_idempotency.c.scope == scope, api_idempotency.c.key == key)
                )
                .mappings()
                .one()
            )
            if found["fingerprint"] != print_:
                raise invalid(HEADER, "this key was used for another request; use a new key for a new request")
            if found["state"] == "done":
                return Stored(found["status"], found["body"], found["content_type"])
            if not rerun and found["created_at"] > now - ABANDONED_AFTER:
                raise ApiError(
                    409,
                    "in-progress",
                    "a request with this key is still being answered; retry shortly",
                    headers={"Retry-After": "1"},
                )
            connection.execute(
                update(api_idempotency)
                .where(and_(api_idempotency.c.scope == scope, api_idempotency.c.key == key))
                .values(created_at=now)
            )
            return None

    def keep(self, scope: str, key: str, answer: Stored) -> None:
        with self._store.begin() as connection:
            connection.execute(
                update(api_idempotency)
                .where(api_idempotency.c.scope == scope, api_idempotency.c.key == key)
                .values(
                    state="done",
                    status=answer.status,
                    body=answer.body,
                    content_type=answer.content_type,
                    completed_at=self._clock.now(),
                )
            )

    def release(self, scope: str, key: str) -> None:
        """Forget a key whose request failed on our side, so the client may retry it."""
        with self._store.begin() as connection:
            connection.execute(
                delete(api_idempotency).where(
                    api_idempotency.c.scope == scope,
                    api_idempotency.c.key == key,
                    api_idempotency.c.state == "pending",
                )
            )

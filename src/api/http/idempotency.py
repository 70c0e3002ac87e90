"""`Idempotency-Key`: the first answer to a key is kept and given again for the same request;
the same key for another request is refused (422); a key still being answered is 409."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, select, update

from api.http.errors import ApiError, invalid
from api.store import ApiStore, api_idempotency, insert_ignore
from leasecore.ports import Clock

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)


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


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise invalid(HEADER, "1 to 255 visible ASCII characters")
    return key


class IdempotencyKeys:
    """Keys per caller, kept 24 hours by the service's clock."""

    def __init__(self, store: ApiStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def claim(self, scope: str, key: str, print_: str) -> Stored | None:
        """None when this request is the key's first (answer it, then `keep` or `release`); else the stored answer."""
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
            if found["created_at"] > now - ABANDONED_AFTER:
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

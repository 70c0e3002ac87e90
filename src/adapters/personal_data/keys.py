"""Per-customer keys for personal data (crypto-shredding, PIPL's right to deletion): AES-256-GCM from the
`cryptography` library, one key per customer made on first use, kept by a `KeyStore`: in memory here, in the
service's own database in `api.personal_keys` (so a backup holds the keys with the events they open).

Erasing a customer deletes their keys: from then on what was sealed under them opens as nothing (the mapper reads
"erased"). Keys are kept in memory a short while (`ttl`) so that loading an aggregate does not read them again
each time; the process that erases forgets them at once, another process as soon as it reads the erasure's event
(its read models' runner reads every event), at most `ttl` seconds later: see docs/privacy.md.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Protocol
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from leasecore.ports import Sealed

NONCE_BYTES = 12
KEY_BITS = 256

class KeyStore(Protocol):
    """Where the keys are kept: a customer's newest key, a key by its id (with its customer), adding, deleting."""

    def current(self, customer_id: UUID) -> tuple[str, bytes] | None: ...

    def add(self, key_id: str, customer_id: UUID, key: bytes) -> None: ...

    def get(self, key_id: str) -> tuple[UUID, bytes] | None: ...

    def delete(self, customer_id: UUID) -> int: ...


class MemoryKeys:
    """Keys in a dictionary: for the in-memory event store (tests, the demo)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[UUID, bytes]] = {}
        self._lock = threading.Lock()

    def current(self, customer_id: UUID) -> tuple[str, bytes] | None:
        with self._lock:
            return next(((k, key) for k, (owner, key) in self.rows.items() if owner == customer_id), None)

    def add(self, key_id: str, customer_id: UUID, key: bytes) -> None:
        with self._lock:
            self.rows[key_id] = (customer_id, key)

    def get(self, key_id: str) -> tuple[UUID, bytes] | None:
        with self._lock:
            return self.rows.get(key_id)

    def delete(self, customer_id: UUID) -> int:
        with self._lock:
            gone = [k for k, (owner, _) in self.rows.items() if owner == customer_id]
            for key_id in gone:
                del self.rows[key_id]
        return len(gone)


class AesGcmPersonalData:
    """`PersonalDataCipher` with AES-256-GCM: a fresh random nonce per value, the key's id and the value's place
    (aggregate and field) authenticated with it, so a sealed value cannot be moved elsewhere and opened there."""

    def __init__(self, keys: KeyStore, *, kept: int = 10_000, ttl: float = 60.0) -> None:
        self.keys, self.kept, self.ttl = keys, kept, ttl
        self._current: OrderedDict[UUID, tuple[str, AESGCM, float]] = OrderedDict()
        self._opened: OrderedDict[str, tuple[UUID | None, AESGCM | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def seal(self, customer_id: UUID, plaintext: bytes, associated: bytes) -> Sealed:
        key_id, cipher = self._key_for(customer_id)
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(key_id, nonce, cipher.encrypt(nonce, plaintext, _bound(key_id, associated)))

    def open(self, sealed: Sealed, associated: bytes) -> bytes | None:
        cipher = self._key(sealed.key_id)
        if cipher is None:
            return None
        return cipher.decrypt(sealed.nonce, sealed.ciphertext, _bound(sealed.key_id, associated))

    def erase(self, customer_id: UUID) -> int:
        erased = self.keys.delete(customer_id)
        self.forget(customer_id)
        return erased

    def forget(self, customer_id: UUID) -> None:
        with self._lock:
            self._current.pop(customer_id, None)
            for key_id in [k for k, (owner, _, _) in self._opened.items() if owner == customer_id]:
                del self._opened[key_id]

    def close(self) -> None:
        close = getattr(self.keys, "close", None)
        if close is not None:
            close()

    def _key_for(self, customer_id: UUID) -> tuple[str, AESGCM]:
        now = time.monotonic()
        with self._lock:
            kept = self._current.get(customer_id)
            if kept is not None and kept[2] > now:
                self._current.move_to_end(customer_id)
                return kept[0], kept[1]
        found = self.keys.current(customer_id)
        if found is None:
            found = (str(uuid4()), AESGCM.generate_key(bit_length=KEY_BITS))
            self.keys.add(found[0], customer_id, found[1])
        key_id, cipher = found[0], AESGCM(found[1])
        with self._lock:
            self._current[customer_id] = (key_id, cipher, now + self.ttl)
            self._opened[key_id] = (customer_id, cipher, now + self.ttl)
            self._trim()
        return key_id, cipher

    def _key(self, key_id: str) -> AESGCM | None:
        now = time.monotonic()
        with self._lock:
            kept = self._opened.get(key_id)
            if kept is not None and kept[2] > now:
                self._opened.move_to_end(key_id)
                return kept[1]
        found = self.keys.get(key_id)
        owner, cipher = (None, None) if found is None else (found[0], AESGCM(found[1]))
        with self._lock:
            self._opened[key_id] = (owner, cipher, now + self.ttl)
            self._trim()
        return cipher

    def _trim(self) -> None:
        for kept in (self._current, self._opened):
            while len(kept) > self.kept:
                kept.popitem(last=False)


def _bound(key_id: str, associated: bytes) -> bytes:
    return key_id.encode() + b"|" + associated

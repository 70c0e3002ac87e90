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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from leasecore.ports import Sealed

NONCE_BYTES = 12
KEY_BITS = 256
WRAPPED = b"w1"
"""How a key kept wrapped under the master key begins (then the nonce and the wrapped key); a key of 32 bytes
alone was kept before a master key was configured, and still opens."""


class MasterKeyMissing(RuntimeError):
    """A kept key is wrapped, and the master key that unwraps it is not configured (or is not the right one)."""

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

    def __init__(
        self, keys: KeyStore, *, master: bytes | None = None, kept: int = 10_000, ttl: float = 60.0
    ) -> None:
        """`master` (32 bytes, kept out of the database) wraps each customer's key where it is kept, so a copy of
        the database alone opens no personal data; without it the keys are kept as they are."""
        if master is not None and len(master) != KEY_BITS // 8:
            raise ValueError(f"the master key must be {KEY_BITS // 8} bytes ({len(master)} given)")
        self.keys, self.kept, self.ttl = keys, kept, ttl
        self._master = None if master is None else AESGCM(master)
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
            key_id, key = str(uuid4()), AESGCM.generate_key(bit_length=KEY_BITS)
            self.keys.add(key_id, customer_id, self._wrapped(key_id, key))
        else:
            key_id, key = found[0], self._unwrapped(found[0], found[1])
        cipher = AESGCM(key)
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
        owner, cipher = (None, None) if found is None else (found[0], AESGCM(self._unwrapped(key_id, found[1])))
        with self._lock:
            self._opened[key_id] = (owner, cipher, now + self.ttl)
            self._trim()
        return cipher

    def _wrapped(self, key_id: str, key: bytes) -> bytes:
        if self._master is None:
            return key
        nonce = os.urandom(NONCE_BYTES)
        return WRAPPED + nonce + self._master.encrypt(nonce, key, _wrapping(key_id))

    def _unwrapped(self, key_id: str, kept: bytes) -> bytes:
        if not kept.startswith(WRAPPED) or len(kept) == KEY_BITS // 8:
            return kept
        if self._master is None:
            raise MasterKeyMissing(f"personal data key {key_id} is wrapped: set LEASECORE_PERSONAL_DATA_KEY")
        nonce, wrapped = kept[len(WRAPPED) : len(WRAPPED) + NONCE_BYTES], kept[len(WRAPPED) + NONCE_BYTES :]
        try:
            return self._master.decrypt(nonce, wrapped, _wrapping(key_id))
        except InvalidTag:
            message = f"personal data key {key_id} does not open with LEASECORE_PERSONAL_DATA_KEY (another master key?)"
            raise MasterKeyMissing(message) from None

    def _trim(self) -> None:
        for kept in (self._current, self._opened):
            while len(kept) > self.kept:
                kept.popitem(last=False)


def _wrapping(key_id: str) -> bytes:
    return b"leasecore-personal-key|" + key_id.encode()


def _bound(key_id: str, associated: bytes) -> bytes:
    return key_id.encode() + b"|" + associated

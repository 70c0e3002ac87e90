"""Personal data in the event store (PIPL 个人信息保护法): which stored fields hold it, whose it is, and the mapper
that stores each such field sealed under its customer's key and reads it back, or reads "erased" once the key
is gone (crypto-shredding: the events stay as they were written, their money and figures readable forever).

The domain's events and aggregates are unchanged: only the stored form of a personal field differs (an envelope
naming its key instead of the plain value), and a field stored plain by earlier code still reads as it was. The
envelope is bound to its aggregate and field, so one cannot be moved into another event and read there.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from leasecore.credit.customer import Customer
from leasecore.lease.lease import Lease
from leasecore.lease.reminders import Reminder
from leasecore.ports import PersonalDataCipher, Sealed
from leasecore.snapshots import DICT
from leasecore.support import Conversation
from leasecore.values import ERASED, ERASED_ADDRESS

ORIGINATOR = "originator"
"""The aggregate is the customer."""
FIRST_EVENT = "first event"
"""The customer is the one named by the aggregate's first event (a conversation's later messages)."""


@dataclass(frozen=True)
class Personal:
    """An event's (or an aggregate's) personal fields with what each reads once erased, and where its customer is
    named: `ORIGINATOR`, `FIRST_EVENT`, or the name of the field holding the customer's id."""

    owner: str
    erased: Mapping[str, Any]


PERSONAL_EVENTS: dict[type, Personal] = {
    Customer.Registered: Personal(ORIGINATOR, {"phone": ERASED}),
    Customer.RegisteredAgain: Personal(ORIGINATOR, {"phone": ERASED}),
    Customer.IdentityVerified: Personal(
        ORIGINATOR, {"name": ERASED, "id_number": ERASED, "valid_until": None, "reference": ERASED}
    ),
    Lease.OrderPlaced: Personal("customer_id", {"address": ERASED_ADDRESS}),
    Lease.CallRecorded: Personal(FIRST_EVENT, {"notes": ERASED}),
    Reminder.Queued: Personal("customer_id", {"phone": ERASED}),
    Conversation.Opened: Personal("customer_id", {"subject": ERASED, "text": ERASED}),
    Conversation.CustomerWrote: Personal(FIRST_EVENT, {"text": ERASED}),
    Conversation.StaffAnswered: Personal(FIRST_EVENT, {"text": ERASED}),
}
"""The events that carry personal data. A reminder's text says only amounts and dates; the customer's own words
(a conversation's subject and messages, and staff's answers to them) and what a collection call's notes say of them
may say anything, so they are personal."""

PERSONAL_STATE: dict[type, Personal] = {
    Customer: Personal(ORIGINATOR, {"phone": ERASED, "name": ERASED, "id_number": ERASED}),
    Lease: Personal("customer_id", {"address": ERASED_ADDRESS}),
    Reminder: Personal("customer_id", {"phone": ERASED}),
    Conversation: Personal("customer_id", {"subject": ERASED}),
}
"""The same in the aggregates' state, as their snapshots hold it."""

ENVELOPE = frozenset({"key", "nonce", "ct"})
OWNERS_KEPT = 10_000


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == ENVELOPE


class PersonalDataMapper(Mapper[UUID]):
    """Stores personal fields sealed under their customer's key; reads them back, or as "erased" when the key
    was erased; reads a field stored plain (before encryption) as it was."""

    def __init__(
        self, transcoder: Transcoder, personal: PersonalDataCipher, owner_of: Callable[[UUID], UUID | None]
    ) -> None:
        super().__init__(transcoder)
        self.personal = personal
        self.owner_of = owner_of
        """The customer an aggregate belongs to, from its first stored event (for `FIRST_EVENT`)."""
        self._owners: OrderedDict[UUID, UUID] = OrderedDict()
        self._owners_lock = threading.Lock()
        self._events = dict(PERSONAL_EVENTS)
        self._states: dict[str, Personal | None] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        personal = self._events.get(type(domain_event))
        if personal is None and not isinstance(domain_event, Snapshot):
            return super().to_stored_event(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        if personal is not None:
            self._seal(event_state, personal, originator_id, event_state)
        elif (personal := self._state_fields(event_state["topic"])) is not None:
            state = event_state["state"] = _copied(event_state["state"])
            values = _state_values(state)
            self._seal(values, personal, originator_id, values)
            _put_back(state, values)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=self.transcoder.encode(event_state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        if isinstance(domain_event, Customer.PersonalDataErased):
            self.personal.forget(domain_event.originator_id)
        personal = self._events.get(type(domain_event))
        if personal is not None:
            self._open(vars(domain_event), personal, domain_event.originator_id)
        elif isinstance(domain_event, Snapshot) and (personal := self._state_fields(domain_event.topic)) is not None:
            values = _state_values(domain_event.state)
            self._open(values, personal, domain_event.originator_id)
            _put_back(domain_event.state, values)
        return domain_event

    def sealed_state(self, stored_event: StoredEvent) -> bytes | None:
        """The stored state with each personal field that an earlier version stored plain sealed as this one seals
        it, or None when none is plain. Only those fields' stored form changes: the event is not upcast or
        reshaped, and it reads back exactly as before (for a migration, and before an erasure)."""
        cls = resolve_topic(stored_event.topic)
        raw = json.loads(stored_event.state)
        decoded = self.transcoder.decode(stored_event.state)
        personal, values, named = self._events.get(cls), raw, decoded
        if personal is None:
            if not (isinstance(cls, type) and issubclass(cls, Snapshot)):
                return None
            personal, values, named = self._state_fields(raw["topic"]), _state_values(raw["state"]), None
            if personal is None:
                return None
            named = _state_values(decoded["state"])
        plain = [field for field in personal.erased if values.get(field) is not None and not is_envelope(values[field])]
        if not plain:
            return None
        originator_id = UUID(str(stored_event.originator_id))
        owner = self._owner(personal, originator_id, named)
        for field in plain:
            plaintext = json.dumps({"v": values[field]}, ensure_ascii=False, separators=(",", ":")).encode()
            values[field] = self._envelope(owner, plaintext, originator_id, field)
        if values is not raw:
            _put_back(raw["state"], values)
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()

    def _state_fields(self, topic: str) -> Personal | None:
        if topic not in self._states:
            self._states[topic] = PERSONAL_STATE.get(resolve_topic(topic))
        return self._states[topic]

    def _seal(self, values: dict[str, Any], personal: Personal, originator_id: UUID, named: Mapping[str, Any]) -> None:
        owner = self._owner(personal, originator_id, named)
        for field in personal.erased:
            value = values.get(field)
            if value is None or is_envelope(value):
                continue
            values[field] = self._envelope(owner, self.transcoder.encode({"v": value}), originator_id, field)

    def _envelope(self, owner: UUID, plaintext: bytes, originator_id: UUID, field: str) -> dict[str, str]:
        sealed = self.personal.seal(owner, plaintext, _associated(originator_id, field))
        return {
            "key": sealed.key_id,
            "nonce": base64.b64encode(sealed.nonce).decode(),
            "ct": base64.b64encode(sealed.ciphertext).decode(),
        }

    def _open(self, values: dict[str, Any], personal: Personal, originator_id: UUID) -> None:
        for field, erased in personal.erased.items():
            envelope = values.get(field)
            if envelope is None or not is_envelope(envelope):
                continue
            sealed = Sealed(envelope["key"], base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ct"]))
            plaintext = self.personal.open(sealed, _associated(originator_id, field))
            values[field] = erased if plaintext is None else self.transcoder.decode(plaintext)["v"]

    def _owner(self, personal: Personal, originator_id: UUID, named: Mapping[str, Any]) -> UUID:
        if personal.owner == ORIGINATOR:
            return originator_id
        if personal.owner != FIRST_EVENT:
            owner: UUID = named[personal.owner]
            self._remember(originator_id, owner)
            return owner
        with self._owners_lock:
            known = self._owners.get(originator_id)
        if known is None:
            known = self.owner_of(originator_id)
            if known is None:
                raise LookupError(f"no customer owns aggregate {originator_id}: its personal data cannot be sealed")
            self._remember(originator_id, known)
        return known

    def _remember(self, originator_id: UUID, owner: UUID) -> None:
        with self._owners_lock:
            self._owners[originator_id] = owner
            self._owners.move_to_end(originator_id)
            while len(self._owners) > OWNERS_KEPT:
                self._owners.popitem(last=False)


def _state_values(state: Any) -> dict[str, Any]:
    """A snapshot's state by attribute: `TaggedSnapshot` writes the state's dictionary as tagged pairs."""
    if isinstance(state, dict) and state.keys() == {DICT}:
        return {pair[0]: pair[1] for pair in state[DICT] if isinstance(pair[0], str)}
    return state if isinstance(state, dict) else {}


def _put_back(state: Any, values: Mapping[str, Any]) -> None:
    if isinstance(state, dict) and state.keys() == {DICT}:
        for pair in state[DICT]:
            if isinstance(pair[0], str) and pair[0] in values:
                pair[1] = values[pair[0]]


def _copied(state: Any) -> Any:
    if isinstance(state, dict) and state.keys() == {DICT}:
        return {DICT: [list(pair) for pair in state[DICT]]}
    return dict(state) if isinstance(state, dict) else state


def _associated(originator_id: UUID, field: str) -> bytes:
    return f"{originator_id}/{field}".encode()

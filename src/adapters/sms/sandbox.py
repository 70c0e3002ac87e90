"""The sandbox SMS provider: an outbox tests can read, and failures on demand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from adapters.errors import SmsFailed
from adapters.sandbox_store import MemorySandboxStore, SandboxStore, from_document, to_document
from leasecore.clock import SystemClock
from leasecore.ports import Clock

PHONE = re.compile(r"\+?[0-9]{5,20}")
SENT, SENT_COUNT, FAILURES, FAILING_PHONE = "sms", "sms-count", "sms-failures", "sms-failing-phone"
"""The kinds of document the SMS sandbox keeps: each text sent (by its id, so in order) and how many, the failures
asked for the next sends, the phones every send to fails."""


@dataclass(frozen=True)
class SentSms:
    message_id: str
    phone: str
    text: str
    sent_at: datetime
    ref: str | None = None


class SandboxSms:
    """An `SmsSender` that keeps every message it "sent", in order, for `/v1/sandbox/sms?phone=`."""

    def __init__(self, clock: Clock | None = None, *, store: SandboxStore | None = None) -> None:
        self._clock = clock or SystemClock()
        self._store: SandboxStore = store or MemorySandboxStore()

    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        """Only a phone number with a non-empty text goes out; a failed send leaves the outbox as it was."""
        phone = phone.strip()
        if not PHONE.fullmatch(phone_key(phone)):
            raise SmsFailed(f"isv.MOBILE_NUMBER_ILLEGAL: {phone!r} is not a phone number")
        if not text.strip():
            raise SmsFailed("isv.TEMPLATE_PARAMS_ILLEGAL: the text is empty")
        with self._store.transaction() as documents:
            failing = documents.get(FAILING_PHONE, phone_key(phone))
            failures: list[str] = (documents.get(FAILURES, "next") or {"reasons": []})["reasons"]
            if failing is not None:
                failure: str | None = failing["reason"]
            elif failures:
                failure = failures.pop(0)
                documents.put(FAILURES, "next", {"reasons": failures})
            else:
                failure = None
                counter = documents.get(SENT_COUNT, "all") or {"count": 0}
                number = counter["count"] + 1
                message = SentSms(f"sandbox-sms-{number:06d}", phone, text, self._clock.now(), ref)
                documents.put(SENT_COUNT, "all", {"count": number})
                documents.put(SENT, message.message_id, to_document(message))
        if failure is not None:
            raise SmsFailed(failure)
        return message.message_id

    def messages(self, phone: str | None = None) -> list[SentSms]:
        """Every message sent, oldest first; only those to `phone` when given (spaces and hyphens ignored)."""
        outbox = [from_document(SentSms, document) for document in self._store.documents(SENT)]
        if phone is None:
            return outbox
        return [message for message in outbox if phone_key(message.phone) == phone_key(phone)]

    def fail_next(self, reason: str = "isv.BUSINESS_LIMIT_CONTROL: too many messages", times: int = 1) -> None:
        """The next `times` sends fail with that reason, whoever they go to."""
        with self._store.transaction() as documents:
            failures: list[str] = (documents.get(FAILURES, "next") or {"reasons": []})["reasons"]
            documents.put(FAILURES, "next", {"reasons": [*failures, *[reason] * times]})

    def fail_phone(self, phone: str, reason: str = "isv.OUT_OF_SERVICE: the number is out of service") -> None:
        """Every send to this phone fails until `restore_phone`."""
        with self._store.transaction() as documents:
            documents.put(FAILING_PHONE, phone_key(phone), {"reason": reason})

    def restore_phone(self, phone: str) -> None:
        with self._store.transaction() as documents:
            documents.delete(FAILING_PHONE, phone_key(phone))


def phone_key(phone: str) -> str:
    """A phone number as compared: without spaces and hyphens."""
    return re.sub(r"[\s-]", "", phone)

"""The sandbox SMS provider: an outbox tests can read, and failures on demand."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from adapters.errors import SmsFailed
from leasecore.clock import SystemClock
from leasecore.ports import Clock

PHONE = re.compile(r"\+?[0-9]{5,20}")


@dataclass(frozen=True)
class SentSms:
    message_id: str
    phone: str
    text: str
    sent_at: datetime
    ref: str | None = None


class SandboxSms:
    """An `SmsSender` that keeps every message it "sent", in order, for `/v1/sandbox/sms?phone=`."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._outbox: list[SentSms] = []
        self._failures: list[str] = []
        self._failing_phones: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        """Only a phone number with a non-empty text goes out; a failed send leaves the outbox as it was."""
        phone = phone.strip()
        if not PHONE.fullmatch(phone_key(phone)):
            raise SmsFailed(f"isv.MOBILE_NUMBER_ILLEGAL: {phone!r} is not a phone number")
        if not text.strip():
            raise SmsFailed("isv.TEMPLATE_PARAMS_ILLEGAL: the text is empty")
        with self._lock:
            failure = self._failing_phones.get(phone_key(phone)) or (self._failures.pop(0) if self._failures else None)
            if failure is not None:
                raise SmsFailed(failure)
            message = SentSms(f"sandbox-sms-{len(self._outbox) + 1:06d}", phone, text, self._clock.now(), ref)
            self._outbox.append(message)
            return message.message_id

    def messages(self, phone: str | None = None) -> list[SentSms]:
        """Every message sent, oldest first; only those to `phone` when given (spaces and hyphens ignored)."""
        with self._lock:
            if phone is None:
                return list(self._outbox)
            return [message for message in self._outbox if phone_key(message.phone) == phone_key(phone)]

    def fail_next(self, reason: str = "isv.BUSINESS_LIMIT_CONTROL: too many messages", times: int = 1) -> None:
        """The next `times` sends fail with that reason, whoever they go to."""
        with self._lock:
            self._failures.extend([reason] * times)

    def fail_phone(self, phone: str, reason: str = "isv.OUT_OF_SERVICE: the number is out of service") -> None:
        """Every send to this phone fails until `restore_phone`."""
        with self._lock:
            self._failing_phones[phone_key(phone)] = reason

    def restore_phone(self, phone: str) -> None:
        with self._lock:
            self._failing_phones.pop(phone_key(phone), None)


def phone_key(phone: str) -> str:
    """A phone number as compared: without spaces and hyphens."""
    return re.sub(r"[\s-]", "", phone)

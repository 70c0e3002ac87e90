"""The outbox sends each reminder through the SMS provider once: after a restart what was saved and not sent goes
out, nothing goes out twice, a refusal is retried with backoff, and a send that may have reached the provider is
never repeated."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from adapters.errors import SmsUnconfirmed
from adapters.sms.sandbox import SandboxSms
from api.bootstrap import Platform, bootstrap
from api.processes.outbox import MessageSender, messages
from api.store import ApiStore
from leasecore.clock import SettableClock
from leasecore.ports import SmsSender
from tests.support import START, build_world

REAL = datetime(2026, 6, 1, tzinfo=UTC)
"""Where the sender's real-time clock starts: backoff and interrupted sends run on real elapsed time."""


def local(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


class Outbox:
    """A platform with its API store, a sandbox SMS provider and the real-time clock senders run on."""

    def __init__(self, platform: Platform, clock: SettableClock) -> None:
        self.platform = platform
        self.store = ApiStore(platform.views)
        self.store.setup()
        self.sms = SandboxSms()
        self.real = SettableClock(REAL)
        self.world = build_world(platform.app, clock)

    def sender(self, sms: SmsSender | None = None, **options: Any) -> MessageSender:
        """A sender as a service process starts one (a fresh process after a crash)."""
        return MessageSender(self.platform.app, self.store, sms or self.sms, clock=self.real, **options)

    def overdue_orders(self, count: int = 1) -> list[UUID]:
        """Orders whose installment 2 is overdue, each with its collection reminder recorded by the daily job."""
        orders = [self.world.leasing(self.world.customer()) for _ in range(count)]
        self.world.clock.set(local(3, 10))
        self.platform.runner.catch_up()  # the daily job's work list is a read model
        assert len(self.platform.app.run_daily().reminders) == count
        return orders

    def states(self) -> list[tuple[str, int]]:
        return [(message.state, message.attempts) for message in messages(self.store)]


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    clock = SettableClock(START)
    platform = bootstrap("memory:", clock=clock)
    try:
        yield Outbox(platform, clock)
    finally:
        platform.close()


def test_a_reminder_saved_before_a_crash_is_sent_by_the_next_process_and_never_again(outbox: Outbox) -> None:
    (order,) = outbox.overdue_orders()
    assert outbox.states() == []  # nothing copied yet: the process that saved it died
    assert outbox.sender().dispatch() == 1
    (sent,) = outbox.sms.messages()
    (message,) = messages(outbox.store, order_id=order)
    assert (message.state, message.attempts, message.sent_at) == ("sent", 1, REAL)
    assert (sent.text, sent.ref) == (message.text, str(message.message_id))
    assert "200.70 CNY is overdue by 7 day(s)" not in sent.text and "201.40 CNY is overdue by 7 day(s)" in sent.text
    assert outbox.sender().dispatch() == 0
    outbox.platform.app.run_daily()
    assert outbox.sender().dispatch() == 0
    assert len(outbox.sms.messages()) == 1


def test_a_refused_send_is_tried_again_after_a_doubling_backoff(outbox: Outbox) -> None:
    outbox.overdue_orders()
    outbox.sms.fail_next(times=2)
    sender = outbox.sender()
    assert sender.dispatch() == 0
    (message,) = messages(outbox.store, state="failed")
    assert (message.attempts, message.retry_at) == (1, REAL + timedelta(seconds=10))
    assert "BUSINESS_LIMIT_CONTROL" in (message.detail or "")
    outbox.real.advance(timedelta(seconds=9))
    assert sender.dispatch() == 0 and outbox.states() == [("failed", 1)]
    outbox.real.advance(timedelta(seconds=1))
    assert sender.dispatch() == 0 and outbox.states() == [("failed", 2)]
    outbox.real.advance(timedelta(seconds=20))
    assert sender.dispatch() == 1 and outbox.states() == [("sent", 3)]
    assert len(outbox.sms.messages()) == 1


def test_after_the_last_attempt_a_message_stays_failed(outbox: Outbox) -> None:
    outbox.overdue_orders()
    outbox.sms.fail_next(times=5)
    sender = outbox.sender(max_attempts=2)
    sender.dispatch()
    outbox.real.advance(timedelta(hours=1))
    sender.dispatch()
    (message,) = messages(outbox.store)
    assert (message.state, message.attempts, message.retry_at) == ("failed", 2, None)
    outbox.real.advance(timedelta(days=1))
    assert sender.dispatch() == 0 and outbox.sms.messages() == []


class Dies:
    """A provider call during which the process dies: nothing after the claim is recorded."""

    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        raise SystemExit("killed")


class NoAnswer:
    """The request reached the provider, and no answer came back."""

    def send(self, phone: str, text: str, ref: str | None = None) -> str:
        raise SmsUnconfirmed("Aliyun SMS did not answer: read timeout")


def test_a_send_interrupted_by_a_crash_is_never_repeated(outbox: Outbox) -> None:
    outbox.overdue_orders()
    with pytest.raises(SystemExit):
        outbox.sender(Dies()).dispatch()
    assert outbox.states() == [("pending", 1)]  # `sending`: claimed, the provider being called
    restarted = outbox.sender()
    outbox.real.advance(timedelta(minutes=4))
    assert restarted.dispatch() == 0 and outbox.states() == [("pending", 1)]  # it might still be on its way
    outbox.real.advance(timedelta(minutes=2))
    assert restarted.dispatch() == 0
    (message,) = messages(outbox.store)
    assert (message.state, message.attempts, message.retry_at) == ("failed", 1, None)
    assert "interrupted while sending" in (message.detail or "")
    outbox.real.advance(timedelta(days=1))
    assert restarted.dispatch() == 0 and outbox.sms.messages() == []


def test_a_send_the_provider_did_not_answer_is_never_repeated(outbox: Outbox) -> None:
    outbox.overdue_orders()
    assert outbox.sender(NoAnswer()).dispatch() == 0
    (message,) = messages(outbox.store)
    assert (message.state, message.retry_at) == ("failed", None) and "unconfirmed" in (message.detail or "")
    outbox.real.advance(timedelta(days=1))
    assert outbox.sender().dispatch() == 0 and outbox.sms.messages() == []


def test_staff_send_a_message_failed_for_good_again_and_only_a_failed_one(outbox: Outbox) -> None:
    outbox.overdue_orders()
    assert outbox.sender(NoAnswer()).dispatch() == 0
    (message,) = messages(outbox.store)
    sender = outbox.sender()
    assert message.state == "failed" and sender.dispatch() == 0  # perhaps sent: never again by itself
    assert sender.resend(message.message_id, "finance")
    assert outbox.states() == [("pending", 1)]
    assert sender.dispatch() == 1
    (again,) = messages(outbox.store)
    assert (again.state, again.attempts, again.detail) == ("sent", 2, "sent again, asked by finance")
    assert [sms.text for sms in outbox.sms.messages()] == [message.text]
    assert not sender.resend(message.message_id, "finance")  # sent: nothing to send again
    assert sender.dispatch() == 0 and len(outbox.sms.messages()) == 1


def test_the_list_filters_by_order_and_state(outbox: Outbox) -> None:
    first, second = outbox.overdue_orders(2)
    outbox.sms.fail_next()
    outbox.sender().dispatch()
    assert len(messages(outbox.store)) == 2
    assert [m.order_id for m in messages(outbox.store, order_id=second)] == [second]
    assert {m.state for m in messages(outbox.store, state="sent")} | {
        m.state for m in messages(outbox.store, state="failed")
    } == {"sent", "failed"}
    assert messages(outbox.store, state="pending") == []
    assert {m.order_id for m in messages(outbox.store)} == {first, second}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_processes_sending_at_once_send_each_message_once(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    clock = SettableClock(START)
    platforms = [bootstrap(url, clock=clock) for _ in range(2)]
    try:
        outbox = Outbox(platforms[0], clock)
        outbox.overdue_orders(4)
        provider = outbox.sms
        senders = []
        for platform in platforms:
            store = ApiStore(platform.views)
            store.setup()
            senders.append(MessageSender(platform.app, store, provider, clock=outbox.real))
        start = threading.Barrier(2)
        sent: list[int] = []

        def send(sender: MessageSender) -> None:
            start.wait()
            sent.append(sender.dispatch())

        threads = [threading.Thread(target=send, args=(sender,)) for sender in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(sent) == 4
        refs = [message.ref for message in provider.messages()]
        assert len(refs) == len(set(refs)) == 4
        assert outbox.states() == [("sent", 1)] * 4
    finally:
        for platform in platforms:
            platform.close()

"""The events that record a request's effect gained the request's id (`request_id`, class version 2) so that the same
request, retried, records nothing more: those stored before, by the code of `tests/fixtures/capture_requests.py`,
load with no request id and replay to the state they had; requests made since are recorded once, whatever the
retries, and a lease keeps them through its snapshots."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from leasecore.application import LeaseApplication
from leasecore.audit import state_of
from leasecore.lease import CallOutcome, Lease
from leasecore.snapshots import TaggedSnapshot
from leasecore.support import Conversation
from tests.unit.test_lease import SIX_DAYS_LATE, overdue_six_days

FIXTURE: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "events_requests_v1.json").read_text(encoding="utf-8")
)
UPCAST = {
    "leasecore.lease.lease:Lease.LateFeeWaived",
    "leasecore.lease.lease:Lease.GoodwillCredited",
    "leasecore.lease.lease:Lease.CallRecorded",
    "leasecore.support:Conversation.CustomerWrote",
    "leasecore.support:Conversation.StaffAnswered",
}


def loaded() -> LeaseApplication:
    app = LeaseApplication()
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(record["originator_id"]),
                originator_version=record["originator_version"],
                topic=record["topic"],
                state=base64.b64decode(record["state"]),
            )
            for record in FIXTURE["records"]
        ]
    )
    return app


def test_the_fixture_holds_each_upcast_event_as_version_1() -> None:
    stored = {record["topic"]: json.loads(base64.b64decode(record["state"])) for record in FIXTURE["records"]}
    assert set(stored) >= UPCAST
    assert all("class_version" not in stored[topic] and "request_id" not in stored[topic] for topic in UPCAST)


def test_events_stored_before_request_ids_load_without_one_and_replay_as_they_did() -> None:
    app = loaded()
    lease_id, conversation_id = UUID(FIXTURE["lease_id"]), UUID(FIXTURE["conversation_id"])
    kinds = ("LateFeeWaived", "GoodwillCredited", "CallRecorded")
    upcast = [event for event in app.events.get(lease_id) if type(event).__name__ in kinds]
    assert [type(event).__name__ for event in upcast] == ["LateFeeWaived", "GoodwillCredited", "CallRecorded"]
    assert all(event.request_id is None for event in upcast)  # type: ignore[attr-defined]

    lease = app.repository.get(lease_id)
    assert isinstance(lease, Lease)
    assert (len(lease.adjustments), lease.calls_recorded, str(lease.owed(SIX_DAYS_LATE))) == (
        FIXTURE["lease"]["adjustments"],
        FIXTURE["lease"]["calls_recorded"],
        FIXTURE["lease"]["owed"],
    )
    assert lease.requests == ()
    conversation = app.repository.get(conversation_id)
    assert isinstance(conversation, Conversation)
    assert (conversation.message_count, conversation.state.value) == (
        FIXTURE["conversation"]["message_count"],
        FIXTURE["conversation"]["state"],
    )
    assert conversation.requests == {}


def test_an_old_lease_and_conversation_take_requests_once_after_their_v1_events() -> None:
    app = loaded()
    lease = app.repository.get(UUID(FIXTURE["lease_id"]))
    request = uuid5(UUID(int=0), "credit")
    for _ in range(3):
        lease.grant_goodwill_credit(D("10.00"), "sorry", "fin-1", SIX_DAYS_LATE, request)
    app.save(lease)
    assert len(app.repository.get(lease.id).adjustments) == FIXTURE["lease"]["adjustments"] + 1

    conversation = app.repository.get(UUID(FIXTURE["conversation_id"]))
    first = conversation.write("Still here?", SIX_DAYS_LATE, request)
    assert conversation.write("Still here?", SIX_DAYS_LATE, request) == first
    app.save(conversation)
    again = app.repository.get(conversation.id)
    assert again.message_count == FIXTURE["conversation"]["message_count"] + 1
    assert again.requests == {request: first}


def requests(kind: str) -> st.SearchStrategy[list[UUID | None]]:
    """Requests of one kind, some repeated, some without an id (a request id names one request: one kind of thing)."""
    return st.lists(st.sampled_from([uuid5(UUID(int=0), f"{kind}-{n}") for n in range(4)] + [None]), max_size=12)


@settings(max_examples=40, deadline=None)
@given(credits=requests("credit"), calls=requests("call"))
def test_each_request_is_recorded_once_and_a_snapshot_keeps_them(
    credits: list[UUID | None], calls: list[UUID | None]
) -> None:
    """However often each request comes, and requests without an id each time: one credit and one call per request,
    and the lease loaded from a snapshot knows the same requests as the lease replayed."""
    lease = overdue_six_days()
    made_at: dict[UUID | None, Any] = {}
    for request in credits:
        lease.grant_goodwill_credit(D("0.01"), "sorry", "fin-1", SIX_DAYS_LATE, request)
    for request in calls:
        at = lease.record_call(CallOutcome.REACHED, "", None, "ops-1", SIX_DAYS_LATE, request)
        made_at.setdefault(request, at)
    distinct = len({r for r in credits if r is not None}) + sum(r is None for r in credits)
    assert len(lease.adjustments) == distinct
    assert lease.calls_recorded == len({r for r in calls if r is not None}) + sum(r is None for r in calls)
    assert {request for request, _ in lease.requests} == {r for r in credits + calls if r is not None}
    assert all(lease.recorded(request) == at for request, at in made_at.items() if request is not None)

    app = LeaseApplication()
    snapshot = app.mapper.to_domain_event(app.mapper.to_stored_event(TaggedSnapshot.take(lease)))
    restored = snapshot.mutate(None)
    assert state_of(restored) == state_of(lease)
    assert restored.recorded(next(iter(made_at), None)) == lease.recorded(next(iter(made_at), None))


def test_a_call_retried_answers_when_it_was_first_recorded() -> None:
    lease = overdue_six_days()
    request = uuid5(UUID(int=0), "call")
    first = lease.record_call(CallOutcome.PROMISED, "Friday", date(2026, 3, 13), "ops-1", SIX_DAYS_LATE, request)
    later = lease.record_call(
        CallOutcome.PROMISED, "Friday", date(2026, 3, 13), "ops-1", SIX_DAYS_LATE.replace(hour=9), request
    )
    assert later == first == SIX_DAYS_LATE and lease.calls_recorded == 1

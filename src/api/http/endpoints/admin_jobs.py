"""Back-office views of the service's background work: the daily job's runs and the outbox of text messages."""

from __future__ import annotations

from api.http.endpoint import Call, Endpoints, staff
from api.http.schemas import admin_jobs as schemas
from api.processes import outbox, scheduler
from leasecore.errors import InvalidState, NotFound
from leasecore.staff import Role

endpoints = Endpoints("back office: jobs")
WATCHERS = staff(Role.OPERATOR, Role.FINANCE, Role.ADMIN)


@endpoints.get(
    "/v1/admin/jobs",
    access=WATCHERS,
    query=schemas.JobsQuery,
    answer=schemas.JobsOut,
    summary="Scheduled jobs and their runs",
)
def jobs(call: Call[None, schemas.JobsQuery]) -> schemas.JobsOut:
    """The daily job the service runs by itself at the billing document's `daily_job_at` (its timezone), once per
    business day across every process, catching up days missed: when it runs next and each day's run, latest
    first, recorded in the database (`api_daily_runs`)."""
    found = scheduler.schedule(call.app, call.service.store, limit=call.query.limit, offset=call.query.offset)
    return schemas.JobsOut(daily=schemas.DailyJobOut.model_validate(found, from_attributes=True))


@endpoints.get(
    "/v1/admin/messages",
    access=WATCHERS,
    query=schemas.MessagesQuery,
    answer=list[schemas.MessageOut],
    summary="The outbox of text messages",
)
def messages(call: Call[None, schemas.MessagesQuery]) -> list[schemas.MessageOut]:
    """Every reminder the platform owes a customer (before a due date, at each collection stage), newest first, and
    what became of it; the reminders the event log holds are taken into the outbox first, so a job's reminders show
    at once."""
    query = call.query
    call.service.messages.collect()
    found = outbox.messages(
        call.service.store, order_id=query.order_id, state=query.state, limit=query.limit, offset=query.offset
    )
    return [schemas.MessageOut.model_validate(message, from_attributes=True) for message in found]


@endpoints.post(
    "/v1/admin/messages/{id}/resend",
    access=WATCHERS,
    answer=schemas.MessageOut,
    summary="Send a failed message again",
)
def resend(call: Call[None, None]) -> schemas.MessageOut:
    """A message `failed` (its attempts spent, or perhaps sent already: `detail` says which) goes out again now, as a
    member of staff decides, knowing the customer may receive it twice; answers the message as it then stands
    (`pending`, or `sent` once the outbox has sent it). 404 for an unknown message, 409 for one that has not
    failed."""
    found = outbox.message(call.service.store, call.id)
    if found is None:
        raise NotFound("message", call.id)
    if not call.service.messages.resend(call.id, call.username):
        raise InvalidState(f"message {call.id}", found.state, "send it again")
    call.service.messages.dispatch()
    again = outbox.message(call.service.store, call.id)
    return schemas.MessageOut.model_validate(again or found, from_attributes=True)

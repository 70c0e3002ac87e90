"""Back-office views of the service's background work: the daily job's runs and the outbox of text messages."""

from __future__ import annotations

from api.http.endpoint import Call, Endpoints, staff
from api.http.schemas import admin_jobs as schemas
from api.processes import outbox, scheduler
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

"""Back-office views of the service's background work: the outbox of text messages."""

from __future__ import annotations

from api.http.endpoint import Call, Endpoints, staff
from api.http.schemas import admin_jobs as schemas
from api.processes import outbox
from leasecore.staff import Role

endpoints = Endpoints("back office: jobs")
WATCHERS = staff(Role.OPERATOR, Role.FINANCE, Role.ADMIN)


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

"""Back-office views of the service's background work: the daily job's schedule and runs, and the outbox of text
messages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from api.http.schemas.common import Answer, PageQuery, Query

MessageState = Literal["pending", "sent", "failed"]
MessageKind = Literal["due", "collection_sms", "collection_call", "collection_agency", "manual"]


class MessagesQuery(Query):
    order_id: UUID | None = None
    state: MessageState | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class MessageOut(Answer):
    """A text message of the outbox: `pending` until the provider took it (`sent`); `failed` is tried again at
    `retry_at`, or never when `retry_at` is null (`detail` says why)."""

    message_id: UUID
    order_id: UUID | None
    phone: str
    kind: MessageKind
    text: str
    state: MessageState
    attempts: int
    created_at: AwareDatetime
    sent_at: AwareDatetime | None
    retry_at: AwareDatetime | None
    detail: str | None


class JobsQuery(PageQuery):
    limit: Annotated[int, Field(ge=1, le=500)] = 30


class DailyRunOut(Answer):
    """One business day's run of the daily job: `running`, `done`, or `failed` (run again; `detail` says why)."""

    day: date
    state: Literal["running", "done", "failed"]
    attempts: int
    process: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    looked_at: int | None
    cancelled: int | None
    assessed: int | None
    stage_changes: int | None
    reminders: int | None
    detail: str | None


class DailyJobOut(Answer):
    """When the service runs the daily job (null until `billing` is configured), the last day done, when it runs
    next, and its runs, latest day first."""

    daily_job_at: str | None
    timezone: str | None
    last_day: date | None
    next_run_at: AwareDatetime | None
    runs: list[DailyRunOut]


class JobsOut(Answer):
    daily: DailyJobOut

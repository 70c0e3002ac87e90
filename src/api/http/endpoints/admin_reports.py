"""Back-office reads and jobs: overdue ledger, credit lines, finance, collections, refunds, audit,
the daily job and the configuration documents."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

import projections.collection_tasks
import projections.credit_lines
import projections.finance
import projections.installments
from api.http import answers, exports
from api.http.endpoint import Call, Endpoints, staff
from api.http.schemas import admin_reports as schemas
from api.http.schemas.common import PageQuery
from api.processes import refunds
from api.replays import related_to, replay_document
from leasecore.audit import replay
from leasecore.errors import InvalidState, NotFound
from leasecore.staff import Role

endpoints = Endpoints("back office: reports")
COLLECTORS = staff(Role.FINANCE, Role.OPERATOR, Role.ADMIN)
CREDIT = staff(Role.RISK, Role.FINANCE, Role.ADMIN)
FINANCE = staff(Role.FINANCE, Role.ADMIN)
ADMIN = staff(Role.ADMIN)
AUDITORS = staff(Role.ADMIN, Role.FINANCE)
CONFIG_READERS = staff(Role.ADMIN, Role.RISK, Role.FINANCE)


class OverdueFileQuery(schemas.CreditLinesQuery, exports.FileQuery):
    """The overdue ledger's filters and the format to answer in."""


class FinanceFileQuery(schemas.FinanceQuery, exports.FileQuery):
    """The finance report's days and the format to answer in."""


class CollectionsFileQuery(PageQuery, exports.FileQuery):
    """The collection tasks' page and the format to answer in."""


class RefundsFileQuery(schemas.RefundsQuery, exports.FileQuery):
    """The refunds' filters and the format to answer in."""


@endpoints.get(
    "/v1/admin/overdue",
    access=COLLECTORS,
    query=OverdueFileQuery,
    answer=list[schemas.OverdueOut],
    errors=(400,),
    summary="The overdue ledger",
)
def overdue(call: Call[None, OverdueFileQuery]) -> list[schemas.OverdueOut] | Response:
    """Installments unpaid past their grace days on orders still paying rent, longest overdue first, their days
    overdue and late fees as of today even before the daily job has run; as a file (`format=csv` or `xlsx`) every
    one the filters match."""
    query = call.query
    if query.format != "json":
        entries = exports.pages(
            lambda limit, offset: answers.overdue_today(
                call.app, call.views, customer_id=query.customer_id, limit=limit, offset=offset
            ),
            query,
            key=lambda entry: (entry.order_id, entry.seq),
        )
        shown = (schemas.OverdueOut.model_validate(entry, from_attributes=True) for entry in entries)
        content = exports.table("overdue", schemas.OverdueOut, shown)
        return exports.download(query.format, content, f"overdue-{call.app.local_today()}")
    rows = answers.overdue_today(
        call.app, call.views, customer_id=query.customer_id, limit=query.limit, offset=query.offset
    )
    return [schemas.OverdueOut.model_validate(row, from_attributes=True) for row in rows]


@endpoints.get(
    "/v1/admin/credit-lines",
    access=CREDIT,
    query=schemas.CreditLinesQuery,
    answer=list[schemas.CreditLineAdminOut],
    summary="Quota balances",
)
def credit_lines(call: Call[None, schemas.CreditLinesQuery]) -> list[schemas.CreditLineAdminOut]:
    """Each customer's quota, reserved and available waiver, level, and whether an overdue order blocks it."""
    query = call.query
    rows = projections.credit_lines.credit_lines(
        call.views, customer_id=query.customer_id, limit=query.limit, offset=query.offset
    )
    return [schemas.CreditLineAdminOut.model_validate(row, from_attributes=True) for row in rows]


@endpoints.get(
    "/v1/admin/reports/finance",
    access=FINANCE,
    query=FinanceFileQuery,
    answer=schemas.FinanceReportOut,
    errors=(400,),
    summary="The finance report",
)
def finance(call: Call[None, FinanceFileQuery]) -> schemas.FinanceReportOut | Response:
    """Deposits held, rent collected, fees and refunds, per day (in the billing timezone) and in total;
    the 30 days to today unless `start` and `end` say otherwise. As a file (`format=csv` or `xlsx`) a row per
    day, after an `opening` row (deposits held before the first day) and before a `total` row."""
    end = call.query.end or call.app.local_today()
    start = call.query.start or min(end, call.app.local_today()) - timedelta(days=29)
    report = projections.finance.finance_report(call.views, min(start, end), end)
    answer = schemas.FinanceReportOut.model_validate(report, from_attributes=True)
    if call.query.format != "json":
        return exports.download(call.query.format, finance_table(answer), f"finance-{answer.start}-{answer.end}")
    return answer


def finance_table(report: schemas.FinanceReportOut) -> exports.Table:
    """The finance report as rows: the opening deposits held, each day's figures, the totals."""
    names = exports.columns(schemas.FinanceFiguresOut)
    opening = [report.opening_deposits_held if name == "deposits_held" else None for name in names]
    days: list[list[object]] = [[day.day, *exports.row(day.figures, names)] for day in report.days]
    rows: list[list[object]] = [["opening", *opening], *days, ["total", *exports.row(report.totals, names)]]
    return exports.Table("finance", ["day", *names], rows)


@endpoints.get(
    "/v1/admin/collections",
    access=COLLECTORS,
    query=CollectionsFileQuery,
    answer=list[schemas.CollectionTaskOut],
    errors=(400,),
    summary="Collection tasks",
)
def collections(call: Call[None, CollectionsFileQuery]) -> list[schemas.CollectionTaskOut] | Response:
    """Orders at the call or agency stage of collections (催收), with whom to call and what is overdue; as a file
    (`format=csv` or `xlsx`) every one of them."""
    query = call.query
    if query.format != "json":
        tasks = exports.pages(
            lambda limit, offset: answers.collection_tasks_today(call.app, call.views, limit=limit, offset=offset),
            query,
            key=lambda task: task.order_id,
        )
        shown = (schemas.CollectionTaskOut.model_validate(task, from_attributes=True) for task in tasks)
        content = exports.table("collections", schemas.CollectionTaskOut, shown)
        return exports.download(query.format, content, f"collections-{call.app.local_today()}")
    rows = answers.collection_tasks_today(call.app, call.views, limit=query.limit, offset=query.offset)
    return [schemas.CollectionTaskOut.model_validate(row, from_attributes=True) for row in rows]


@endpoints.get(
    "/v1/admin/refunds",
    access=FINANCE,
    query=RefundsFileQuery,
    answer=list[schemas.RefundOut],
    errors=(400,),
    summary="Refunds sent to providers",
)
def refund_list(call: Call[None, RefundsFileQuery]) -> list[schemas.RefundOut] | Response:
    """Every refund the platform owes, the payment it goes back to, and what the provider answered; as a file
    (`format=csv` or `xlsx`) every one the filters match."""
    query = call.query
    if query.format != "json":
        records = exports.pages(
            lambda limit, offset: refunds.refunds(call.views, order_id=query.order_id, limit=limit, offset=offset),
            query,
            key=lambda record: record.refund_id,
        )
        shown = (schemas.RefundOut.model_validate(record, from_attributes=True) for record in records)
        content = exports.table("refunds", schemas.RefundOut, shown)
        return exports.download(query.format, content, f"refunds-{call.app.local_today()}")
    rows = refunds.refunds(call.views, order_id=query.order_id, limit=query.limit, offset=query.offset)
    return [schemas.RefundOut.model_validate(row, from_attributes=True) for row in rows]


@endpoints.post(
    "/v1/admin/refunds/{refund_id}/retry",
    access=FINANCE,
    answer=schemas.RefundOut,
    path_types={"refund_id": str},
    summary="Retry a failed refund now",
)
def retry_refund(call: Call[None, None]) -> schemas.RefundOut:
    """Sends a failed refund to its provider again now rather than at its next turn, even after its last attempt,
    under the same refund id (the provider refunds it once however often it is asked); answers the refund as it
    then stands. 404 for an unknown refund, 409 for one that has not failed."""
    refund_id: str = call.path["refund_id"]
    found = refunds.refund(call.views, refund_id)
    if found is None:
        raise NotFound("refund", refund_id)
    if found.state != "failed":
        raise InvalidState(f"refund {refund_id}", found.state, "retry it")
    call.service.refunds.retry(refund_id)
    again = refunds.refund(call.views, refund_id)
    return schemas.RefundOut.model_validate(again or found, from_attributes=True)


@endpoints.get(
    "/v1/admin/audit/{id}",
    access=AUDITORS,
    query=schemas.AuditQuery,
    answer=schemas.AuditOut,
    summary="Replay an aggregate",
)
def audit(call: Call[None, schemas.AuditQuery]) -> schemas.AuditOut:
    """The aggregate's events and its state replayed at `version` or as it stood at instant `at` (an order's id is
    its lease's), and the aggregates it relates to: an order's deposit, credit line, customer, payments and units."""
    found = replay(call.app, call.id, version=call.query.version, at=call.query.at)
    return schemas.AuditOut.model_validate(replay_document(found, related_to(call.app, call.views, found)))


@endpoints.post(
    "/v1/admin/jobs/daily",
    access=ADMIN,
    body=schemas.DailyJob,
    answer=schemas.DailyReportOut,
    summary="Run the daily job",
)
def daily_job(call: Call[schemas.DailyJob, None]) -> schemas.DailyReportOut:
    """Overdue marking, late fees, collection stages and unpaid-order timeouts as of a day (default today);
    idempotent per day."""
    call.service.platform.read_your_writes(call.service.read_timeout)
    report = call.app.run_daily(call.body.as_of)
    call.written()
    return schemas.DailyReportOut.model_validate(report, from_attributes=True)


@endpoints.get(
    "/v1/admin/config/{name}",
    access=CONFIG_READERS,
    answer=schemas.ConfigOut,
    path_types={"name": schemas.ConfigName},
    summary="A configuration document",
)
def get_config(call: Call[None, None]) -> schemas.ConfigOut:
    """The document in force and its version."""
    version, document = call.app.document(call.path["name"])
    return schemas.ConfigOut(name=call.path["name"], version=version, document=document)


@endpoints.put(
    "/v1/admin/config/{name}",
    access=ADMIN,
    body=schemas.ConfigDocument,
    answer=schemas.ConfigOut,
    path_types={"name": schemas.ConfigName},
    rules=schemas.config_rules(),
    summary="Replace a configuration document",
)
def put_config(call: Call[schemas.ConfigDocument, None]) -> schemas.ConfigOut:
    """Validated as a whole (422 names every field in error) and recorded as a new version; orders keep
    the version they were quoted under. The rule language of `scoring-rules` is in docs/scoring-rules.md."""
    name = call.path["name"]
    version = call.app.configure(name, call.body.root, call.username)
    call.written()
    _, document = call.app.document(name, version)
    return schemas.ConfigOut(name=name, version=version, document=document)

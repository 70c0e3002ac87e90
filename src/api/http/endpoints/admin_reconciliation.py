"""Back-office reconciliation: each payment provider's bill of a day against the platform's records."""

from __future__ import annotations

from api.http.endpoint import Call, Endpoints, staff
from api.http.errors import invalid
from api.http.schemas import admin_reconciliation as schemas
from api.processes.reconciliation import ReconciliationRun, UnknownProvider
from leasecore.staff import Role

endpoints = Endpoints("back office: reconciliation")
FINANCE = staff(Role.FINANCE, Role.ADMIN)


@endpoints.get(
    "/v1/admin/reconciliation",
    access=FINANCE,
    query=schemas.ReconciliationQuery,
    answer=schemas.ReconciliationOut,
    errors=(502,),
    rules={"provider": "a configured payment provider that makes bills"},
    summary="What the providers' bills and the records disagree on",
)
def reconciliation(call: Call[None, schemas.ReconciliationQuery]) -> schemas.ReconciliationOut:
    """Each provider's bill of `date` (Beijing time, the providers' day) set against the payments and refunds the
    platform recorded: every difference, money the platform never recorded first. A day already reconciled (by the
    service itself each morning, or by an earlier call) answers as kept; one not yet, or whose bill could not be had,
    is reconciled now."""
    reconciler = call.service.reconciler
    if reconciler is None:
        raise LookupError("this service does not reconcile")
    day = call.query.day
    if day > reconciler.last_day():
        raise invalid(
            "date", f"the bills of {day} are made once the day is over: {reconciler.last_day()} at the latest"
        )
    try:
        runs = reconciler.reconciled(day, call.query.provider)
    except UnknownProvider as error:
        raise invalid("provider", str(error)) from None
    return schemas.ReconciliationOut(date=day, runs=[_run(run) for run in runs], differences=_differences(runs))


def _run(run: ReconciliationRun) -> schemas.RunOut:
    return schemas.RunOut(
        provider=run.provider,
        state=run.state,  # type: ignore[arg-type]
        compared=run.compared,
        differences=len(run.differences),
        ran_at=run.ran_at,
        detail=run.detail,
    )


def _differences(runs: list[ReconciliationRun]) -> list[schemas.DifferenceOut]:
    return [
        schemas.DifferenceOut(
            provider=run.provider,
            kind=found.kind.value,
            record_kind=found.record_kind.value,
            reference=found.reference,
            provider_reference=found.provider_reference,
            platform_amount=found.platform_amount,
            provider_amount=found.provider_amount,
            platform_status=found.platform_status.value if found.platform_status else None,
        )
        for run in runs
        for found in run.differences
    ]

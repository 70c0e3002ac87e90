"""Parcel tracking: the tracking service's signed pushes of where shipped parcels are."""

from __future__ import annotations

from starlette.responses import Response

from api.http.endpoint import PUBLIC, Call, Endpoints, Raw
from api.http.schemas import logistics as schemas
from api.http.schemas.payments import ProviderName

endpoints = Endpoints("logistics")


@endpoints.post(
    "/v1/logistics/notify/{provider}",
    access=PUBLIC,
    body=Raw,
    answer=schemas.PushAnswerOut,
    path_types={"provider": ProviderName},
    summary="A parcel-tracking push",
)
def tracking_push(call: Call[bytes, None]) -> Response:
    """The tracking service's signed push (Kdniao: a form of `RequestData`, `RequestType` 101 and `DataSign`):
    verified (tampered, unsigned or for another account: 400, nothing changed), then each parcel signed for
    confirms the receipt of the order shipped under its tracking number; an order already leasing stays as it is,
    and a tracking number no order was shipped under is acknowledged (and logged). Answered as the service expects
    (`Success: true`). A provider other than the one configured is 404."""
    acknowledgement = call.service.receive_push(call.path["provider"], call.body, call.headers)
    return Response(acknowledgement.body, acknowledgement.status, media_type=acknowledgement.media_type)

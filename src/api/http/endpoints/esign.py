"""Electronic contracts: the e-signature provider's signed callback when a sign flow ends."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.responses import Response

import projections.orders
from api.http.endpoint import PUBLIC, Call, Endpoints, Raw
from api.http.schemas.payments import ProviderName
from leasecore.ports import Acknowledgement

if TYPE_CHECKING:
    from api.bootstrap import Service

endpoints = Endpoints("esign")
log = logging.getLogger(__name__)


@endpoints.post(
    "/v1/esign/notify/{provider}",
    access=PUBLIC,
    body=Raw,
    answer=str,
    path_types={"provider": ProviderName},
    summary="An e-signature provider's callback",
)
def signing_notify(call: Call[bytes, None]) -> Response:
    """The provider's signed callback when a sign flow ends (e签宝: `SIGN_FLOW_COMPLETE`, its signature in
    `X-Tsign-Open-SIGNATURE`): verified (tampered, unsigned or stale: 400, nothing recorded); a completed flow has
    the signed document fetched and the contract recorded with its id and SHA-256, once however often it is called
    back; a flow ended unsigned lets the customer sign again. A flow no order knows is acknowledged and logged."""
    acknowledgement = receive_signing_callback(call.service, call.path["provider"], call.body, call.headers)
    return Response(acknowledgement.body, acknowledgement.status, media_type=acknowledgement.media_type)


def receive_signing_callback(
    service: Service, provider: str, body: bytes, headers: Mapping[str, str]
) -> Acknowledgement:
    """The callback names only the flow: the order is found by the flow the orders read model shows it signing."""
    app = service.app
    outcome = app.verify_signing_callback(provider, body, headers)
    service.written()
    order_id = projections.orders.order_signing(service.views, outcome.flow_id)
    if order_id is None:
        log.warning(
            "%s called back about sign flow %s, which no order is signing: acknowledged", provider, outcome.flow_id
        )
    elif app.complete_signing(order_id, outcome):
        service.written()
    return app.port(app.esign, "e-signature").acknowledgement

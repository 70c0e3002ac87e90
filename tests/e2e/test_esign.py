"""Signing the contract through e签宝 over HTTP: the service, its e-signature port pointed at a loopback e签宝,
answers the sign URL; e签宝's completion callback, posted to the notify route, has the signed file fetched and the
order move on with the file's id and the SHA-256 of the bytes e签宝 served, once however often it calls back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from adapters.esign.esignbao import EsignConfig, EsignSignature
from leasecore.lease import LeaseStatus
from tests.e2e.support import Api, Customer, running
from tests.peers.esign import EsignPeer
from tests.support import START

NOTIFY = "/v1/esign/notify/esign"


@pytest.fixture
def peer() -> Iterator[EsignPeer]:
    with EsignPeer() as peer:
        yield peer
    assert peer.failures == [] and peer.state.refusals == []


@pytest.fixture
def api(peer: EsignPeer) -> Iterator[Api]:
    with running("memory:") as api:
        config = EsignConfig(peer.app_id, peer.app_secret, peer.url, timeout=5)
        api.service.app.esign = EsignSignature(config, clock=api.service.clock)
        yield api


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def approved_order(api: Api) -> tuple[Customer, str]:
    world = api.set_up_world()
    who = api.customer()
    order = api.place(who, api.order_body(world.sku_id))
    api.pay(who, order["id"], "checkout")
    assert api.order(who, order["id"])["status"] == "pending_contract"
    return who, order["id"]


def signing(api: Api, who: Customer, order_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = api.post(f"/v1/orders/{order_id}/contract/sign", 202, who=who)
    return answer


def test_the_callback_records_the_contract_with_the_signed_files_id_and_hash_once(api: Api, peer: EsignPeer) -> None:
    who, order_id = approved_order(api)
    started = signing(api, who, order_id)
    flow_id = started["flow_id"]
    assert started["status"] == "signing" and started["sign_url"].startswith(f"{peer.url}/sign/{flow_id}")
    assert peer.state.flows[flow_id].request["signFlowConfig"]["notifyUrl"].endswith(NOTIFY)
    assert api.order(who, order_id)["status"] == "pending_contract"
    assert signing(api, who, order_id)["flow_id"] == flow_id
    assert len(peer.state.flows) == 1

    body, headers = peer.callback(flow_id, timestamp_ms=ms(START))
    assert api.post(NOTIFY, 200, content=body, headers=headers) == {"code": "200", "msg": "success"}

    order = api.order(who, order_id)
    assert order["status"] == "pending_shipment" and order["contract_id"] == flow_id
    assert order["contract_document_id"] == "file0001-signed"
    assert order["contract_sha256"] == hashlib.sha256(peer.signed_bytes(flow_id)).hexdigest()
    version = api.service.app.lease(UUID(order_id)).version

    assert api.post(NOTIFY, 200, content=body, headers=headers) == {"code": "200", "msg": "success"}
    lease = api.service.app.lease(UUID(order_id))
    assert (lease.version, lease.status) == (version, LeaseStatus.PENDING_SHIPMENT)
    assert api.order(who, order_id) == order


def test_a_tampered_callback_is_refused_and_records_nothing(api: Api, peer: EsignPeer) -> None:
    who, order_id = approved_order(api)
    flow_id = signing(api, who, order_id)["flow_id"]
    body, headers = peer.callback(flow_id, 7, timestamp_ms=ms(START))
    forged = body.replace(b'"signFlowStatus": 7', b'"signFlowStatus": 2')
    problem = api.post(NOTIFY, 400, content=forged, headers=headers)
    assert problem["status"] == 400
    assert api.order(who, order_id)["status"] == "pending_contract"


def test_a_refused_flow_lets_the_customer_sign_again_in_a_new_flow(api: Api, peer: EsignPeer) -> None:
    who, order_id = approved_order(api)
    first = signing(api, who, order_id)["flow_id"]
    body, headers = peer.callback(first, 7, timestamp_ms=ms(START))
    api.post(NOTIFY, 200, content=body, headers=headers)
    assert api.order(who, order_id)["status"] == "pending_contract"
    second = signing(api, who, order_id)["flow_id"]
    assert second != first
    body, headers = peer.callback(second, timestamp_ms=ms(START))
    api.post(NOTIFY, 200, content=body, headers=headers)
    assert api.order(who, order_id)["contract_id"] == second


def test_a_lost_callback_is_made_good_when_the_customer_asks_again(api: Api, peer: EsignPeer) -> None:
    who, order_id = approved_order(api)
    flow_id = signing(api, who, order_id)["flow_id"]
    peer.finish(flow_id)
    signed = api.post(f"/v1/orders/{order_id}/contract/sign", 200, who=who)
    assert signed["contract_id"] == flow_id
    order = api.order(who, order_id)
    assert order["status"] == "pending_shipment"
    assert order["contract_sha256"] == hashlib.sha256(peer.signed_bytes(flow_id)).hexdigest()
    version = api.service.app.lease(UUID(order_id)).version
    body, headers = peer.callback(flow_id, timestamp_ms=ms(START))
    api.post(NOTIFY, 200, content=body, headers=headers)
    assert api.service.app.lease(UUID(order_id)).version == version


def test_a_flow_refused_without_a_callback_is_replaced_when_the_customer_asks_again(api: Api, peer: EsignPeer) -> None:
    who, order_id = approved_order(api)
    first = signing(api, who, order_id)["flow_id"]
    peer.finish(first, 7)
    second = signing(api, who, order_id)["flow_id"]
    assert second != first and len(peer.state.flows) == 2
    assert api.order(who, order_id)["status"] == "pending_contract"


def test_a_callback_for_a_flow_no_order_is_signing_is_acknowledged(
    api: Api, peer: EsignPeer, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = peer.callback("flow-nobody-started", timestamp_ms=ms(START))
    assert api.post(NOTIFY, 200, content=body, headers=headers) == {"code": "200", "msg": "success"}
    assert "flow-nobody-started" in caplog.text


def test_another_providers_name_is_not_found(api: Api, peer: EsignPeer) -> None:
    body, headers = peer.callback("flow0001", timestamp_ms=ms(START))
    api.post("/v1/esign/notify/someone-else", 404, content=body, headers=headers)


def test_the_sandbox_still_signs_at_once() -> None:
    with running("memory:") as api:
        who, order_id = approved_order(api)
        signed = api.post(f"/v1/orders/{order_id}/contract/sign", 200, who=who)
        assert set(signed) == {"contract_id", "signed_at", "document_url"}
        order = api.order(who, order_id)
        assert order["status"] == "pending_shipment" and order["contract_id"] == signed["contract_id"]
        assert order["contract_document_id"] == f"{signed['contract_id']}.pdf" and len(order["contract_sha256"]) == 64


def test_the_openapi_document_describes_the_signed_and_the_signing_answers(api: Api) -> None:
    document = api.get("/openapi.json")
    responses = document["paths"]["/v1/orders/{id}/contract/sign"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ContractOut"}
    assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SigningOut"}
    assert set(document["components"]["schemas"]["SigningOut"]["properties"]) == {"status", "flow_id", "sign_url"}
    callback = document["paths"]["/v1/esign/notify/{provider}"]
    assert callback["post"]["requestBody"]["content"]["application/json"]["example"]["action"] == "SIGN_FLOW_COMPLETE"

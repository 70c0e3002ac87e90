"""The Kdniao adapter against a local Kdniao peer: every request signed (DataSign), queries retried once, subscriptions
never, Kdniao's refusals named; pushes believed only when signed with our AppKey for our account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

from adapters.errors import DeliveryFailed, ProviderError
from adapters.logistics import kdniao
from adapters.logistics.kdniao import SETTINGS, KdniaoConfig, KdniaoLogistics, KdniaoRefused, data_sign, shipper_code
from adapters.logistics.sandbox import SANDBOX_APP_KEY, SandboxLogistics
from leasecore.ports import InvalidSignature
from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest
from tests.peers.kdniao import APP_KEY, E_BUSINESS_ID, KdniaoPeer, Parcel, delivered

CALLBACK = "https://api.leasecore.test/v1/logistics/notify/kdniao"


@pytest.fixture
def peer() -> Iterator[KdniaoPeer]:
    with KdniaoPeer() as peer:
        yield peer
    assert peer.failures == []


def adapter(peer: KdniaoPeer, clock: object = None, timeout: float = 2.0) -> KdniaoLogistics:
    config = KdniaoConfig(E_BUSINESS_ID, APP_KEY, gateway_url=peer.gateway_url, timeout=timeout)
    return KdniaoLogistics(config, clock=clock)  # type: ignore[arg-type]


def test_the_published_data_sign_vector() -> None:
    request_data = "{'OrderCode':'','ShipperCode':'SF','LogisticCode':'118954907573'}"
    assert (
        data_sign(request_data, "56da2cf8-c8a2-44b2-b6fa-476cd7d1ba17")
        == "OWFhM2I5N2ViM2U2MGRkMjc4YzU2NmVlZWI3ZDk0MmE="
    )


def test_carrier_names_map_to_shipper_codes_and_unknown_ones_pass_through() -> None:
    assert [shipper_code(name) for name in ("顺丰速运", "SF Express", " sf ", "京东物流", "中通快递", "EMS")] == [
        "SF",
        "SF",
        "SF",
        "JD",
        "ZTO",
        "EMS",
    ]
    assert shipper_code(" HHTT ") == "HHTT"


def test_a_query_is_signed_and_a_parcel_signed_for_is_delivered(peer: KdniaoPeer) -> None:
    peer.parcels[("SF", "SF1234567890")] = Parcel(
        "3", [("2026-01-31 18:00:00", "深圳 已收取快件"), ("2026-02-01 14:02:11", "北京 已签收")]
    )
    status = adapter(peer).track("顺丰速运", "SF1234567890")

    assert (status.carrier, status.tracking_no, status.delivered) == ("顺丰速运", "SF1234567890", True)
    assert status.events == ("2026-01-31 18:00:00 深圳 已收取快件", "2026-02-01 14:02:11 北京 已签收")
    (form,) = [request.form for request in peer.received]
    assert (form["RequestType"], form["EBusinessID"], form["DataType"]) == ("8001", E_BUSINESS_ID, "2")
    assert json.loads(form["RequestData"]) == {"OrderCode": "", "ShipperCode": "SF", "LogisticCode": "SF1234567890"}


def test_a_parcel_in_transit_is_not_delivered(peer: KdniaoPeer) -> None:
    peer.parcels[("JD", "JD0001")] = Parcel("2", [("2026-01-31 18:00:00", "已揽收")])
    assert adapter(peer).track("京东物流", "JD0001").delivered is False


def test_kdniao_refusing_a_query_is_a_provider_error_naming_its_reason(peer: KdniaoPeer) -> None:
    peer.refuse = "没有可用套餐"
    with pytest.raises(KdniaoRefused, match="没有可用套餐") as refused:
        adapter(peer).track("SF", "SF1")
    assert isinstance(refused.value, ProviderError) and refused.value.reason == "没有可用套餐"
    assert len(peer.received) == 1


def test_a_query_is_asked_once_more_when_kdniao_fails_and_no_more(peer: KdniaoPeer) -> None:
    peer.parcels[("SF", "SF2")] = Parcel("3")
    peer.fail = 1
    assert adapter(peer).track("SF", "SF2").delivered is True
    assert len(peer.received) == 2

    peer.fail = 2
    with pytest.raises(ProviderError, match="HTTP 500"):
        adapter(peer).track("SF", "SF2")
    assert len(peer.received) == 4


def test_a_query_that_times_out_is_asked_once_more_then_fails(peer: KdniaoPeer) -> None:
    peer.delay = 0.5
    with pytest.raises(ProviderError, match="did not answer"):
        adapter(peer, timeout=0.1).track("SF", "SF3")
    assert len(peer.received) == 2


def test_a_subscription_names_the_callback_and_is_never_repeated(peer: KdniaoPeer) -> None:
    logistics = adapter(peer)
    logistics.subscribe("顺丰速运", "SF4", CALLBACK)
    assert peer.subscriptions == {("SF", "SF4"): CALLBACK}
    assert peer.requests("8008") == [
        {"OrderCode": "", "ShipperCode": "SF", "LogisticCode": "SF4", "CallBack": CALLBACK}
    ]

    peer.fail = 1
    with pytest.raises(ProviderError, match="HTTP 500"):
        logistics.subscribe("SF", "SF5", CALLBACK)
    peer.refuse = "单号已订阅"
    with pytest.raises(KdniaoRefused, match="单号已订阅"):
        logistics.subscribe("SF", "SF5", CALLBACK)
    assert len(peer.requests("8008")) == 3


def test_the_free_plan_request_types_can_be_configured(peer: KdniaoPeer, tmp_path: Path) -> None:
    (tmp_path / "kdniao.key").write_text(APP_KEY + "\n")
    settings = {
        "e_business_id": E_BUSINESS_ID,
        "app_key_path": str(tmp_path / "kdniao.key"),
        "gateway_url": peer.gateway_url,
        "query_request_type": "1002",
        "subscribe_request_type": "1008",
        "timeout": "2.5",
    }
    assert SETTINGS.problems(settings) == []
    config = KdniaoConfig.from_settings(settings)
    assert (config.app_key, config.timeout) == (APP_KEY, 2.5)
    logistics = KdniaoLogistics(config)
    peer.parcels[("SF", "SF6")] = Parcel("3")
    assert logistics.track("SF", "SF6").delivered
    logistics.subscribe("SF", "SF6", CALLBACK)
    assert [request.form["RequestType"] for request in peer.received] == ["1002", "1008"]


def test_settings_name_what_is_missing() -> None:
    assert SETTINGS.problems({"gateway_url": "ftp://x"}) == [
        ("e_business_id", "missing"),
        ("app_key_path", "missing"),
        ("gateway_url", "must be an http(s) URL"),
    ]
    with pytest.raises(ValueError, match="timeout"):
        KdniaoConfig.from_settings({"e_business_id": "1", "app_key": "k", "timeout": "soon"})


def test_a_signed_push_reports_its_parcels(peer: KdniaoPeer) -> None:
    body = peer.push(delivered("SF", "SF7"), delivered("JD", "JD8", state="2"))
    statuses = adapter(peer).verify_push(body, {})
    assert [(s.carrier, s.tracking_no, s.delivered) for s in statuses] == [("SF", "SF7", True), ("JD", "JD8", False)]
    assert statuses[0].events[-1] == "2026-02-01 14:02:11 【北京市】已签收，签收人：本人"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda peer: tamper(peer.push(delivered("SF", "SF9"))), id="tampered"),
        pytest.param(lambda peer: peer.push(delivered("SF", "SF9"), app_key="another-key"), id="wrong key"),
        pytest.param(lambda peer: peer.push(delivered("SF", "SF9"), e_business_id="999"), id="another account"),
        pytest.param(lambda peer: drop(peer.push(delivered("SF", "SF9")), "DataSign"), id="unsigned"),
        pytest.param(lambda peer: b"\xff\xfe", id="not a form"),
        pytest.param(lambda peer: resign(peer, "[1, 2]"), id="not an object"),
        pytest.param(lambda peer: resign(peer, '{"EBusinessID": "1237100", "Data": [3]}'), id="no parcels"),
    ],
)
def test_a_push_not_signed_by_our_key_for_our_account_is_refused(peer: KdniaoPeer, forge: object) -> None:
    body = forge(peer)  # type: ignore[operator]
    with pytest.raises(InvalidSignature):
        adapter(peer).verify_push(body, {})


def test_a_push_is_answered_as_kdniao_expects(peer: KdniaoPeer, clock: object) -> None:
    acknowledgement = adapter(peer, clock).push_acknowledgement()
    assert (acknowledgement.status, acknowledgement.media_type) == (200, "application/json")
    assert json.loads(acknowledgement.body) == {
        "EBusinessID": E_BUSINESS_ID,
        "UpdateTime": "2026-01-31 10:00:00",
        "Success": True,
        "Reason": "",
    }


def test_the_sandbox_carrier_pushes_each_move_of_a_subscribed_parcel(clock: object) -> None:
    pushed: list[bytes] = []
    sandbox = SandboxLogistics(clock, deliver=lambda body, headers: pushed.append(body))  # type: ignore[arg-type]
    sandbox.mark_picked_up("SF Express", "SF10")
    sandbox.subscribe("SF Express", "SF10", CALLBACK)
    sandbox.mark_in_transit("SF Express", "SF10", "Shanghai hub")
    sandbox.mark_delivered("SF Express", "SF10", "Beijing")

    assert sandbox.subscriber("sf express", "sf10") == CALLBACK
    reported = [sandbox.verify_push(body, {}) for body in pushed]
    assert [[(s.tracking_no, s.delivered) for s in statuses] for statuses in reported] == [
        [("SF10", False)],
        [("SF10", True)],
    ]
    assert reported[-1][0].events[-1] == "2026-01-31 10:00:00 delivered Beijing"
    assert kdniao.read_push(pushed[-1], "sandbox", SANDBOX_APP_KEY) == reported[-1]
    with pytest.raises(InvalidSignature):
        kdniao.read_push(pushed[-1], "sandbox", APP_KEY)


def tamper(body: bytes) -> bytes:
    form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    form["RequestData"] = form["RequestData"].replace('"State": "3"', '"State": "2"').replace("SF9", "SF0")
    return urlencode(form).encode()


def drop(body: bytes, name: str) -> bytes:
    form = {key: values[0] for key, values in parse_qs(body.decode()).items() if key != name}
    return urlencode(form).encode()


def resign(peer: KdniaoPeer, request_data: str) -> bytes:
    sign = kdniao.data_sign(request_data, peer.app_key)
    return urlencode({"RequestData": request_data, "RequestType": "101", "DataSign": sign}).encode()


def test_sf_parcels_carry_the_warehouse_phone_digits_when_configured(peer: KdniaoPeer) -> None:
    config = KdniaoConfig.from_settings(
        {
            "e_business_id": E_BUSINESS_ID,
            "app_key": APP_KEY,
            "gateway_url": peer.gateway_url,
            "sf_customer_name": "6688",
        }
    )
    logistics = KdniaoLogistics(config)
    peer.parcels[("SF", "SF11")] = Parcel("3")
    peer.parcels[("JD", "JD11")] = Parcel("3")
    logistics.track("顺丰速运", "SF11")
    logistics.track("京东物流", "JD11")
    logistics.subscribe("SF", "SF11", CALLBACK)
    sent = [json.loads(request.form["RequestData"]) for request in peer.received]
    assert [request.get("CustomerName") for request in sent] == ["6688", None, "6688"]
    adapter(peer).track("SF", "SF11")
    assert "CustomerName" not in json.loads(peer.received[-1].form["RequestData"])


def test_the_sandbox_carrier_posts_its_push_to_the_callback_when_not_handed_in_process(clock: object) -> None:
    with LoopbackPeer() as service:
        taken: list[bytes] = []

        @service.route("POST", "/v1/logistics/notify/sandbox")
        def notify(request: PeerRequest) -> PeerAnswer:
            taken.append(request.body)
            return PeerAnswer(200 if len(taken) == 1 else 503)

        sandbox = SandboxLogistics(clock)  # type: ignore[arg-type]
        sandbox.subscribe("SF", "SF12", service.url + "/v1/logistics/notify/sandbox")
        sandbox.mark_in_transit("SF", "SF12")
        with pytest.raises(DeliveryFailed, match="HTTP 503"):
            sandbox.mark_delivered("SF", "SF12")
    assert [status.delivered for body in taken for status in sandbox.verify_push(body, {})] == [False, True]
    assert sandbox.track("SF", "SF12").delivered  # the parcel moved; only the push failed

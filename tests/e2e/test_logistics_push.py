"""A parcel signed for starts the lease without the customer's tap: the tracking service's signed push to
`POST /v1/logistics/notify/{provider}` (Kdniao, against a local peer), or, when the push never came, the sweep asking
about parcels out for more than a day. Tampered pushes are 400 and change nothing; a second push changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from api.bootstrap import Settings, build_service
from api.processes.parcels import ParcelWatcher
from leasecore.clock import SettableClock
from leasecore.lease.lease import LeaseStatus
from leasecore.staff import Role
from projections.orders import order
from tests.e2e.support import Api, running
from tests.peers.kdniao import APP_KEY, E_BUSINESS_ID, KdniaoPeer, Parcel, delivered
from tests.support import START, World, build_world

NOTIFY = "/v1/logistics/notify/kdniao"
FORM = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}


@pytest.fixture
def peer() -> Iterator[KdniaoPeer]:
    with KdniaoPeer() as peer:
        yield peer
    assert peer.failures == []


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def api(database_url: str, peer: KdniaoPeer) -> Iterator[Api]:
    """Production mode with Kdniao at the peer (and the sandbox kind for payments, which this does not exercise), on
    each database."""
    providers = {
        "payments": {"sandbox": {"kind": "sandbox"}},
        "logistics": {
            "kind": "kdniao",
            "e_business_id": E_BUSINESS_ID,
            "app_key": APP_KEY,
            "gateway_url": peer.gateway_url,
        },
    }
    settings = Settings(
        database_url=database_url, mode="production", providers=providers, public_url="https://api.leasecore.test"
    )
    api = Api(build_service(settings, clock=SettableClock(START)))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def world(api: Api) -> World:
    clock = api.service.clock
    assert isinstance(clock, SettableClock)
    return build_world(api.service.app, clock)


def shipped(api: Api, world: World, tracking_no: str, carrier: str = "顺丰速运") -> UUID:
    """An order paid, approved, signed and shipped under `tracking_no`, shown by the read models."""
    app = world.app
    order_id = app.place_order(world.customer(), world.request())
    app.pay_checkout(order_id, f"checkout-{order_id}", app.lease(order_id).due_now, world.clock.now())
    if app.lease(order_id).status is LeaseStatus.PENDING_REVIEW:
        app.approve(order_id, "reviewer", "ok")
    app.record_contract(order_id, f"contract-{order_id}")
    app.ship(order_id, list(app.units_held(order_id)), carrier, tracking_no)
    api.service.written()
    return order_id


def status(api: Api, order_id: UUID) -> str:
    view = order(api.service.views, order_id)
    assert view is not None
    return view.status


def test_a_signed_push_of_a_parcel_signed_for_starts_the_lease_once(api: Api, world: World, peer: KdniaoPeer) -> None:
    order_id = shipped(api, world, "SF1000000001")
    sweep = api.service.parcels.sweep()
    assert sweep.subscribed == [order_id]
    assert peer.subscriptions == {("SF", "SF1000000001"): "https://api.leasecore.test/v1/logistics/notify/kdniao"}

    body = peer.push(delivered("SF", "SF1000000001"))
    answer = api.post(NOTIFY, 200, content=body, headers=FORM)
    assert answer == {"EBusinessID": E_BUSINESS_ID, "UpdateTime": "2026-01-31 10:00:00", "Success": True, "Reason": ""}
    assert status(api, order_id) == "leasing"
    version = api.service.app.lease(order_id).version

    api.post(NOTIFY, 200, content=body, headers=FORM)
    assert api.service.app.lease(order_id).version == version
    assert api.service.parcels.sweep().subscribed == []


def test_a_tampered_or_foreign_push_is_400_and_changes_nothing(api: Api, world: World, peer: KdniaoPeer) -> None:
    order_id = shipped(api, world, "SF1000000002")
    signed = peer.push(delivered("SF", "SF1000000002", state="2"))
    tampered = signed.replace(b"%22State%22%3A+%222%22", b"%22State%22%3A+%223%22")
    assert tampered != signed
    for body in (tampered, peer.push(delivered("SF", "SF1000000002"), app_key="not-our-key")):
        problem = api.post(NOTIFY, 400, content=body, headers=FORM)
        assert problem["type"] == "/problems/invalid-signature"
    assert status(api, order_id) == "shipped"


def test_a_push_in_transit_or_for_no_order_is_acknowledged_and_changes_nothing(
    api: Api, world: World, peer: KdniaoPeer
) -> None:
    order_id = shipped(api, world, "SF1000000003")
    body = peer.push(delivered("SF", "SF1000000003", state="2"), delivered("SF", "SF9999999999"))
    assert api.post(NOTIFY, 200, content=body, headers=FORM)["Success"] is True
    assert status(api, order_id) == "shipped"


def test_a_push_for_a_provider_not_configured_is_404(api: Api, peer: KdniaoPeer) -> None:
    body = peer.push(delivered("SF", "SF1"))
    assert api.post("/v1/logistics/notify/sandbox", 404, content=body, headers=FORM)["type"] == "/problems/not-found"


def test_a_refused_subscription_does_not_stop_the_shipment_and_is_tried_again_later(
    api: Api, world: World, peer: KdniaoPeer
) -> None:
    peer.refuse = "套餐余额不足"
    order_id = shipped(api, world, "SF1000000004")
    assert status(api, order_id) == "shipped"
    sweep = api.service.parcels.sweep()
    assert sweep.subscribed == [] and "套餐余额不足" in sweep.errors[order_id]

    assert api.service.parcels.sweep().errors == {}  # not again at once
    assert len(peer.requests("8008")) == 1
    peer.refuse = None
    world.clock.advance(timedelta(minutes=10))
    assert api.service.parcels.sweep().subscribed == [order_id]
    assert peer.subscriptions == {("SF", "SF1000000004"): "https://api.leasecore.test/v1/logistics/notify/kdniao"}


def test_the_sweep_asks_about_parcels_out_a_day_and_confirms_those_signed_for(
    api: Api, world: World, peer: KdniaoPeer
) -> None:
    arrived = shipped(api, world, "SF1000000005")
    on_the_way = shipped(api, world, "JD1000000006", carrier="京东物流")
    peer.parcels[("SF", "SF1000000005")] = Parcel("3", [("2026-02-01 14:02:11", "已签收")])
    peer.parcels[("JD", "JD1000000006")] = Parcel("2", [("2026-01-31 18:00:00", "运输中")])

    world.clock.advance(timedelta(hours=23))
    assert api.service.parcels.sweep().asked == []
    assert peer.requests("8001") == []

    world.clock.advance(timedelta(hours=2))
    sweep = api.service.parcels.sweep()
    api.service.written()
    assert sorted(sweep.asked) == sorted([arrived, on_the_way]) and sweep.delivered == [arrived]
    assert (status(api, arrived), status(api, on_the_way)) == ("leasing", "shipped")

    world.clock.advance(timedelta(hours=1))
    assert api.service.parcels.sweep().asked == []  # asked again only every 6 hours
    peer.parcels[("JD", "JD1000000006")] = Parcel("3")
    world.clock.advance(timedelta(hours=5))
    assert api.service.parcels.sweep().delivered == [on_the_way]


def test_the_sandbox_carrier_pushes_a_parcel_signed_for_itself(sqlite_url: str) -> None:
    with running(sqlite_url) as sandbox:
        world = sandbox.set_up_world()
        who = sandbox.customer()
        placed = sandbox.place(who, sandbox.order_body(world.sku_id))
        sandbox.pay(who, placed["id"], "checkout")
        sandbox.post(f"/v1/orders/{placed['id']}/contract/sign", who=who)
        shipment = {"unit_serial": sandbox.free_serial(world.sku_id), "carrier": "SF Express", "tracking_no": "SF7"}
        sandbox.post(f"/v1/admin/orders/{placed['id']}/ship", who=sandbox.staff(Role.OPERATOR), json=shipment)
        assert sandbox.service.parcels.sweep().subscribed == [UUID(placed["id"])]

        move = {"carrier": "SF Express", "tracking_no": "SF7", "stage": "delivered", "location": "Beijing"}
        sandbox.post("/v1/sandbox/parcels", json=move)
        assert sandbox.order(who, placed["id"])["status"] == "leasing"


def test_production_with_kdniao_no_longer_warns_that_logistics_is_a_sandbox(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    (warning,) = [r.getMessage() for r in caplog.get_records("setup") if "still on the local sandbox" in r.getMessage()]
    assert warning.startswith("production mode: payments.sandbox, sms, bureau, identity, esign still on")


def test_two_processes_sweeping_at_once_subscribe_a_parcel_once(api: Api, world: World, peer: KdniaoPeer) -> None:
    order_id = shipped(api, world, "SF1000000008")
    service = api.service
    other = ParcelWatcher(service.app, service.views, service.store, callback_url=lambda provider: "https://other")
    peer.delay = 0.5
    first = threading.Thread(target=service.parcels.sweep)
    first.start()
    time.sleep(0.2)
    assert other.sweep().subscribed == []
    first.join()
    assert len(peer.requests("8008")) == 1 and peer.subscriptions[("SF", "SF1000000008")].startswith("https://api.")
    assert order_id not in other.sweep().subscribed

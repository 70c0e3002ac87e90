"""The views staff need (contract 1.1) over HTTP: a SKU's units through an order's life, customers found by
phone, name or id, an order with its address and customer, the settlement statement, and what an audit relates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, World, running

SHANGHAI = timezone(timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


class StaffViews:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def api(self, database_url: str) -> Iterator[Api]:
        with running(database_url) as api:
            yield api

    @pytest.fixture
    def world(self, api: Api) -> World:
        return api.set_up_world()

    def units(self, api: Api, world: World) -> dict[str, tuple[str, str | None]]:
        answer = api.get(f"/v1/admin/skus/{world.sku_id}/units", who=api.staff(Role.OPERATOR))
        assert [unit["serial"] for unit in answer] == sorted(world.serials)
        return {unit["serial"]: (unit["status"], unit["order_id"]) for unit in answer}

    def test_a_units_state_follows_its_order_from_booking_to_return_and_a_buyout_sells_one(
        self, api: Api, world: World
    ) -> None:
        assert set(self.units(api, world).values()) == {("available", None)}
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id, {"kind": "long", "months": 6}))
        oid = order["id"]
        units = self.units(api, world)
        [serial] = [serial for serial, (status, _) in units.items() if status == "booked"]
        assert units[serial] == ("booked", oid)
        assert list(units.values()).count(("available", None)) == 4

        api.pay(who, oid, "checkout")
        api.post(f"/v1/orders/{oid}/contract/sign", who=who)
        assert self.units(api, world)[serial] == ("booked", oid)
        operator = api.staff(Role.OPERATOR)
        shipment = {"unit_serial": serial, "carrier": "SF Express", "tracking_no": "SF-UNITS"}
        api.post(f"/v1/admin/orders/{oid}/ship", who=operator, json=shipment)
        assert self.units(api, world)[serial] == ("leased", oid)
        api.post(f"/v1/orders/{oid}/receipt", who=who)
        assert self.units(api, world)[serial] == ("leased", oid)

        api.pay(who, oid, "installments", amount="1500.00")
        api.move_clock(local(2026, 7, 25))
        api.post(f"/v1/orders/{oid}/end-of-term", who=who, json={"choice": "return", "tracking_no": "SF-BACK"})
        assert self.units(api, world)[serial] == ("returning", oid)
        api.post(f"/v1/admin/orders/{oid}/returned", who=operator)
        assert self.units(api, world)[serial] == ("inspecting", oid)
        api.post(f"/v1/admin/orders/{oid}/inspection", who=operator, json={"damage_fee": "0.00"})
        assert self.units(api, world)[serial] == ("available", None)

        bought = api.leasing(who, api.order_body(world.sku_id))
        [sold] = [serial for serial, (_, order_id) in self.units(api, world).items() if order_id == bought["id"]]
        api.pay(who, bought["id"], "buyout")
        assert api.order(who, bought["id"])["status"] == "settled"
        units = self.units(api, world)
        assert units[sold] == ("sold", bought["id"])
        assert sorted(status for status, _ in units.values()) == ["available"] * 4 + ["sold"]

    def test_units_of_an_unknown_sku_are_404_and_other_roles_are_refused(self, api: Api, world: World) -> None:
        unknown = "00000000-0000-0000-0000-000000000001"
        assert api.get(f"/v1/admin/skus/{unknown}/units", 404, who=api.staff(Role.ADMIN))["type"] == (
            "/problems/not-found"
        )
        for role in (Role.RISK, Role.FINANCE):
            api.get(f"/v1/admin/skus/{world.sku_id}/units", 403, who=api.staff(role))


class TestOnSQLite(StaffViews):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(StaffViews):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url


def figures(document: dict[str, Any], *names: str) -> tuple[D, ...]:
    return tuple(D(document[name]) for name in names)

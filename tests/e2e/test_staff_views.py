"""The views staff need (contract 1.1) over HTTP: a SKU's units through an order's life, customers found by
phone, name or id, an order with its address and customer, the settlement statement, and what an audit relates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, figures, id_number, running
from tests.support import local


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
        statement = api.order(who, bought["id"])["settlement"]
        assert (statement["damage_fee"], statement["liability"]) == (None, None)
        assert figures(statement, "deposit_paid", "buyout_deducted", "deposit_refunded", "waiver_released") == (
            D("500.00"),
            D("500.00"),
            D("0.00"),
            D("2500.00"),
        )

    def test_units_of_an_unknown_sku_are_404_and_other_roles_are_refused(self, api: Api, world: World) -> None:
        unknown = "00000000-0000-0000-0000-000000000001"
        assert api.get(f"/v1/admin/skus/{unknown}/units", 404, who=api.staff(Role.ADMIN))["type"] == (
            "/problems/not-found"
        )
        for role in (Role.RISK, Role.FINANCE):
            api.get(f"/v1/admin/skus/{world.sku_id}/units", 403, who=api.staff(role))

    def named(self, api: Api, name: str, score: int, n: int) -> Customer:
        """A customer logged in, verified under `name` and scored."""
        who = api.customer(verified=False, score=None)
        who.id_number = id_number(500 + n)
        identity = {"name": name, "id_number": who.id_number, "id_card_image": "aWQ=", "selfie_image": "bWU="}
        assert api.post("/v1/me/identity", who=who, json=identity)["status"] == "verified"
        api.post("/v1/sandbox/credit-scores", json={"id_number": who.id_number, "score": score})
        api.post("/v1/me/credit", who=who, json={})
        return who

    def test_staff_find_customers_by_phone_name_or_id_with_their_credit_and_open_orders(
        self, api: Api, world: World
    ) -> None:
        li = self.named(api, "Li Lei", 720, 1)
        han = self.named(api, "Han Meimei", 780, 2)
        newcomer = api.customer(verified=False, score=None)
        order = api.place(li, api.order_body(world.sku_id))
        api.place(li, api.order_body(world.sku_id, deposit_mode="full"))
        staff = api.staff(Role.OPERATOR)

        def find(q: str | None = None, **params: Any) -> list[dict[str, Any]]:
            answer: list[dict[str, Any]] = api.get(
                "/v1/admin/customers", who=staff, params={**({"q": q} if q is not None else {}), **params}
            )
            return answer

        everyone = find()
        assert {c["customer_id"] for c in everyone} == {str(who.customer_id) for who in (li, han, newcomer)}
        row = next(c for c in everyone if c["customer_id"] == str(li.customer_id))
        assert (row["phone"], row["name"], row["identity_status"], row["score"], row["level"]) == (
            li.phone,
            "Li Lei",
            "verified",
            720,
            "B",
        )
        assert figures(row, "quota", "reserved", "available") == (D("5000.00"), D("2500.00"), D("2500.00"))
        assert (row["open_orders"], row["orders_placed"]) == (2, 2)
        fresh = next(c for c in everyone if c["customer_id"] == str(newcomer.customer_id))
        assert (fresh["identity_status"], fresh["name"], fresh["score"], fresh["level"], fresh["quota"]) == (
            "unverified",
            None,
            None,
            None,
            "0.00",
        )

        assert [c["customer_id"] for c in find(li.phone)] == [str(li.customer_id)]
        assert {c["customer_id"] for c in find(li.phone[:3])} == {str(who.customer_id) for who in (li, han, newcomer)}
        assert [c["name"] for c in find("meimei")] == ["Han Meimei"]
        assert [c["name"] for c in find("LI L")] == ["Li Lei"]
        assert [c["customer_id"] for c in find(str(han.customer_id)[:8])] == [str(han.customer_id)]
        assert [c["customer_id"] for c in find(str(han.customer_id)[:8].upper())] == [str(han.customer_id)]
        assert find("%") == [] and find("nobody") == []
        paged = api.http.get("/v1/admin/customers", headers=staff, params={"limit": 1, "offset": 1})
        assert paged.headers["X-Total-Count"] == "3" and paged.json() == everyone[1:2]

        api.post(f"/v1/orders/{order['id']}/cancel", who=li, json={})
        row = find(li.phone)[0]
        assert figures(row, "reserved", "available") == (D("0.00"), D("5000.00"))
        assert (row["open_orders"], row["orders_placed"]) == (1, 2)

        detail = api.get(f"/v1/admin/customers/{li.customer_id}", who=api.staff(Role.RISK))
        assert (detail["name"], detail["open_orders"]) == ("Li Lei", 1)
        assert figures(detail["credit_line"], "quota", "reserved", "available") == (
            D("5000.00"),
            D("0.00"),
            D("5000.00"),
        )
        statuses = {o["id"]: o["status"] for o in detail["orders"]}
        assert len(statuses) == 2 and statuses[order["id"]] == "cancelled"
        assert sorted(statuses.values()) == ["cancelled", "pending_payment"]
        newcomers = api.get(f"/v1/admin/customers/{newcomer.customer_id}", who=api.staff(Role.FINANCE))
        assert (newcomers["credit_line"], newcomers["orders"]) == (None, [])
        api.get(f"/v1/admin/customers/{world.sku_id}", 404, who=staff)
        api.get("/v1/admin/customers", 403, who=li)
        api.get(f"/v1/admin/customers/{li.customer_id}", 403, who=li)
        api.get("/v1/admin/customers", 422, who=staff, params={"q": "x" * 65})

    def test_staff_see_an_orders_delivery_address_and_who_placed_it(self, api: Api, world: World) -> None:
        who = api.customer()
        address = {"name": "Li Lei", "phone": "13700000000", "line": "9 Delivery Road, Shanghai"}
        order = api.place(who, api.order_body(world.sku_id, address=address))
        detail = api.get(f"/v1/admin/orders/{order['id']}", who=api.staff(Role.FINANCE))
        assert detail["address"] == address
        assert detail["customer"] == {"customer_id": str(who.customer_id), "name": "Han Meimei", "phone": who.phone}
        assert detail["adjustments"] == []
        staff_only = ("address", "customer", "adjustments")
        assert {k: v for k, v in detail.items() if k not in staff_only} == api.order(who, order["id"])
        assert "address" not in api.order(who, order["id"]) and detail["settlement"] is None
        api.get(f"/v1/admin/orders/{world.sku_id}", 404, who=api.staff(Role.ADMIN))

    def test_a_damaged_late_return_settles_with_a_statement_that_adds_up(self, api: Api, world: World) -> None:
        """Short-term 1–7 February with protection (liability at most 300.00), shipped back 3 days late: the
        inspector sets 1200.00 of damage; the deposit paid (500.00 of 3000.00, 2500.00 waived) pays the 300.00
        liability and 3 × 20.00 of late-return rent, and the rest is refunded."""
        who = api.customer()
        dates = {"kind": "short", "start": "2026-02-01", "end": "2026-02-07"}
        order = api.leasing(who, api.order_body(world.sku_id, dates, protection=True))
        oid = order["id"]
        assert figures(order, "deposit", "waiver", "deposit_due") == (D("3000.00"), D("2500.00"), D("500.00"))
        api.move_clock(local(2026, 2, 10))
        api.post(f"/v1/orders/{oid}/end-of-term", who=who, json={"choice": "return", "tracking_no": "SF-LATE"})
        operator = api.staff(Role.OPERATOR)
        api.post(f"/v1/admin/orders/{oid}/returned", who=operator)
        assert api.order(who, oid)["settlement"] is None
        settled = api.post(
            f"/v1/admin/orders/{oid}/inspection", who=operator, json={"damage_fee": "1200.00", "notes": "cracked"}
        )
        assert settled["status"] == "settled"
        statement = api.order(who, oid)["settlement"]
        assert statement == settled["settlement"]
        assert statement == api.get(f"/v1/admin/orders/{oid}", who=api.staff(Role.FINANCE))["settlement"]
        assert datetime.fromisoformat(statement["settled_at"]) == local(2026, 2, 10)
        names = (
            "damage_fee",
            "liability",
            "deposit_paid",
            "rent_deducted",
            "fees_deducted",
            "damage_deducted",
            "buyout_deducted",
            "deposit_refunded",
            "waiver_released",
            "credit_refunded",
        )
        assert figures(statement, *names) == (
            D("1200.00"),
            D("300.00"),
            D("500.00"),
            D("60.00"),
            D("0.00"),
            D("300.00"),
            D("0.00"),
            D("140.00"),
            D("2500.00"),
            D("0.00"),
        )
        paid, *parts, refunded = figures(statement, "deposit_paid", *names[3:7], "deposit_refunded")
        assert paid == sum(parts, D(0)) + refunded
        assert [(r["amount"], r["reason"]) for r in api.refunds(oid)] == [("140.00", "deposit refunded: settled")]
        line = api.get("/v1/me/credit-line", who=who)
        assert figures(line, "reserved", "available") == (D("0.00"), D("5000.00"))

    def test_an_orders_audit_relates_its_deposit_credit_line_customer_payments_and_unit(
        self, api: Api, world: World
    ) -> None:
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        oid = order["id"]
        failed = api.pay(who, oid, "checkout", outcome="fail")
        checkout = api.pay(who, oid, "checkout")
        [serial] = [
            unit["serial"]
            for unit in api.get(f"/v1/admin/skus/{world.sku_id}/units", who=api.staff(Role.OPERATOR))
            if unit["order_id"] == oid
        ]
        auditor = api.staff(Role.FINANCE)
        audit = api.get(f"/v1/admin/audit/{oid}", who=auditor)
        kinds = [(item["kind"], item["aggregate_id"]) for item in audit["related"]]
        assert [kind for kind, _ in kinds] == ["deposit", "credit_line", "customer", "payment", "payment", "stock_unit"]
        assert kinds[2] == ("customer", str(who.customer_id))
        assert {aggregate for kind, aggregate in kinds if kind == "payment"} == {
            checkout["payment_id"],
            failed["payment_id"],
        }
        types = {
            kind: api.get(f"/v1/admin/audit/{aggregate}", who=auditor)["aggregate_type"] for kind, aggregate in kinds
        }
        assert types == {
            "deposit": "Deposit",
            "credit_line": "CreditLine",
            "customer": "Customer",
            "payment": "Payment",
            "stock_unit": "StockUnit",
        }
        deposit = api.get(f"/v1/admin/audit/{kinds[0][1]}", who=auditor)
        assert deposit["related"] == [{"aggregate_id": oid, "kind": "order"}]
        assert deposit["events"][1]["fields"]["amount"] == "500.00"
        payment = api.get(f"/v1/admin/audit/{checkout['payment_id']}", who=auditor)
        assert payment["related"] == [
            {"aggregate_id": oid, "kind": "order"},
            {"aggregate_id": str(who.customer_id), "kind": "customer"},
        ]
        unit = api.get(f"/v1/admin/audit/{kinds[-1][1]}", who=auditor)
        assert unit["state"]["unit"]["serial"] == serial
        assert {"aggregate_id": oid, "kind": "order"} in unit["related"]


class TestOnSQLite(StaffViews):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(StaffViews):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

"""Finance's adjustments over HTTP (contract 1.1): part of a late fee waived and a goodwill credit granted change what
is owed, what a payment asks for, the overdue ledger and the finance report by exactly their amounts, the credit
apart from the money received; only finance and admin may make them, and bad ones are refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, figures, money, running
from tests.support import local

ROUTE = "/v1/admin/orders/{}/adjustments"
WAIVER = {"kind": "waive_late_fee", "seq": 2, "amount": "0.50", "reason": "first time late"}
CREDIT = {"kind": "goodwill_credit", "amount": "100.00", "reason": "the courier lost a week"}




class Adjustments:
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

    def six_days_overdue(self, api: Api, world: World) -> tuple[Customer, str]:
        """A 12-month lease whose installment 2 (200.00, due 28 February) is 6 days overdue on 9 March: 1.20 of
        fees."""
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))
        api.move_clock(local(2026, 3, 9))
        assert api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})["assessed"] == [order["id"]]
        return who, order["id"]

    def asked(self, api: Api, who: Customer, order_id: str) -> D:
        """What an installments payment asks for by default: everything due now."""
        payment = api.post(f"/v1/orders/{order_id}/payments", 201, who=who, json={"purpose": "installments"})
        return money(payment["amount"])

    def finance_day(self, api: Api, day: str = "2026-03-09") -> dict[str, Any]:
        """The finance report's figures for one day (all zeros when nothing was booked on it)."""
        report = api.get("/v1/admin/reports/finance", who=api.staff(Role.FINANCE), params={"start": day, "end": day})
        totals: dict[str, Any] = report["totals"]
        return totals

    def overdue_fees(self, api: Api) -> list[tuple[str, int, int, str]]:
        ledger = api.get("/v1/admin/overdue", who=api.staff(Role.FINANCE))
        return [(row["order_id"], row["seq"], row["days_overdue"], row["late_fee"]) for row in ledger]

    def test_part_of_a_late_fee_waived_and_a_goodwill_credit_change_every_figure_by_exactly_their_amounts(
        self, api: Api, world: World
    ) -> None:
        who, oid = self.six_days_overdue(api, world)
        second = api.get(f"/v1/orders/{oid}/installments", who=who)[1]
        assert figures(second, "late_fee", "owed", "fee_waived", "credited") == (
            D("1.20"),  # 6 days × 200.00 × 0.001
            D("201.20"),
            D("0.00"),
            D("0.00"),
        )
        assert self.asked(api, who, oid) == D("201.20")
        assert self.overdue_fees(api) == [(oid, 2, 6, "1.20")]
        before = self.finance_day(api)
        assert figures(before, "fees_waived", "goodwill_credit", "payments_received") == (D("0"), D("0"), D("0"))

        finance = api.staff(Role.FINANCE, username="fin-li")
        waived = api.post(ROUTE.format(oid), who=finance, json=WAIVER)
        second = waived["installments"][1]
        assert figures(second, "late_fee", "fee_waived", "owed") == (D("0.70"), D("0.50"), D("200.70"))
        assert (second["status"], second["days_overdue"]) == ("overdue", 6)
        (adjustment,) = waived["adjustments"]
        assert {k: v for k, v in adjustment.items() if k != "made_at"} == {
            "kind": "waive_late_fee",
            "seq": 2,
            "amount": "0.50",
            "reason": "first time late",
            "staff": "fin-li",
        }
        assert datetime.fromisoformat(adjustment["made_at"]) == local(2026, 3, 9)
        assert self.asked(api, who, oid) == D("200.70")  # 0.50 less
        assert self.overdue_fees(api) == [(oid, 2, 6, "0.70")]
        assert figures(self.finance_day(api), "fees_waived", "goodwill_credit", "payments_received", "fees") == (
            D("0.50"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
        )

        credited = api.post(ROUTE.format(oid), who=api.staff(Role.ADMIN, username="boss"), json=CREDIT)
        second = credited["installments"][1]
        assert figures(second, "paid", "fee_paid", "credited", "owed") == (
            D("100.00"),  # 0.70 of fees, then 99.30 of rent
            D("0.70"),
            D("100.00"),
            D("100.70"),
        )
        assert [(a["kind"], a["seq"], a["amount"], a["staff"]) for a in credited["adjustments"]] == [
            ("waive_late_fee", 2, "0.50", "fin-li"),
            ("goodwill_credit", None, "100.00", "boss"),
        ]
        assert self.asked(api, who, oid) == D("100.70")  # 100.00 less
        assert self.overdue_fees(api) == [(oid, 2, 6, "0.70")]
        day = self.finance_day(api)
        assert figures(day, "goodwill_credit", "fees_waived", "payments_received", "rent", "fees") == (
            D("100.00"),
            D("0.50"),
            D("0.00"),  # no money came in
            D("0.00"),
            D("0.00"),
        )

        api.pay(who, oid, "installments")
        assert self.overdue_fees(api) == []
        order = api.order(who, oid)
        assert (order["installments"][1]["status"], order["collection_stage"]) == ("paid", None)
        assert "adjustments" not in order  # the customer sees their installments, not finance's notes
        day = self.finance_day(api)
        assert figures(day, "payments_received", "rent", "fees", "fees_waived", "goodwill_credit") == (
            D("100.70"),
            D("100.70"),
            D("0.00"),
            D("0.50"),
            D("100.00"),
        )
        booked = sum(
            figures(day, "deposits_received", "rent", "protection", "fees", "damage", "late_return", "buyouts"),
            D("0"),
        ) + sum(figures(day, "credit", "stray"), D("0"))
        assert money(day["payments_received"]) + money(day["deposits_deducted"]) == booked
        assert money(day["revenue"]) == D("100.70")

        audit = api.get(f"/v1/admin/audit/{oid}", who=finance)
        events = {event["type"]: event["fields"] for event in audit["events"]}
        assert events["Lease.LateFeeWaived"] == {
            "seq": 2,
            "amount": "0.50",
            "reason": "first time late",
            "staff": "fin-li",
            "request_id": None,
        }
        assert events["Lease.GoodwillCredited"] == {
            "amount": "100.00",
            "reason": "the courier lost a week",
            "staff": "boss",
            "request_id": None,
        }

    def test_a_repeated_adjustment_with_its_idempotency_key_changes_nothing(self, api: Api, world: World) -> None:
        who, oid = self.six_days_overdue(api, world)
        finance = {**api.staff(Role.FINANCE), "Idempotency-Key": "waive-once"}
        first = api.post(ROUTE.format(oid), who=finance, json=WAIVER)
        again = api.http.post(ROUTE.format(oid), headers=finance, json=WAIVER)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first
        assert self.asked(api, who, oid) == D("200.70")

    def test_only_finance_and_admin_adjust_and_bad_adjustments_are_refused_naming_the_field(
        self, api: Api, world: World
    ) -> None:
        who, oid = self.six_days_overdue(api, world)
        for role in (Role.OPERATOR, Role.RISK):
            assert api.post(ROUTE.format(oid), 403, who=api.staff(role), json=WAIVER)["type"] == "/problems/forbidden"
        api.post(ROUTE.format(oid), 403, who=who, json=WAIVER)
        finance = api.staff(Role.FINANCE)
        for body, field, words in (
            ({**WAIVER, "kind": "write_off"}, "kind", "waive_late_fee"),
            ({**WAIVER, "amount": "1.21"}, "amount", "exceeds the late fee unpaid on installment 2, 1.20"),
            ({**WAIVER, "amount": "0.00"}, "amount", "above 0"),
            ({**WAIVER, "amount": 0.5}, "amount", "string"),
            ({**WAIVER, "reason": ""}, "reason", "at least 1 character"),
            ({**WAIVER, "reason": "   "}, "reason", "must not be blank"),
            ({**WAIVER, "seq": 13}, "seq", "installments are 1 to 12, not 13"),
            ({k: v for k, v in WAIVER.items() if k != "seq"}, "seq", "give its seq"),
            ({**CREDIT, "seq": 2}, "seq", "leave seq out"),
            ({**CREDIT, "amount": "2201.21"}, "amount", "exceeds the rent and late fees still owed, 2201.20"),
        ):
            problem = api.post(ROUTE.format(oid), 422, who=finance, json=body)
            assert [error["field"] for error in problem["errors"]] == [field], problem
            assert words in problem["errors"][0]["message"], problem
        assert self.asked(api, who, oid) == D("201.20")  # nothing changed

        pending = api.place(api.customer(), api.order_body(world.sku_id))
        refused = api.post(ROUTE.format(pending["id"]), 409, who=finance, json=CREDIT)
        assert (refused["type"], refused["state"]) == ("/problems/invalid-state", "pending_payment")
        api.post(ROUTE.format("00000000-0000-0000-0000-000000000001"), 404, who=finance, json=CREDIT)


class TestOnMemory(Adjustments):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(Adjustments):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(Adjustments):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

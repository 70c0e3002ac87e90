"""Whole business flows over HTTP, with the figures the contract promises; on SQLite, and the main
flow on PostgreSQL too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, World, figures, money, running
from tests.support import local


class MainFlow:
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

    def test_a_long_term_order_with_a_credit_waiver_from_checkout_to_settlement(self, api: Api, world: World) -> None:
        who = api.customer(score=720)
        line = api.get("/v1/me/credit-line", who=who)
        assert figures(line, "quota", "reserved", "available") == (D("5000.00"), D("0.00"), D("5000.00"))

        body = api.order_body(world.sku_id, {"kind": "long", "months": 12}, protection=True)
        quote = api.post("/v1/quotes", who=who, json={k: v for k, v in body.items() if k not in ("address", "channel")})
        assert figures(quote, "deposit", "waiver", "deposit_due", "rent_total", "protection_total", "due_now") == (
            D("3000.00"),
            D("2500.00"),
            D("500.00"),
            D("2400.00"),
            D("120.00"),
            D("710.00"),
        )
        assert quote["waiver_reason"] == "the waiver is capped at 2500.00 a unit"
        assert quote["waiver_limit"] == {"rule": "per_unit_cap", "score": None, "minimum": None, "amount": "2500.00"}
        assert [(i["seq"], i["due_date"], i["total"]) for i in quote["installments"][:3]] == [
            (1, "2026-01-31", "210.00"),
            (2, "2026-02-28", "210.00"),
            (3, "2026-03-31", "210.00"),
        ]

        order = api.place(who, body)
        order_id = order["id"]
        assert order["status"] == "pending_payment"
        assert figures(order, "deposit", "waiver", "deposit_due", "due_now") == (
            D("3000.00"),
            D("2500.00"),
            D("500.00"),
            D("710.00"),
        )
        line = api.get("/v1/me/credit-line", who=who)
        assert figures(line, "reserved", "available") == (D("2500.00"), D("2500.00"))

        checkout = api.pay(who, order_id, "checkout", amount="1.00")  # the platform prices checkout itself
        assert (checkout["provider"], checkout["amount"]) == ("sandbox", "710.00")
        assert checkout["pay_params"]["pay_url"].endswith(checkout["payment_id"])
        assert api.order(who, order_id)["status"] == "pending_contract"  # automated review passed
        payments = api.get(f"/v1/orders/{order_id}/payments", who=who)
        assert [(p["purpose"], p["status"], p["paid_amount"]) for p in payments] == [
            ("checkout", "succeeded", "710.00")
        ]

        contract = api.post(f"/v1/orders/{order_id}/contract/sign", who=who)
        assert contract["contract_id"].startswith("sandbox-contract-")
        assert api.order(who, order_id)["status"] == "pending_shipment"

        shipment = {"unit_serial": "IMEI0003", "carrier": "SF Express", "tracking_no": "SF100"}
        shipped = api.post(f"/v1/admin/orders/{order_id}/ship", who=api.staff(Role.OPERATOR), json=shipment)
        assert (shipped["status"], shipped["unit_serial"]) == ("shipped", "IMEI0003")
        api.post("/v1/sandbox/parcels", json={"carrier": "SF Express", "tracking_no": "SF100", "stage": "delivered"})
        assert api.get(f"/v1/orders/{order_id}/tracking", who=who)["delivered"] is True

        leasing = api.post(f"/v1/orders/{order_id}/receipt", who=who)
        assert leasing["status"] == "leasing"
        assert (leasing["plan"]["start"], leasing["plan"]["end"]) == ("2026-01-31", "2027-01-30")
        schedule = api.get(f"/v1/orders/{order_id}/installments", who=who)
        assert len(schedule) == 12
        assert [(i["due_date"], i["amount"], i["paid"], i["status"]) for i in schedule[:3]] == [
            ("2026-01-31", "210.00", "210.00", "paid"),
            ("2026-02-28", "210.00", "0.00", "due"),
            ("2026-03-31", "210.00", "0.00", "due"),
        ]

        rent = api.pay(who, order_id, "installments", amount="2310.00")
        assert rent["amount"] == "2310.00"
        schedule = api.get(f"/v1/orders/{order_id}/installments", who=who)
        assert {i["status"] for i in schedule} == {"paid"}

        api.move_clock(local(2027, 1, 25))
        returning = api.post(
            f"/v1/orders/{order_id}/end-of-term", who=who, json={"choice": "return", "tracking_no": "SF-BACK-1"}
        )
        assert (returning["status"], returning["return_tracking_no"]) == ("returning", "SF-BACK-1")
        operator = api.staff(Role.OPERATOR)
        assert api.post(f"/v1/admin/orders/{order_id}/returned", who=operator)["status"] == "inspecting"
        settled = api.post(
            f"/v1/admin/orders/{order_id}/inspection",
            who=operator,
            json={"damage_fee": "1200.00", "notes": "cracked back glass"},
        )
        assert settled["status"] == "settled"

        refunds = api.refunds(order_id)
        assert [(r["amount"], r["reason"], r["state"], r["payment_id"]) for r in refunds] == [
            ("200.00", "deposit refunded: settled", "accepted", checkout["payment_id"])
        ]
        assert api.service.sandboxes is not None
        assert api.service.sandboxes.payments.payment(checkout["payment_id"]).refunded == D("200.00")
        line = api.get("/v1/me/credit-line", who=who)
        assert figures(line, "quota", "reserved", "available") == (D("5000.00"), D("0.00"), D("5000.00"))

        report = api.get(
            "/v1/admin/reports/finance",
            who=api.staff(Role.FINANCE),
            params={"start": "2026-01-01", "end": "2027-01-31"},
        )
        totals = report["totals"]
        assert figures(
            totals,
            "payments_received",
            "deposits_received",
            "deposits_deducted",
            "deposits_refunded",
            "deposits_held",
            "rent",
            "protection",
            "damage",
        ) == (D("3020.00"), D("500.00"), D("300.00"), D("200.00"), D("0.00"), D("2400.00"), D("120.00"), D("300.00"))
        assert figures(report, "deposits_held", "rent_collected", "fees", "refunds") == (
            D("0.00"),
            D("2520.00"),
            D("0.00"),
            D("200.00"),
        )
        audit = api.get(f"/v1/admin/audit/{order_id}", who=api.staff(Role.ADMIN))
        assert audit["aggregate_type"] == "Lease" and audit["events"][-1]["type"] == "Lease.Settled"
        assert audit["state"]["status"] == "settled"


class Flows(MainFlow):
    def test_a_short_term_order_books_units_for_its_dates(self, api: Api, world: World) -> None:
        who = api.customer(score=None)
        dates = {"kind": "short", "start": "2026-02-10", "end": "2026-02-14"}
        orders = [api.place(who, api.order_body(world.sku_id, dates, deposit_mode="full")) for _ in range(5)]
        assert figures(orders[0], "deposit", "waiver", "due_now") == (D("3000.00"), D("0.00"), D("3100.00"))
        assert orders[0]["plan"] == {"kind": "short", "months": None, "start": "2026-02-10", "end": "2026-02-14"}
        assert [i["amount"] for i in orders[0]["installments"]] == ["100.00"]

        def free(start: str, end: str) -> int:
            product = api.get(f"/v1/catalog/products/{world.product_id}", params={"start": start, "end": end})
            count: int = product["skus"][0]["available_units"]
            return count

        assert (
            free("2026-02-10", "2026-02-14"),
            free("2026-02-14", "2026-02-16"),
            free("2026-02-15", "2026-02-17"),
        ) == (
            0,
            0,
            5,
        )
        overlapping = api.place(
            who,
            api.order_body(world.sku_id, {**dates, "start": "2026-02-14", "end": "2026-02-16"}, deposit_mode="full"),
            409,
        )
        assert overlapping["type"] == "/problems/unavailable"
        api.place(
            who,
            api.order_body(world.sku_id, {**dates, "start": "2026-02-15", "end": "2026-02-17"}, deposit_mode="full"),
        )
        assert free("2026-02-15", "2026-02-17") == 4

        api.post(f"/v1/orders/{orders[0]['id']}/cancel", who=who)
        assert free("2026-02-10", "2026-02-14") == 1
        api.place(who, api.order_body(world.sku_id, dates, deposit_mode="full"))
        assert free("2026-02-10", "2026-02-14") == 0

        too_long = api.place(
            who, api.order_body(world.sku_id, {**dates, "end": "2026-04-14"}, deposit_mode="full"), 422
        )
        assert too_long["errors"][0]["field"] == "plan.end"

    def test_cancelling_before_shipping_refunds_through_the_provider_and_releases_everything(
        self, api: Api, world: World
    ) -> None:
        who = api.customer(score=720)
        order = api.place(who, api.order_body(world.sku_id))
        checkout = api.pay(who, order["id"], "checkout")
        assert checkout["amount"] == "700.00"
        cancelled = api.post(f"/v1/orders/{order['id']}/cancel", who=who, json={"reason": "found a cheaper one"})
        assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "found a cheaper one")

        refunds = api.refunds(order["id"])
        assert sorted((r["amount"], r["reason"], r["state"]) for r in refunds) == [
            ("200.00", "rent refunded: cancelled", "accepted"),
            ("500.00", "deposit refunded: cancelled", "accepted"),
        ]
        assert api.service.sandboxes is not None
        assert api.service.sandboxes.payments.payment(checkout["payment_id"]).refunded == D("700.00")
        payments = api.get(f"/v1/orders/{order['id']}/payments", who=who)
        assert [p["refunded"] for p in payments] == ["700.00"]
        assert money(api.get("/v1/me/credit-line", who=who)["available"]) == D("5000.00")
        product = api.get(f"/v1/catalog/products/{world.product_id}")
        assert product["skus"][0]["available_units"] == 5

        again = api.post(f"/v1/orders/{order['id']}/cancel", 409, who=who)
        assert (again["type"], again["state"]) == ("/problems/invalid-state", "cancelled")
        leasing = api.leasing(who, api.order_body(world.sku_id))
        refused = api.post(f"/v1/orders/{leasing['id']}/cancel", 409, who=who)
        assert refused["state"] == "leasing" and "leasing" in refused["detail"]

    def test_a_reviewer_rejects_what_automated_review_could_not_pass(self, api: Api, world: World) -> None:
        who = api.customer(score=580)
        order = api.place(who, api.order_body(world.sku_id, deposit_mode="full"))
        checkout = api.pay(who, order["id"], "checkout")
        assert checkout["amount"] == "3200.00"
        assert api.order(who, order["id"])["status"] == "pending_review"

        risk = api.staff(Role.RISK, username="risk-1")
        queue = api.get("/v1/admin/reviews", who=risk)
        assert [(item["order_id"], item["reasons"]) for item in queue] == [
            (order["id"], ["score 580 is under the minimum 600"])
        ]
        assert api.order(who, order["id"])["review_reasons"] == ["score 580 is under the minimum 600"]
        api.post(f"/v1/admin/orders/{order['id']}/reject", 422, who=risk, json={"reason": ""})
        rejected = api.post(
            f"/v1/admin/orders/{order['id']}/reject", who=risk, json={"reason": "income not verifiable"}
        )
        assert (rejected["status"], rejected["reason"]) == ("rejected", "income not verifiable")
        assert api.get("/v1/admin/reviews", who=risk) == []
        refunds = api.refunds(order["id"])
        assert sorted((r["amount"], r["state"]) for r in refunds) == [("200.00", "accepted"), ("3000.00", "accepted")]

    def test_a_reviewer_approves_and_the_order_goes_on_to_the_contract(self, api: Api, world: World) -> None:
        who = api.customer(score=580)
        order = api.place(who, api.order_body(world.sku_id, deposit_mode="full"))
        api.pay(who, order["id"], "checkout")
        approved = api.post(f"/v1/admin/orders/{order['id']}/approve", who=api.staff(Role.RISK), json={"reason": "ok"})
        assert approved["status"] == "pending_contract"
        assert approved["review_reasons"] == ["score 580 is under the minimum 600"]
        trusted = api.customer(score=720)
        automatic = api.place(trusted, api.order_body(world.sku_id))
        assert automatic["review_reasons"] == []
        api.pay(trusted, automatic["id"], "checkout")
        assert api.order(trusted, automatic["id"])["review_reasons"] == [
            "identity verified, score meets the minimum, nothing overdue"
        ]

    def test_renewal_adds_months_at_the_renewal_rent(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id, {"kind": "long", "months": 6}))
        early = api.post(f"/v1/orders/{order['id']}/end-of-term", 409, who=who, json={"choice": "renew", "months": 3})
        assert "2026-07-23" in early["detail"]
        api.pay(who, order["id"], "installments", amount="1500.00")
        api.move_clock(local(2026, 7, 24))
        missing = api.post(f"/v1/orders/{order['id']}/end-of-term", 422, who=who, json={"choice": "renew"})
        assert missing["errors"][0]["field"] == "months"
        renewed = api.post(f"/v1/orders/{order['id']}/end-of-term", who=who, json={"choice": "renew", "months": 3})
        assert (renewed["status"], renewed["plan"]["months"], renewed["plan"]["end"]) == ("leasing", 9, "2026-10-30")
        schedule = renewed["installments"]
        assert len(schedule) == 9
        assert [(i["due_date"], i["amount"], i["status"]) for i in schedule[6:]] == [
            ("2026-07-31", "150.00", "due"),
            ("2026-08-31", "150.00", "due"),
            ("2026-09-30", "150.00", "due"),
        ]

    def test_an_early_buyout_counts_the_deposit_and_settles(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))
        refused = api.post(f"/v1/orders/{order['id']}/end-of-term", 409, who=who, json={"choice": "buyout"})
        assert "2480.00 remains" in refused["detail"]
        payment = api.pay(who, order["id"], "buyout", amount="1.00")
        assert payment["amount"] == "2480.00"  # 1000.00 + 2200.00 unpaid rent − 220.00 discount − 500.00 deposit
        bought = api.order(who, order["id"])
        assert bought["status"] == "settled"
        assert api.refunds(order["id"]) == []
        units = api.get(f"/v1/catalog/products/{world.product_id}")["skus"][0]["available_units"]
        assert units == 4  # the unit is sold
        assert money(api.get("/v1/me/credit-line", who=who)["available"]) == D("5000.00")

    def test_a_swap_returns_this_device_and_places_a_linked_order(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id, {"kind": "long", "months": 6}))
        api.pay(who, order["id"], "installments", amount="1500.00")
        api.move_clock(local(2026, 7, 25))
        swapped = api.post(
            f"/v1/orders/{order['id']}/end-of-term",
            who=who,
            json={"choice": "swap", "sku_id": str(world.sku_id), "tracking_no": "SF-SWAP"},
        )
        assert swapped["status"] == "returning" and swapped["swapped_to"]
        new = api.order(who, swapped["swapped_to"])
        assert (new["status"], new["swapped_from"], new["plan"]["months"]) == ("pending_payment", order["id"], 6)
        line = api.get("/v1/me/credit-line", who=who)
        assert figures(line, "reserved", "available") == (D("5000.00"), D("0.00"))
        operator = api.staff(Role.OPERATOR)
        api.post(f"/v1/admin/orders/{order['id']}/returned", who=operator)
        settled = api.post(f"/v1/admin/orders/{order['id']}/inspection", who=operator, json={"damage_fee": "0.00"})
        assert settled["status"] == "settled"
        assert [(r["amount"], r["state"]) for r in api.refunds(order["id"])] == [("500.00", "accepted")]

    def test_damage_beyond_the_deposit_waits_for_a_damage_payment(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id, {"kind": "long", "months": 6}))
        api.pay(who, order["id"], "installments", amount="1500.00")
        api.move_clock(local(2026, 7, 25))
        api.post(f"/v1/orders/{order['id']}/end-of-term", who=who, json={"choice": "return", "tracking_no": "SF-9"})
        operator = api.staff(Role.OPERATOR)
        api.post(f"/v1/admin/orders/{order['id']}/returned", who=operator)
        pending = api.post(f"/v1/admin/orders/{order['id']}/inspection", who=operator, json={"damage_fee": "1200.00"})
        assert pending["status"] == "pending_settlement"
        damage = api.pay(who, order["id"], "damage")
        assert damage["amount"] == "700.00"  # 1200.00 less the 500.00 deposit held
        assert api.order(who, order["id"])["status"] == "settled"
        assert money(api.get("/v1/me/credit-line", who=who)["available"]) == D("5000.00")

    def test_an_installment_goes_overdue_by_the_test_clock_and_accrues_the_exact_late_fee(
        self, api: Api, world: World
    ) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))  # installment 2 of 200.00 falls due on 28 February
        api.move_clock(local(2026, 3, 3))
        assert api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})["assessed"] == []  # last grace day
        api.move_clock(local(2026, 3, 10))
        report = api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
        assert report["as_of"] == "2026-03-10"
        assert report["assessed"] == [order["id"]]
        assert report["stage_changes"] == [{"order_id": order["id"], "stage": "sms"}]

        second = api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]
        assert (second["days_overdue"], second["late_fee"], second["owed"], second["status"]) == (
            7,
            "1.40",  # 7 days × 200.00 × 0.001
            "201.40",
            "overdue",
        )
        ledger = api.get("/v1/admin/overdue", who=api.staff(Role.FINANCE))
        assert [(r["order_id"], r["seq"], r["days_overdue"], r["late_fee"], r["stage"]) for r in ledger] == [
            (order["id"], 2, 7, "1.40", "sms")
        ]
        assert report["reminders"] and len(report["reminders"]) == 1
        (reminder,) = api.get("/v1/admin/messages", who=api.staff(Role.OPERATOR), params={"order_id": order["id"]})
        assert (reminder["message_id"], reminder["kind"], reminder["phone"]) == (
            report["reminders"][0],
            "collection_sms",
            who.phone,
        )
        assert "201.40 CNY is overdue by 7 day(s), late fees of 1.40 CNY included" in reminder["text"]
        api.service.messages.dispatch()
        texts = [m["text"] for m in api.get("/v1/sandbox/sms", params={"phone": who.phone})]
        assert texts.count(reminder["text"]) == 1
        blocked = api.place(who, api.order_body(world.sku_id), 409)
        assert blocked["type"] == "/problems/overdue"
        assert api.post(f"/v1/orders/{order['id']}/end-of-term", 409, who=who, json={"choice": "buyout"})["state"] == (
            "overdue"
        )

        payment = api.pay(who, order["id"], "installments")
        assert payment["amount"] == "201.40"
        second = api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]
        assert (second["paid"], second["fee_paid"], second["status"]) == ("201.40", "1.40", "paid")  # rent and fee
        assert api.get("/v1/admin/overdue", who=api.staff(Role.FINANCE)) == []
        assert api.order(who, order["id"])["collection_stage"] is None

    def test_before_the_daily_job_runs_an_order_and_the_overdue_ledger_show_todays_figures_and_a_payment_asks_them(
        self, api: Api, world: World
    ) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))  # installment 2 of 200.00 falls due on 28 February
        api.move_clock(local(2026, 3, 10))  # 7 days overdue after the grace days; no daily job has run
        second = api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]
        assert (second["days_overdue"], second["late_fee"], second["owed"], second["status"]) == (
            7,
            "1.40",
            "201.40",
            "overdue",
        )
        for shown in (
            api.order(who, order["id"]),
            api.get(f"/v1/admin/orders/{order['id']}", who=api.staff(Role.FINANCE)),
        ):
            assert (shown["days_overdue"], shown["installments"][1]["owed"]) == (7, "201.40")
        ledger = api.get("/v1/admin/overdue", who=api.staff(Role.FINANCE))  # staff see it too, job or no job
        assert [
            (entry["seq"], entry["days_overdue"], entry["amount"], entry["late_fee"])
            for entry in ledger
            if entry["order_id"] == order["id"]
        ] == [(2, 7, "200.00", "1.40")]
        assert api.pay(who, order["id"], "installments")["amount"] == "201.40"
        assert api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]["status"] == "paid"

    def test_collection_tasks_show_todays_days_and_fees_between_daily_jobs(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))
        finance = api.staff(Role.FINANCE)
        api.move_clock(local(2026, 3, 20))
        api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})  # 17 days overdue: the call stage
        api.move_clock(local(2026, 3, 23))  # three days on, no job since
        (task,) = [t for t in api.get("/v1/admin/collections", who=finance) if t["order_id"] == order["id"]]
        shown = api.get(f"/v1/admin/orders/{order['id']}", who=finance)
        second = shown["installments"][1]
        assert (task["stage"], task["days_overdue"]) == ("call", shown["days_overdue"]) and task["days_overdue"] == 20
        assert (task["overdue_amount"], task["late_fees"]) == (second["owed"], second["late_fee"])

    def test_a_delayed_notification_recomputes_the_fees_as_if_it_arrived_on_time(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.leasing(who, api.order_body(world.sku_id))
        api.move_clock(local(2026, 3, 10))
        api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
        assert api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]["late_fee"] == "1.40"
        api.pay(who, order["id"], "installments", amount="200.00", paid_at=local(2026, 2, 27))
        second = api.get(f"/v1/orders/{order['id']}/installments", who=who)[1]
        assert (second["late_fee"], second["owed"], second["status"]) == ("0.00", "0.00", "paid")

    def test_an_order_left_unpaid_past_the_timeout_is_cancelled_by_the_daily_job(self, api: Api, world: World) -> None:
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        api.move_clock(local(2026, 1, 31, 10) + timedelta(minutes=31))
        report = api.post("/v1/admin/jobs/daily", who=api.staff(Role.ADMIN), json={})
        assert report["cancelled"] == [order["id"]]
        assert api.order(who, order["id"])["status"] == "cancelled"
        assert money(api.get("/v1/me/credit-line", who=who)["available"]) == D("5000.00")

    def test_two_customers_never_see_each_other(self, api: Api, world: World) -> None:
        alice, bob = api.customer(score=720), api.customer(score=660)
        order = api.place(alice, api.order_body(world.sku_id))
        mine = api.place(bob, api.order_body(world.sku_id, deposit_mode="full"))
        oid = order["id"]
        for method, path, body in (
            ("GET", f"/v1/orders/{oid}", None),
            ("GET", f"/v1/orders/{oid}/installments", None),
            ("GET", f"/v1/orders/{oid}/payments", None),
            ("GET", f"/v1/orders/{oid}/tracking", None),
            ("POST", f"/v1/orders/{oid}/cancel", {}),
            ("POST", f"/v1/orders/{oid}/payments", {"purpose": "checkout"}),
            ("POST", f"/v1/orders/{oid}/contract/sign", None),
            ("POST", f"/v1/orders/{oid}/receipt", None),
            ("POST", f"/v1/orders/{oid}/end-of-term", {"choice": "buyout"}),
        ):
            problem = api.call(method, path, 404, who=bob, json=body)
            assert problem["type"] == "/problems/not-found" and oid in problem["detail"]
        assert [o["id"] for o in api.get("/v1/orders", who=bob)] == [mine["id"]]
        assert [o["id"] for o in api.get("/v1/orders", who=alice)] == [oid]
        assert api.order(alice, oid)["status"] == "pending_payment"  # bob's attempts changed nothing
        bob_line, alice_line = api.get("/v1/me/credit-line", who=bob), api.get("/v1/me/credit-line", who=alice)
        assert (bob_line["quota"], bob_line["available"]) == ("5000.00", "5000.00")
        assert (alice_line["quota"], alice_line["available"]) == ("5000.00", "2500.00")


class TestOnSQLite(Flows):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(MainFlow):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

"""Driving the service over HTTP as its clients do: staff set it up, customers log in by SMS code,
payments settle at the sandbox provider, time moves by the sandbox clock."""

from __future__ import annotations

import itertools
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from stdnum.cn import ric

from api.bootstrap import Service, Settings, build_service
from api.http.app import create_app
from leasecore.clock import SettableClock
from leasecore.staff import Role
from tests.support import BILLING, CREDIT_LEVELS, SCORING_RULES, START, WAIVER_POLICY

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

D = Decimal
ALL_ROLES = tuple(Role)
_phones = itertools.count(1)


def id_number(n: int) -> str:
    """A GB 11643 ID number (born 7 March 1990 in Beijing), one per n."""
    base = f"11010519900307{n % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")


def new_phone() -> str:
    return f"139{next(_phones):08d}"


def money(value: Any) -> Decimal:
    assert isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{2}", value), f"not money as the contract says: {value!r}"
    return Decimal(value)


def figures(document: dict[str, Any], *names: str) -> tuple[Decimal, ...]:
    """The named amounts of an answer, each written as the contract writes money."""
    return tuple(money(document[name]) for name in names)


def phone_product(category_id: str) -> dict[str, Any]:
    """The test world's phone: six or twelve months, or three to thirty days, protection offered, one black SKU."""
    return {
        "category_id": category_id,
        "name": "Phone T",
        "brand": "TestBrand",
        "channels": ["app", "h5"],
        "long_term": {"terms": [6, 12]},
        "short_term": {"min_days": 3, "max_days": 30},
        "protection": {
            "offered": True,
            "mandatory": False,
            "monthly": "10.00",
            "daily": "1.00",
            "damage_excess": "300.00",
        },
        "skus": [
            {
                "specs": {"colour": "black"},
                "market_value": "5000.00",
                "deposit": "3000.00",
                "monthly_rent": {"6": "300.00", "12": "200.00"},
                "buyout_price": {"6": "1500.00", "12": "1000.00"},
                "renewal_monthly_rent": "150.00",
                "daily_rent": "20.00",
            }
        ],
    }


@dataclass
class Customer:
    phone: str
    id_number: str
    customer_id: UUID
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """What staff set up over HTTP: the four documents, a phone product with one SKU and five units."""

    category_id: UUID
    product_id: UUID
    sku_id: UUID
    serials: list[str]


class Api:
    """The service under a Starlette test client, with the helpers a test client would write."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.http = TestClient(create_app(service), raise_server_exceptions=False)
        self.customers: list[Customer] = []
        self._ids = itertools.count(1)
        self.real_time: SettableClock | None = None
        """Stands in for the system clock tokens and codes expire by (the sandbox clock does not move it)."""
        self.position: str | None = None
        """The last `X-Read-Position` a command answered: every read passes it back as `X-Read-After`, as a client
        that reads its own writes does (placing an order answers without waiting for the read models)."""
        self.settle = False
        """Wait after each command until the read models show it, for what reads them without `X-Read-After` (the
        screens a browser test opens next)."""

    # Calls.

    def call(self, method: str, path: str, status: int | None = None, *, who: Any = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if isinstance(who, Customer):
            headers.update(who.headers)
        elif isinstance(who, dict):
            headers.update(who)
        if method == "GET" and self.position is not None:
            headers.setdefault("X-Read-After", self.position)
        response = self.http.request(method, path, headers=headers, **kwargs)
        self.position = response.headers.get("X-Read-Position", self.position)
        if self.settle and method != "GET" and "X-Read-Position" in response.headers:
            self.service.platform.read_your_writes(self.service.read_timeout, int(response.headers["X-Read-Position"]))
        if status is not None:
            assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        if response.headers.get("content-type", "").startswith(("application/json", "application/problem+json")):
            return response.json()
        return response

    def get(self, path: str, status: int | None = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, status, **kwargs)

    def post(self, path: str, status: int | None = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, status, **kwargs)

    def put(self, path: str, status: int | None = 200, **kwargs: Any) -> Any:
        return self.call("PUT", path, status, **kwargs)

    # Staff.

    def staff(self, *roles: Role, username: str = "tester") -> dict[str, str]:
        """A staff token with these roles (accounts and their login are tested on their own)."""
        token, _ = self.service.tokens.for_staff(username, roles or ALL_ROLES)
        return {"Authorization": f"Bearer {token}"}

    def set_up_world(self, units: int = 5) -> World:
        admin, operator = self.staff(Role.ADMIN), self.staff(Role.OPERATOR)
        for name, document in (
            ("scoring-rules", SCORING_RULES),
            ("credit-levels", CREDIT_LEVELS),
            ("waiver-policy", WAIVER_POLICY),
            ("billing", BILLING),
        ):
            assert self.put(f"/v1/admin/config/{name}", who=admin, json=document)["version"] == 1
        category = self.post("/v1/admin/categories", 201, who=operator, json={"name": "Phones"})
        product = self.post(
            "/v1/admin/products",
            201,
            who=operator,
            json=phone_product(category["id"]),
        )
        sku_id = product["skus"][0]["id"]
        serials = [f"IMEI{n:04d}" for n in range(1, units + 1)]
        stock = self.post(f"/v1/admin/skus/{sku_id}/units", 201, who=operator, json={"serials": serials})
        assert (stock["units"], stock["available"]) == (units, units)
        return World(UUID(category["id"]), UUID(product["id"]), UUID(sku_id), serials)

    # Customers.

    def code(self, phone: str) -> str:
        """The last login code the sandbox SMS provider sent to the phone (reminders may have come since: the outbox
        sends them in the background)."""
        messages = self.get("/v1/sandbox/sms", params={"phone": phone})
        codes = [found.group(1) for m in messages if (found := re.search(r"login code is (\d{6})", m["text"]))]
        assert codes, messages
        return codes[-1]

    def log_in(self, phone: str) -> dict[str, Any]:
        self.post("/v1/auth/otp", 202, json={"phone": phone})
        answer: dict[str, Any] = self.post("/v1/auth/login", json={"phone": phone, "code": self.code(phone)})
        return answer

    def customer(self, *, score: int | None = 720, verified: bool = True, phone: str | None = None) -> Customer:
        """A customer logged in by SMS code, verified, with a bureau score evaluated into a credit line."""
        phone = phone or new_phone()
        answer = self.log_in(phone)
        who = Customer(phone, id_number(next(self._ids)), UUID(answer["customer_id"]))
        who.headers = {"Authorization": f"Bearer {answer['token']}"}
        self.customers.append(who)
        if verified:
            identity = {
                "name": "Han Meimei",
                "id_number": who.id_number,
                "id_card_image": "aWQ=",
                "selfie_image": "bWU=",
            }
            assert self.post("/v1/me/identity", who=who, json=identity) == {"status": "verified", "reason": None}
        if score is not None:
            self.post("/v1/sandbox/credit-scores", json={"id_number": who.id_number, "score": score})
            assert self.post("/v1/me/credit", who=who, json={})["score"] == score
        return who

    def relog(self) -> None:
        """Fresh tokens for every customer (after the clock has moved past their expiry)."""
        for who in self.customers:
            who.headers = {"Authorization": f"Bearer {self.log_in(who.phone)['token']}"}

    # Orders and money.

    def order_body(self, sku_id: UUID, plan: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return {
            "sku_id": str(sku_id),
            "quantity": 1,
            "plan": plan or {"kind": "long", "months": 12},
            "protection": False,
            "deposit_mode": "waiver",
            "address": {"name": "Han Meimei", "phone": "13900000000", "line": "8 Test Street, Shanghai"},
            "channel": "app",
            **fields,
        }

    def place(self, who: Customer, body: dict[str, Any], status: int = 201) -> Any:
        return self.post("/v1/orders", status, who=who, json=body)

    def pay(
        self,
        who: Customer,
        order_id: str,
        purpose: str,
        amount: str | None = None,
        *,
        outcome: str = "success",
        paid_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Ask for a payment, then have the sandbox provider settle it and notify the service."""
        body: dict[str, Any] = {"purpose": purpose}
        if amount is not None:
            body["amount"] = amount
        payment: dict[str, Any] = self.post(f"/v1/orders/{order_id}/payments", 201, who=who, json=body)
        done: dict[str, Any] = {"outcome": outcome}
        if paid_at is not None:
            done["paid_at"] = paid_at.isoformat()
        completed = self.post(f"/v1/sandbox/payments/{payment['payment_id']}/complete", json=done)
        assert completed["status"] == ("succeeded" if outcome == "success" else "failed")
        return payment

    def order(self, who: Customer, order_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.get(f"/v1/orders/{order_id}", who=who)
        return answer

    def leasing(self, who: Customer, body: dict[str, Any]) -> dict[str, Any]:
        """An order placed, paid, approved automatically, signed, shipped and received."""
        order = self.place(who, body)
        self.pay(who, order["id"], "checkout")
        assert self.order(who, order["id"])["status"] == "pending_contract"
        self.post(f"/v1/orders/{order['id']}/contract/sign", who=who)
        serial = self.free_serial(UUID(body["sku_id"]))
        self.post(
            f"/v1/admin/orders/{order['id']}/ship",
            who=self.staff(Role.OPERATOR),
            json={"unit_serial": serial, "carrier": "SF Express", "tracking_no": f"SF{order['id'][:8]}"},
        )
        leased: dict[str, Any] = self.post(f"/v1/orders/{order['id']}/receipt", who=who)
        assert leased["status"] == "leasing"
        return leased

    def free_serial(self, sku_id: UUID) -> str:
        """A unit of the SKU that no order has been shipped."""
        import projections.stock

        units = projections.stock.units(self.service.views, sku_id)
        return next(
            unit.serial for unit in units if unit.status == "in_stock" and not any(b.shipped for b in unit.bookings)
        )

    def move_clock(self, instant: datetime) -> None:
        assert self.post("/v1/sandbox/clock", json={"now": instant.isoformat()})["now"]
        self.relog()

    def refunds(self, order_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The order's refunds once the refund process has sent every one it can (none pending or sending)."""
        deadline = time.monotonic() + timeout
        while True:
            answer: list[dict[str, Any]] = self.get(
                "/v1/admin/refunds", who=self.staff(Role.FINANCE), params={"order_id": order_id}
            )
            if time.monotonic() > deadline or not {r["state"] for r in answer} & {"pending", "sending"}:
                return answer
            time.sleep(0.01)

    def close(self) -> None:
        self.http.close()
        self.service.close()


@contextmanager
def running(database_url: str, start: datetime = START) -> Iterator[Api]:
    """The service on a database, in sandbox mode, on a test clock set to `start`."""
    real_time = SettableClock(start)
    service = build_service(Settings(database_url=database_url), clock=SettableClock(start), real_clock=real_time)
    service.refunds.start()
    api = Api(service)
    api.real_time = real_time
    try:
        yield api
    finally:
        api.close()

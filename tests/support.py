"""A small, exactly priced world for tests: configuration, one product, a verified customer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from api.bootstrap import application
from leasecore.application import LeaseApplication
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, Sku, TermPrice
from leasecore.clock import SettableClock
from leasecore.credit.customer import IdentityCheck
from leasecore.lease.quote import OrderRequest
from leasecore.values import Address, DepositMode, LongTerm, Plan

START = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 on 31 January in Shanghai
SHANGHAI = timezone(timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """An instant at `hour` o'clock on a day in Shanghai, where the tests' billing days are."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)

BILLING: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "grace_days": 3,
    "late_fee": {"daily_rate": "0.001", "fixed_per_day": "0.00", "cap_share": "0.20"},
    "collection_stages": [
        {"after_days": 1, "action": "sms"},
        {"after_days": 15, "action": "call"},
        {"after_days": 31, "action": "agency"},
    ],
    "unpaid_timeout_minutes": 30,
    "early_buyout_discount_share": "0.10",
}
WAIVER_POLICY: dict[str, Any] = {
    "min_score": 600,
    "bands": [
        {"min_score": 600, "max_score": 699, "waiver": "1000.00"},
        {"min_score": 700, "max_score": 950, "share": "1.00"},
    ],
    "per_order_cap": "8000.00",
    "per_unit_cap": "2500.00",
}
CREDIT_LEVELS: dict[str, Any] = {
    "levels": [
        {"name": "A", "min_score": 750, "max_score": 950, "quota": "10000.00"},
        {"name": "B", "min_score": 650, "max_score": 749, "quota": "5000.00"},
        {"name": "C", "min_score": 350, "max_score": 649, "quota": "0.00"},
    ]
}
SCORING_RULES: dict[str, Any] = {"source": "bureau", "range": [350, 950], "dimensions": []}

D = Decimal


def phone_sku(sku_id: UUID | None = None) -> Sku:
    return Sku(
        id=sku_id or uuid4(),
        specs={"colour": "black"},
        market_value=D("5000.00"),
        deposit=D("3000.00"),
        term_prices=(TermPrice(6, D("300.00"), D("1500.00")), TermPrice(12, D("200.00"), D("1000.00"))),
        renewal_monthly_rent=D("150.00"),
        daily_rent=D("20.00"),
    )


@dataclass
class World:
    """An application with the documents configured, a phone product in stock and helpers."""

    app: LeaseApplication
    clock: SettableClock
    product_id: UUID
    sku_id: UUID
    serials: list[str]

    def customer(self, phone: str | None = None, score: int | None = 720, verified: bool = True) -> UUID:
        phone = phone or f"139{uuid4().int % 10**8:08d}"
        customer_id = self.app.register_customer(phone)
        if verified:
            self.app.record_identity(customer_id, IdentityCheck("Han Meimei", "11010519491231002X", True))
        if score is not None:
            self.app.grant_credit(customer_id, score, "bureau", {})
        return customer_id

    def request(
        self,
        plan: Plan | None = None,
        *,
        quantity: int = 1,
        protection: bool = False,
        mode: DepositMode = DepositMode.WAIVER,
        channel: str = "app",
        sku_id: UUID | None = None,
    ) -> OrderRequest:
        return OrderRequest(
            sku_id=sku_id or self.sku_id,
            quantity=quantity,
            plan=plan or LongTerm(12),
            protection=protection,
            deposit_mode=mode,
            channel=channel,
            address=Address("Han Meimei", "13900000000", "8 Test Street, Shanghai"),
        )

    def leasing(self, customer_id: UUID, request: OrderRequest | None = None) -> UUID:
        """An order paid, approved, signed, shipped and received: the lease has started."""
        app = self.app
        order_id = app.place_order(customer_id, request or self.request())
        lease = app.lease(order_id)
        app.pay_checkout(order_id, f"checkout-{order_id}", lease.due_now, self.clock.now())
        if app.lease(order_id).status.value == "pending_review":
            app.approve(order_id, "reviewer", "ok")
        app.record_contract(order_id, f"contract-{order_id}")
        serials = app.units_held(order_id)
        app.ship(order_id, list(serials), "SF Express", f"SF{order_id.int % 10**10}")
        app.confirm_receipt(order_id)
        return order_id


def configure(app: LeaseApplication) -> None:
    for name, document in (
        ("scoring-rules", SCORING_RULES),
        ("credit-levels", CREDIT_LEVELS),
        ("waiver-policy", WAIVER_POLICY),
        ("billing", BILLING),
    ):
        app.configure(name, document, "test")


def build_world(app: LeaseApplication, clock: SettableClock, units: int = 5) -> World:
    configure(app)
    category_id = app.add_category("Phones")
    sku = phone_sku()
    product_id = app.list_product(
        ProductDetails(category_id, "Phone T", "TestBrand", channels=("app", "h5")),
        LongTermOffer((6, 12)),
        ShortTermOffer(3, 30),
        Protection(True, False, D("10.00"), D("1.00"), D("300.00")),
        [sku],
    )
    serials = [f"IMEI{n:04d}" for n in range(1, units + 1)]
    app.receive_units(sku.id, serials)
    return World(app, clock, product_id, sku.id, serials)


def close(app: LeaseApplication) -> None:
    """Release the app's database connections (PostgreSQL keeps a pool per engine)."""
    datastore = getattr(app.factory, "datastore", None)
    engine = getattr(datastore, "engine", None)
    if engine is not None:
        engine.dispose()
    close_keys = getattr(app.personal_data, "close", None)
    if close_keys is not None:
        close_keys()
    app.close()


@contextmanager
def two_processes(database_url: str, *, units: int) -> Iterator[tuple[World, LeaseApplication]]:
    """A world built on one application and a second application on the same database, as two service processes
    would share it (each with its own aggregates kept in memory)."""
    clock = SettableClock(START)
    app, other = application(database_url, clock=clock), application(database_url, clock=clock)
    try:
        yield build_world(app, clock, units=units), other
    finally:
        close(app)
        close(other)

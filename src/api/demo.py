"""A realistic demo catalog and configuration, seeded idempotently, and one order walked through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from leasecore.application import LeaseApplication
from leasecore.catalog import (
    NO_PROTECTION,
    LongTermOffer,
    ProductDetails,
    Protection,
    ShortTermOffer,
    Sku,
    TermPrice,
)
from leasecore.credit.customer import IdentityCheck
from leasecore.errors import NotFound
from leasecore.lease.quote import OrderRequest
from leasecore.values import Address, DepositMode, LongTerm, derived_id

DOCUMENTS: dict[str, dict[str, Any]] = {
    "scoring-rules": {"source": "bureau", "range": [350, 950], "dimensions": []},
    "credit-levels": {
        "levels": [
            {"name": "A", "min_score": 750, "max_score": 950, "quota": "12000.00"},
            {"name": "B", "min_score": 650, "max_score": 749, "quota": "6000.00"},
            {"name": "C", "min_score": 350, "max_score": 649, "quota": "0.00"},
        ]
    },
    "waiver-policy": {
        "min_score": 600,
        "bands": [
            {"min_score": 600, "max_score": 699, "waiver": "1500.00"},
            {"min_score": 700, "max_score": 950, "share": "1.00"},
        ],
        "per_order_cap": "8000.00",
        "per_unit_cap": "5000.00",
    },
    "billing": {
        "timezone": "Asia/Shanghai",
        "grace_days": 3,
        "late_fee": {"daily_rate": "0.0005", "fixed_per_day": "0.00", "cap_share": "0.20"},
        "collection_stages": [
            {"after_days": 1, "action": "sms"},
            {"after_days": 15, "action": "call"},
            {"after_days": 31, "action": "agency"},
        ],
        "unpaid_timeout_minutes": 30,
        "early_buyout_discount_share": "0.10",
    },
}

CATEGORIES = {
    "Digital": None,
    "Phones": "Digital",
    "Tablets": "Digital",
    "Laptops": "Digital",
    "Imaging": None,
    "Cameras": "Imaging",
    "Drones": "Imaging",
    "Wearables": None,
    "Watches": "Wearables",
    "Earphones": "Wearables",
}

ALL_CHANNELS = ("app", "h5", "alipay_mini", "wechat_mini")


def _money(text: str) -> Decimal:
    return Decimal(text)


def _terms(*rows: tuple[int, str, str]) -> tuple[TermPrice, ...]:
    return tuple(TermPrice(months, _money(rent), _money(buyout)) for months, rent, buyout in rows)


@dataclass(frozen=True)
class DemoProduct:
    key: str
    category: str
    details: dict[str, Any]
    long_term: LongTermOffer | None
    short_term: ShortTermOffer | None
    protection: Protection
    skus: tuple[tuple[str, dict[str, str], Callable[[UUID, dict[str, str]], Sku]], ...]
    units: int = 3


def _sku(
    market: str, deposit: str, terms: tuple[TermPrice, ...] = (), renewal: str | None = None, daily: str | None = None
) -> Callable[[UUID, dict[str, str]], Sku]:
    def build(sku_id: UUID, specs: dict[str, str]) -> Sku:
        return Sku(
            id=sku_id,
            specs=specs,
            market_value=_money(market),
            deposit=_money(deposit),
            term_prices=terms,
            renewal_monthly_rent=_money(renewal) if renewal else None,
            daily_rent=_money(daily) if daily else None,
        )

    return build


PRODUCTS = (
    DemoProduct(
        "phone-x",
        "Phones",
        {"name": "Phone X Pro", "brand": "Orchard", "description": "6.3-inch flagship phone, both plans."},
        LongTermOffer((6, 12)),
        ShortTermOffer(3, 60),
        Protection(True, False, _money("19.90"), _money("2.00"), _money("300.00")),
        (
            (
                "256-black",
                {"colour": "black", "storage": "256G"},
                _sku(
                    "8999.00", "6000.00", _terms((6, "399.00", "5200.00"), (12, "329.00", "3100.00")), "299.00", "49.00"
                ),
            ),
            (
                "512-white",
                {"colour": "white", "storage": "512G"},
                _sku(
                    "10999.00",
                    "7000.00",
                    _terms((6, "479.00", "6300.00"), (12, "399.00", "3900.00")),
                    "359.00",
                    "59.00",
                ),
            ),
        ),
    ),
    DemoProduct(
        "laptop-14",
        "Laptops",
        {
            "name": "AirBook Pro 14",
            "brand": "Orchard",
            "description": "14-inch laptop; long-term only, accident protection included.",
        },
        LongTermOffer((12, 24)),
        None,
        Protection(True, True, _money("39.00"), _money("0.00"), _money("800.00")),
        (
            (
                "16-512",
                {"memory": "16G", "storage": "512G"},
                _sku("14999.00", "9000.00", _terms((12, "699.00", "6500.00"), (24, "459.00", "2800.00")), "499.00"),
            ),
        ),
    ),
    DemoProduct(
        "tablet-11",
        "Tablets",
        {"name": "Slate Air 11", "brand": "Orchard", "description": "11-inch tablet."},
        LongTermOffer((3, 6, 12)),
        ShortTermOffer(3, 30),
        Protection(True, False, _money("12.00"), _money("1.50"), _money("200.00")),
        (
            (
                "128-blue",
                {"colour": "blue", "storage": "128G"},
                _sku(
                    "4799.00",
                    "3000.00",
                    _terms((3, "299.00", "3600.00"), (6, "249.00", "3000.00"), (12, "199.00", "2100.00")),
                    "169.00",
                    "29.00",
                ),
            ),
        ),
    ),
    DemoProduct(
        "camera-a7",
        "Cameras",
        {
            "name": "Alpha 7 IV kit",
            "brand": "Sonar",
            "description": "Full-frame camera with 28-70 lens; short-term only.",
        },
        None,
        ShortTermOffer(2, 30),
        Protection(True, False, _money("0.00"), _money("15.00"), _money("1000.00")),
        (("kit", {"lens": "28-70mm"}, _sku("16999.00", "10000.00", daily="129.00")),),
        units=2,
    ),
    DemoProduct(
        "drone-mini",
        "Drones",
        {"name": "Mini 4 Pro", "brand": "Skyward", "description": "249 g drone; short-term, protection mandatory."},
        None,
        ShortTermOffer(1, 14),
        Protection(True, True, _money("0.00"), _money("9.00"), _money("500.00")),
        (("fly-more", {"kit": "fly more combo"}, _sku("6388.00", "4000.00", daily="69.00")),),
        units=2,
    ),
    DemoProduct(
        "watch-10",
        "Watches",
        {"name": "Watch Series 10", "brand": "Orchard", "description": "46 mm GPS + cellular."},
        LongTermOffer((6, 12)),
        ShortTermOffer(7, 30),
        Protection(True, False, _money("8.00"), _money("1.00"), _money("150.00")),
        (
            (
                "46-black",
                {"case": "46mm", "colour": "jet black"},
                _sku(
                    "3999.00", "2500.00", _terms((6, "189.00", "2600.00"), (12, "149.00", "1700.00")), "129.00", "25.00"
                ),
            ),
        ),
    ),
    DemoProduct(
        "earphones-pro",
        "Earphones",
        {
            "name": "Pods Pro 2",
            "brand": "Orchard",
            "description": "Noise-cancelling earphones; long-term only, no protection.",
        },
        LongTermOffer((6, 12)),
        None,
        NO_PROTECTION,
        (
            (
                "usb-c",
                {"case": "USB-C"},
                _sku("1899.00", "1200.00", _terms((6, "89.00", "1100.00"), (12, "69.00", "700.00")), "59.00"),
            ),
        ),
        units=5,
    ),
)


def demo_id(*parts: str) -> UUID:
    return derived_id("demo", *parts)


@dataclass(frozen=True)
class Seeded:
    categories: dict[str, UUID]
    products: dict[str, UUID]
    skus: dict[str, UUID]
    units_received: int
    documents: dict[str, int]


def seed_demo(app: LeaseApplication) -> Seeded:
    """The demo catalog, configuration and stock; running it again changes nothing."""
    documents = {name: app.configure(name, document, "demo") for name, document in DOCUMENTS.items()}
    tree = app.categories()
    categories: dict[str, UUID] = {}
    for name, parent in CATEGORIES.items():
        category_id = demo_id("category", name)
        categories[name] = category_id
        if category_id not in tree.nodes:
            app.add_category(name, categories[parent] if parent else None, category_id=category_id)
    products: dict[str, UUID] = {}
    skus: dict[str, UUID] = {}
    received = 0
    for item in PRODUCTS:
        product_id = demo_id("product", item.key)
        products[item.key] = product_id
        built = []
        for sku_key, specs, build in item.skus:
            sku_id = demo_id("sku", item.key, sku_key)
            skus[f"{item.key}/{sku_key}"] = sku_id
            built.append(build(sku_id, specs))
        try:
            app.product(product_id)
        except NotFound:
            details = ProductDetails(categories[item.category], channels=ALL_CHANNELS, **item.details)
            app.list_product(details, item.long_term, item.short_term, item.protection, built, product_id=product_id)
        for sku in built:
            inventory = app.inventory(sku.id)
            serials = [f"{item.key.upper()}-{str(sku.id)[:4].upper()}-{n:03d}" for n in range(1, item.units + 1)]
            missing = [serial for serial in serials if serial not in inventory.units]
            if missing:
                app.receive_units(sku.id, missing)
                received += len(missing)
    return Seeded(categories, products, skus, received, documents)


def walk_through(app: LeaseApplication, phone: str = "13800138000") -> Iterator[str]:
    """One long-term order with a credit waiver, from checkout to an early buyout and settlement."""
    seeded = seed_demo(app)
    customer_id = app.register_customer(phone)
    yield f"customer {phone} registered: {customer_id}"
    app.record_identity(customer_id, IdentityCheck("Li Lei", "11010519491231002X", verified=True))
    yield "identity verified (实名认证): Li Lei"
    line = app.grant_credit(customer_id, 720, "bureau", {"demo": True})
    yield f"credit score 720 → level {line.level}, quota {line.quota}, available {line.available}"
    request = OrderRequest(
        sku_id=seeded.skus["phone-x/256-black"],
        quantity=1,
        plan=LongTerm(12),
        protection=True,
        deposit_mode=DepositMode.WAIVER,
        channel="app",
        address=Address("Li Lei", phone, "1 Demo Road, Shanghai"),
    )
    quote = app.quote(customer_id, request)
    yield (
        f"quote: deposit {quote.deposit}, waiver {quote.waiver}, deposit due {quote.deposit_due}, "
        f"12 × {quote.installments[0].amount} rent+protection, due now {quote.due_now}"
    )
    order_id = app.place_order(customer_id, request)
    lease = app.lease(order_id)
    yield f"order {order_id} placed: {lease.status.value}; quota available {app.credit_line(customer_id).available}"
    now = app.clock.now()
    app.pay_checkout(order_id, f"demo-checkout-{order_id}", lease.due_now, now)
    yield f"checkout {lease.due_now} paid → {app.lease(order_id).status.value} (automated review)"
    app.record_contract(order_id, f"contract-{order_id}")
    yield f"contract signed → {app.lease(order_id).status.value}"
    unit = app.units_held(order_id)[0]
    app.ship(order_id, [unit], "SF Express", "SF1234567890")
    yield f"unit {unit} shipped with SF Express SF1234567890 → {app.lease(order_id).status.value}"
    app.confirm_receipt(order_id)
    lease = app.lease(order_id)
    yield (
        f"receipt confirmed → {lease.status.value}; lease starts {lease.start}, "
        f"installment 2 due {lease.schedule[1].due_date}, last due {lease.schedule[-1].due_date}"
    )
    app.pay_installments(order_id, f"demo-rent-2-{order_id}", lease.schedule[1].amount, app.clock.now())
    yield f"installment 2 paid early: {lease.schedule[1].amount}"
    buyout, to_pay = app.buyout_quote(order_id)
    yield (
        f"early buyout: price {buyout.buyout_price} + unpaid rent {buyout.unpaid_rent} − discount "
        f"{buyout.discount} = {buyout.price}; to pay {to_pay}"
    )
    app.buy_out(order_id, f"demo-buyout-{order_id}", to_pay, app.clock.now())
    lease = app.lease(order_id)
    yield (f"bought out and {lease.status.value}; quota available again {app.credit_line(customer_id).available}")

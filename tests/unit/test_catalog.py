from datetime import UTC, date, datetime
from decimal import Decimal as D
from uuid import uuid4

import pytest

from leasecore.catalog import (
    NO_PROTECTION,
    CategoryTree,
    Inventory,
    LongTermOffer,
    Product,
    ProductDetails,
    Protection,
    ShortTermOffer,
    StockUnit,
    UnitStatus,
)
from leasecore.errors import InvalidInput, InvalidState, NotFound, Unavailable
from leasecore.values import LongTerm, ShortTerm
from tests.support import phone_sku

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_categories_form_a_tree_that_cannot_loop():
    tree = CategoryTree(timestamp=NOW)
    digital, phones, flagship = uuid4(), uuid4(), uuid4()
    tree.add(digital, "Digital", None, NOW)
    tree.add(phones, "Phones", digital, NOW)
    tree.add(flagship, "Flagship", phones, NOW)

    with pytest.raises(InvalidInput, match="descendants"):
        tree.move(digital, flagship, NOW)
    tree.rename(phones, "Mobile phones", NOW)
    tree.move(flagship, None, NOW)
    assert tree.ancestry(flagship) == [flagship]
    assert tree.nodes[phones].name == "Mobile phones"


def test_retiring_a_category_retires_its_subtree_and_refuses_new_children():
    tree = CategoryTree(timestamp=NOW)
    digital, phones = uuid4(), uuid4()
    tree.add(digital, "Digital", None, NOW)
    tree.add(phones, "Phones", digital, NOW)
    tree.retire(digital, NOW)

    assert not tree.is_live(phones)
    with pytest.raises(InvalidInput, match="retired"):
        tree.add(uuid4(), "Tablets", digital, NOW)
    with pytest.raises(NotFound):
        tree.add(uuid4(), "Tablets", uuid4(), NOW)


def product(long_term=LongTermOffer((6, 12)), short_term=ShortTermOffer(3, 30), channels=("app",)) -> Product:
    return Product.list(
        ProductDetails(uuid4(), "Phone T", "Brand", channels=channels),
        long_term,
        short_term,
        Protection(True, False, D("10.00"), D("1.00"), D("300.00")),
        NOW,
    )


def test_a_product_offers_at_least_one_plan_and_each_sku_is_priced_for_it():
    with pytest.raises(InvalidInput, match="long-term, short-term or both"):
        product(long_term=None, short_term=None)
    phone = product(long_term=LongTermOffer((6, 12, 24)))
    with pytest.raises(InvalidInput, match="24 months"):
        phone.add_sku(phone_sku(), NOW)


def test_orders_must_fit_the_plans_and_channels_offered():
    phone = product(long_term=LongTermOffer((6, 12)), short_term=ShortTermOffer(3, 30), channels=("app", "h5"))

    phone.check_orderable(LongTerm(12), "app")
    with pytest.raises(InvalidInput, match="plan.months"):
        phone.check_orderable(LongTerm(24), "app")
    with pytest.raises(InvalidInput, match="3 to 30 days, not 2"):
        phone.check_orderable(ShortTerm(date(2026, 2, 1), date(2026, 2, 2)), "app")
    with pytest.raises(InvalidInput, match="channel"):
        phone.check_orderable(LongTerm(12), "wechat_mini")


def test_a_retired_product_can_no_longer_be_ordered():
    phone = product()
    phone.retire(NOW)
    with pytest.raises(InvalidState, match="retired"):
        phone.check_orderable(LongTerm(12), "app")


def test_mandatory_protection_must_be_offered():
    with pytest.raises(InvalidInput, match="mandatory"):
        Product.list(
            ProductDetails(uuid4(), "X", "Y"),
            LongTermOffer((6,)),
            None,
            Protection(False, True, D("1"), D("1"), D("1")),
            NOW,
        )
    assert not NO_PROTECTION.offered


def inventory(*serials: str) -> Inventory:
    stock = Inventory(uuid4(), uuid4(), timestamp=NOW)
    stock.receive(list(serials), NOW)
    return stock


def unit(serial: str = "A") -> StockUnit:
    return StockUnit.receive(uuid4(), uuid4(), serial, NOW)


def test_a_unit_is_never_booked_twice_for_overlapping_dates():
    stock = unit()
    stock.book(first := uuid4(), date(2026, 3, 1), date(2026, 3, 10), NOW)
    with pytest.raises(Unavailable, match="unit A is held"):
        stock.book(uuid4(), date(2026, 3, 10), date(2026, 3, 12), NOW)
    stock.book(second := uuid4(), date(2026, 3, 11), date(2026, 3, 12), NOW)
    assert [b.order_id for b in stock.bookings] == [first, second]
    with pytest.raises(Unavailable):
        stock.book(uuid4(), date(2026, 2, 1), None, NOW)
    stock.book(first, date(2026, 3, 1), date(2026, 3, 10), NOW)  # the same order again changes nothing
    assert len(stock.bookings) == 2


def test_a_unit_ships_for_the_order_holding_it_or_when_free_and_is_released_once():
    booked, free, order = unit("A"), unit("B"), uuid4()
    booked.book(order, date(2026, 3, 1), None, NOW)
    free.ship(order, date(2026, 3, 1), None, NOW)
    booked.release(order, NOW)
    assert (booked.status, free.status) == (UnitStatus.IN_STOCK, UnitStatus.LEASED)
    assert booked.is_free(date(2026, 3, 1), None) and not free.is_free(date(2030, 1, 1), None)
    with pytest.raises(InvalidInput, match="B is held by another order"):
        free.ship(uuid4(), date(2026, 3, 1), None, NOW)

    version = booked.version
    booked.release(order, NOW)
    assert booked.version == version
    free.sell(order, NOW)
    assert free.status is UnitStatus.SOLD and not free.is_free(date(2040, 1, 1), None)
    with pytest.raises(InvalidState, match="sold"):
        free.retire(NOW)


def test_a_unit_received_under_stock_v1_takes_over_its_state_from_the_register():
    register, order = inventory("A", "B"), uuid4()
    register._booked(order, ("B",), date(2026, 3, 1), None, timestamp=NOW)  # as stored by stock v1
    taken = StockUnit.take_over(register, "B", NOW)
    assert register.booked_before_units(order) == ("B",)
    assert taken.id == StockUnit.create_id(register.sku_id, "B") and taken.holds(order)
    assert not taken.is_free(date(2027, 1, 1), None)
    with pytest.raises(InvalidInput, match="Z is not a unit"):
        StockUnit.take_over(register, "Z", NOW)


def test_serials_are_unique_within_a_sku():
    stock = inventory("A")
    with pytest.raises(InvalidInput, match="A"):
        stock.receive(["A", "B"], NOW)
    with pytest.raises(InvalidInput, match="B"):
        stock.receive(["B", "B"], NOW)

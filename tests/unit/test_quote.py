"""The quote engine: the waiver is the least of its terms; totals are the sum of their parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.catalog import LongTermOffer, Product, ProductDetails, Protection, ShortTermOffer
from leasecore.credit.policy import WaiverPolicy
from leasecore.errors import InvalidInput
from leasecore.lease.billing import BillingPolicy
from leasecore.lease.quote import OrderRequest, make_quote
from leasecore.values import Address, DepositMode, LongTerm, ShortTerm
from tests.support import BILLING, WAIVER_POLICY, phone_sku

NOW = datetime(2026, 1, 31, 2, tzinfo=UTC)
TODAY = date(2026, 1, 31)
POLICY = WaiverPolicy.from_document(WAIVER_POLICY)
BILLING_POLICY = BillingPolicy.from_document(BILLING)


def phone(mandatory: bool = False, offered: bool = True) -> tuple[Product, object]:
    sku = phone_sku()
    product = Product.list(
        ProductDetails(uuid4(), "Phone T", "Brand"),
        LongTermOffer((6, 12)),
        ShortTermOffer(3, 30),
        Protection(offered, mandatory, D("10.00"), D("1.00"), D("300.00")),
        NOW,
    )
    product.add_sku(sku, NOW)
    return product, sku


def request(sku_id, plan=LongTerm(12), quantity=1, protection=False, mode=DepositMode.WAIVER) -> OrderRequest:
    return OrderRequest(sku_id, quantity, plan, protection, mode, "app", Address("A", "1", "x"))


def quote(product, sku, req, score=720, available=D("10000.00")):
    return make_quote(
        product,
        sku,
        req,
        today=TODAY,
        score=score,
        available_quota=available,
        waiver_policy=POLICY,
        billing=BILLING_POLICY,
    )


def test_a_long_term_quote_shows_every_installment_with_its_due_date_as_if_starting_today() -> None:
    product, sku = phone()
    q = quote(product, sku, request(sku.id, LongTerm(6), quantity=2, protection=True))

    assert (q.deposit, q.waiver, q.deposit_due) == (D("6000.00"), D("5000.00"), D("1000.00"))
    assert [(i.seq, i.due_date, i.rent, i.protection) for i in q.installments[:3]] == [
        (1, date(2026, 1, 31), D("600.00"), D("20.00")),
        (2, date(2026, 2, 28), D("600.00"), D("20.00")),
        (3, date(2026, 3, 31), D("600.00"), D("20.00")),
    ]
    assert (q.rent_total, q.protection_total, q.due_now) == (D("3600.00"), D("120.00"), D("1620.00"))


def test_a_short_term_quote_charges_the_whole_rent_now() -> None:
    product, sku = phone()
    q = quote(
        product,
        sku,
        request(sku.id, ShortTerm(date(2026, 2, 1), date(2026, 2, 10)), protection=True, mode=DepositMode.FULL),
    )
    assert (q.rent_total, q.protection_total, q.waiver, q.due_now) == (D("200.00"), D("10.00"), D("0"), D("3210.00"))


def test_mandatory_protection_is_always_charged_and_unoffered_protection_refused() -> None:
    product, sku = phone(mandatory=True)
    assert quote(product, sku, request(sku.id, protection=False)).installments[0].protection == D("10.00")
    bare, bare_sku = phone(offered=False)
    with pytest.raises(InvalidInput, match="protection"):
        quote(bare, bare_sku, request(bare_sku.id, protection=True))


def test_no_waiver_under_the_minimum_score_or_with_a_full_deposit() -> None:
    product, sku = phone()
    assert quote(product, sku, request(sku.id), score=599).waiver == D("0")
    assert quote(product, sku, request(sku.id, mode=DepositMode.FULL)).waiver == D("0")


plans = st.one_of(
    st.sampled_from([LongTerm(6), LongTerm(12)]),
    st.builds(
        lambda start, days: ShortTerm(
            date(2026, 2, 1) + timedelta(days=start), date(2026, 2, 1) + timedelta(days=start + days)
        ),
        st.integers(0, 60),
        st.integers(2, 29),
    ),
)


@given(
    plan=plans,
    quantity=st.integers(1, 20),
    protection=st.booleans(),
    waiver=st.booleans(),
    score=st.integers(350, 950),
    available=st.decimals(min_value=D("0"), max_value=D("60000"), places=2),
)
def test_quote_properties(plan, quantity, protection, waiver, score, available) -> None:
    product, sku = phone()
    mode = DepositMode.WAIVER if waiver else DepositMode.FULL
    q = quote(product, sku, request(sku.id, plan, quantity, protection, mode), score=score, available=available)

    assert q.waiver <= min(q.deposit, POLICY.per_order_cap, POLICY.per_unit_cap * quantity, available)
    assert q.deposit_due == q.deposit - q.waiver >= 0
    assert q.rent_total + q.protection_total == sum((i.amount for i in q.installments), D("0"))
    assert q.due_now == q.deposit_due + q.installments[0].amount
    if isinstance(plan, ShortTerm):
        assert q.rent_total == sku.daily_rent * plan.days * quantity

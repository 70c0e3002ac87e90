"""The platform's own facts about a customer, derived from its identity, orders and credit line."""

import copy
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer, IdentityCheck
from leasecore.credit.facts import max_days_overdue, phone_prefix, platform_facts
from leasecore.credit.identity import read_resident_id
from leasecore.credit.scoring import EXAMPLE_RULES, ScoringRules
from leasecore.lease import Lease, LeaseTerms
from leasecore.lease.ledger import LateFeeRule
from leasecore.lease.schedule import Rates, schedule_for
from leasecore.values import Address, DepositMode, LongTerm, Plan, ShortTerm

REGISTERED = datetime(2025, 6, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 July 2025 in Shanghai
T0 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 on 31 January 2026 in Shanghai
TODAY = date(2026, 3, 20)
RULE = LateFeeRule(3, D("0.001"), D("0.00"), D("0.20"))


def at(day: date) -> datetime:
    """10:00 in Shanghai on `day`."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def customer(id_number: str | None = "11010519491231002X", phone: str = "13912345678") -> Customer:
    person = Customer(phone, timestamp=REGISTERED)
    if id_number is not None:
        person.record_identity(IdentityCheck("Han Meimei", id_number, True), REGISTERED)
    return person


def placed(customer_id: UUID, plan: Plan = LongTerm(12), protected: bool = False) -> Lease:
    terms = LeaseTerms(
        plan=plan,
        quantity=1,
        unit_deposit=D("3000.00"),
        rates=Rates(
            D("200.00") if isinstance(plan, LongTerm) else D("20.00"),
            D("10.00") if protected else D("0.00"),
        ),
        buyout_price=D("1000.00"),
        renewal_rent=D("150.00"),
        daily_rent=D("20.00"),
        damage_excess=D("300.00") if protected else None,
        late_fee=RULE,
        early_buyout_discount_share=D("0.10"),
    )
    start = plan.start if isinstance(plan, ShortTerm) else date(2026, 1, 31)
    return Lease.place(
        order_id=uuid4(),
        customer_id=customer_id,
        product_id=uuid4(),
        sku_id=uuid4(),
        channel="app",
        deposit_mode=DepositMode.WAIVER,
        address=Address("Han Meimei", "13912345678", "8 Test Street, Shanghai"),
        terms=terms,
        deposit=D("3000.00"),
        waiver=D("2500.00"),
        schedule=schedule_for(plan, start, terms.rates, 1),
        config_versions={"billing": 1},
        now=T0,
    )


def leasing(customer_id: UUID, plan: Plan = LongTerm(12), protected: bool = False) -> Lease:
    lease = placed(customer_id, plan, protected)
    lease.pay_checkout("checkout", lease.due_now, T0, T0)
    lease.approve("automatic", "ok", T0)
    lease.sign_contract("contract", T0)
    lease.ship(("IMEI1",), "SF Express", "SF1", T0)
    lease.confirm_receipt(T0)
    return lease


def paid_late(customer_id: UUID) -> Lease:
    """Protected, 210.00 a month; installment 2 (due 28 Feb, overdue from 4 Mar) paid on 10 Mar.

    7 overdue days (4–10 Mar) × 0.001 × 210.00 = 1.47 in late fees."""
    lease = leasing(customer_id, protected=True)
    lease.pay_rent("rent-2", D("211.47"), at(date(2026, 3, 10)), at(date(2026, 3, 10)))
    return lease


def overdue(customer_id: UUID) -> Lease:
    """200.00 a month; installment 2 unpaid: on 20 Mar 17 days overdue (4–20 Mar), fees 17 × 0.20 = 3.40."""
    return leasing(customer_id, LongTerm(6))


def bought_out_and_settled(customer_id: UUID) -> Lease:
    lease = leasing(customer_id)
    quote = lease.buyout_quote(T0)
    lease.buy_out("buyout", quote.price, D("0.00"), T0, T0)
    lease.settle(T0)
    return lease


# The resident ID number (GB 11643).


def test_the_id_number_gives_birth_date_gender_and_region():
    holder = read_resident_id("11010519491231002X")

    assert holder is not None
    assert (holder.region, holder.birth_date, holder.gender) == ("110105", date(1949, 12, 31), "female")
    assert read_resident_id("110105199202291234").gender == "male"
    assert read_resident_id(" 44030419850615282x ").gender == "female"
    assert read_resident_id("110105-19491231-002Ｘ") == holder
    assert read_resident_id("１１０１０５１９４９１２３１００２X") == holder


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character
        "110105200102301234",  # right check character, but 30 February
        "11010519491231002",  # 17 characters
        "1101051949123100٢X",  # an Arabic-Indic digit
        "11010519491231X02X",
        "",
    ],
)
def test_an_invalid_id_number_tells_nothing(number):
    assert read_resident_id(number) is None


@given(
    region=st.text(alphabet="0123456789", min_size=6, max_size=6),
    born=st.dates(date(1900, 1, 1), date(2099, 12, 31)),
    sequence=st.text(alphabet="0123456789", min_size=3, max_size=3),
    check=st.sampled_from("0123456789X"),
)
def test_any_number_with_the_mod_11_2_check_character_reads_as_its_holder(region, born, sequence, check):
    number = f"{region}{born:%Y%m%d}{sequence}{check}"
    holder = read_resident_id(number)

    assert (holder is not None) == (check == ric.calc_check_digit(number))
    if holder is not None:
        assert holder.birth_date == born
        assert holder.gender == ("male" if int(sequence[2]) % 2 else "female")


@pytest.mark.parametrize(
    ("today", "age"),
    [
        (date(2026, 2, 27), 33),
        (date(2026, 2, 28), 33),
        (date(2026, 3, 1), 34),
        (date(2028, 2, 28), 35),
        (date(2028, 2, 29), 36),
    ],
)
def test_age_is_whole_years_completed_and_a_leap_day_birthday_comes_on_1_march(today, age):
    assert read_resident_id("110105199202291234").age_on(today) == age


@pytest.mark.parametrize(
    ("phone", "prefix"),
    [
        ("13912345678", "139"),
        ("+86 170-1234-5678", "170"),
        ("8616212345678", "162"),
        ("021-12345678", None),
        ("1391234567", None),
    ],
)
def test_the_phone_prefix_is_the_carrier_segment_of_a_mainland_mobile(phone, prefix):
    assert phone_prefix(phone) == prefix


# Facts from the platform.


def test_a_new_customer_has_identity_facts_and_an_empty_history():
    person = customer("110105199202291234", "+86 13912345678")

    assert platform_facts(person, None, [], TODAY) == {
        "identity_verified": True,
        "age": 34,
        "gender": "male",
        "phone_prefix": "139",
        "account_age_days": 262,  # 1 July 2025 (Shanghai) to 20 March 2026
        "orders_with_protection": 0,
        "orders_long_term": 0,
        "orders_bought_out": 0,
        "credit_level": None,
        "credit_quota": None,
        "credit_reserved": None,
        "credit_available": None,
        "credit_utilisation": None,
        "orders_total": 0,
        "orders_active": 0,
        "orders_settled": 0,
        "orders_cancelled": 0,
        "orders_rejected": 0,
        "orders_overdue": 0,
        "days_overdue_now": 0,
        "max_days_overdue": 0,
        "late_fees_total": D("0.00"),
    }


def test_an_unverified_customer_has_no_age_or_gender():
    facts = platform_facts(customer(None), None, [], TODAY)

    assert (facts["identity_verified"], facts["age"], facts["gender"]) == (False, None, None)


def test_a_birth_date_after_the_day_gives_no_age():
    facts = platform_facts(customer("110105203001011231"), None, [], TODAY)

    assert (facts["age"], facts["gender"]) == (None, None)


def test_account_age_counts_days_in_the_given_timezone():
    person = customer()

    assert platform_facts(person, None, [], TODAY)["account_age_days"] == 262
    assert platform_facts(person, None, [], TODAY, timezone="UTC")["account_age_days"] == 263


def test_the_credit_line_gives_quota_reserved_available_and_utilisation():
    person = customer()
    line = CreditLine.grant(person.id, D("6000.00"), "B", T0)
    line.reserve(uuid4(), D("1500.00"), T0)

    facts = platform_facts(person, line, [], TODAY)

    assert {name: value for name, value in facts.items() if name.startswith("credit_")} == {
        "credit_level": "B",
        "credit_quota": D("6000.00"),
        "credit_reserved": D("1500.00"),
        "credit_available": D("4500.00"),
        "credit_utilisation": D("0.2500"),
    }
    empty = CreditLine.grant(person.id, D("0.00"), "C", T0)
    assert platform_facts(person, empty, [], TODAY)["credit_utilisation"] is None


def test_days_overdue_are_remembered_after_the_installment_is_paid():
    person = customer()

    assert max_days_overdue(paid_late(person.id), TODAY) == 7
    assert max_days_overdue(overdue(person.id), TODAY) == 17
    on_time = leasing(person.id)
    on_time.pay_rent("rent-2", D("200.00"), at(date(2026, 2, 28)), at(date(2026, 2, 28)))
    assert max_days_overdue(on_time, TODAY) == 0
    assert max_days_overdue(placed(person.id), TODAY) == 0


def test_the_credit_history_counts_orders_by_outcome_and_overdue_now_and_ever():
    person = customer()
    cancelled = placed(person.id)
    cancelled.cancel("changed my mind", T0)
    rejected = placed(person.id)
    rejected.pay_checkout("checkout", rejected.due_now, T0, T0)
    rejected.reject("reviewer", "income not proven", T0)
    leases = [
        paid_late(person.id),
        overdue(person.id),
        cancelled,
        rejected,
        placed(person.id, ShortTerm(date(2026, 3, 25), date(2026, 3, 30))),
        bought_out_and_settled(person.id),
    ]

    facts = platform_facts(person, None, leases, TODAY)

    assert {name: facts[name] for name in facts if name.startswith(("orders_", "days_", "max_", "late_"))} == {
        "orders_with_protection": 1,
        "orders_long_term": 5,
        "orders_bought_out": 1,
        "orders_total": 6,
        "orders_active": 3,  # paid late, overdue, the short-term order awaiting payment
        "orders_settled": 1,
        "orders_cancelled": 1,
        "orders_rejected": 1,
        "orders_overdue": 1,
        "days_overdue_now": 17,
        "max_days_overdue": 17,
        "late_fees_total": D("4.87"),  # 1.47 paid + 3.40 accrued; orders never started owe none
    }


def test_every_platform_fact_is_documented_for_operators():
    documented = Path(__file__).parents[2] / "docs" / "scoring-rules.md"
    listed = {
        line.split("`")[1] for line in documented.read_text(encoding="utf-8").splitlines() if line.startswith("| `")
    }
    person = customer()

    assert set(platform_facts(person, CreditLine.grant(person.id, D("1.00"), None, T0), [], TODAY)) <= listed


def test_orders_or_a_credit_line_of_another_customer_are_refused():
    person, other = customer(), customer(phone="13800000000")

    with pytest.raises(ValueError, match="another customer"):
        platform_facts(person, None, [placed(other.id)], TODAY)
    with pytest.raises(ValueError, match="another customer"):
        platform_facts(person, CreditLine.grant(other.id, D("1.00"), None, T0), [], TODAY)


def test_platform_and_provider_facts_together_score_650_under_the_example_rules():
    person = customer()
    line = CreditLine.grant(person.id, D("6000.00"), "B", T0)
    line.reserve(uuid4(), D("1500.00"), T0)
    cancelled = placed(person.id)
    cancelled.cancel("changed my mind", T0)
    leases = [paid_late(person.id), overdue(person.id), cancelled, bought_out_and_settled(person.id)]
    provider = {"monthly_income": D("6500.00"), "employment": "employed", "contacts_verified": 1, "contacts_overdue": 0}

    evaluation = ScoringRules.from_document(EXAMPLE_RULES).evaluate(
        {**platform_facts(person, line, leases, TODAY), **provider}
    )

    # identity 40 +30 verified +10 account 262 days (aged 76: no age rule) = 80
    # behaviour 50 +10 protection +10 long term +15 bought out = 85
    # fulfilment 30 +25 stable income +10 utilisation 0.25 = 65
    # social 50 (one contact: neither 2+ nor none) = 50
    # credit_history 50 −50 overdue now −10 late fees = −10 → 0 (17 days: not serious; not clean)
    # 0.20×80 + 0.15×85 + 0.25×65 + 0.10×50 + 0.30×0 = 16 + 12.75 + 16.25 + 5 = 50 → 350 + 600 × 0.5 = 650
    assert [item.score for item in evaluation.dimensions] == [80, 85, 65, 50, 0]
    assert evaluation.score == 650
    assert evaluation.to_details()["facts"]["late_fees_total"] == "4.87"


def test_a_copied_customer_shares_only_what_no_event_changes_in_place() -> None:
    """The aggregate cache hands out copies: what happens to a copy never reaches the customer it came from."""
    person = Customer("13800000009", timestamp=REGISTERED)
    orders = [uuid4() for _ in range(3)]
    for order in orders:
        person.open_order(order, REGISTERED)
    person.collect_events()
    clone = copy.deepcopy(person)
    clone.open_order(uuid4(), REGISTERED)
    clone.record_identity(IdentityCheck("Li Lei", "11010519491231002X", verified=True), REGISTERED)
    assert (person.orders, person.version, person.pending_events) == (tuple(orders), 4, [])
    assert person.name is None and not person.is_verified
    assert len(clone.orders) == 4 and clone.version == 6 and len(clone.pending_events) == 2

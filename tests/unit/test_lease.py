"""The Lease aggregate on its own: the events each command produces and the states it refuses."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import uuid4

import pytest

from leasecore.errors import InvalidInput, InvalidState, Overdue, Refused
from leasecore.lease import Charges, Lease, LeaseStatus, LeaseTerms, PaymentSource
from leasecore.lease.ledger import LateFeeRule
from leasecore.lease.schedule import Rates, schedule_for
from leasecore.values import Address, DepositMode, LongTerm, ShortTerm

T0 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
RULE = LateFeeRule(3, D("0.001"), D("0.00"), D("0.20"))


def terms(plan=LongTerm(12), protected=False, quantity=1) -> LeaseTerms:
    return LeaseTerms(
        plan=plan,
        quantity=quantity,
        unit_deposit=D("3000.00"),
        rates=Rates(
            D("200.00") if isinstance(plan, LongTerm) else D("20.00"),
            (D("10.00") if isinstance(plan, LongTerm) else D("1.00")) if protected else D("0.00"),
        ),
        buyout_price=D("1000.00"),
        renewal_rent=D("150.00"),
        daily_rent=D("20.00"),
        damage_excess=D("300.00") if protected else None,
        late_fee=RULE,
        early_buyout_discount_share=D("0.10"),
    )


def placed(plan=LongTerm(12), protected=False, waiver=D("2500.00")) -> Lease:
    lease_terms = terms(plan, protected)
    start = date(2026, 1, 31) if isinstance(plan, LongTerm) else plan.start
    return Lease.place(
        order_id=uuid4(),
        customer_id=uuid4(),
        product_id=uuid4(),
        sku_id=uuid4(),
        channel="app",
        deposit_mode=DepositMode.WAIVER,
        address=Address("A", "1", "x"),
        terms=lease_terms,
        deposit=D("3000.00"),
        waiver=waiver,
        schedule=schedule_for(plan, start, lease_terms.rates, 1),
        config_versions={"billing": 1},
        now=T0,
    )


def leasing(**kwargs) -> Lease:
    lease = placed(**kwargs)
    lease.pay_checkout("c1", lease.due_now, T0, T0)
    lease.approve("auto", "ok", T0)
    lease.sign_contract("k1", T0)
    lease.ship(("IMEI1",), "SF", "SF1", T0)
    lease.confirm_receipt(T0)
    return lease


def event_types(lease: Lease) -> list[type]:
    return [type(e) for e in lease.collect_events()]


def test_an_order_walks_the_usual_path_to_leasing_event_by_event():
    lease = leasing()

    assert event_types(lease) == [
        Lease.OrderPlaced,
        Lease.CheckoutPaid,
        Lease.ReviewApproved,
        Lease.ContractSigned,
        Lease.Shipped,
        Lease.Delivered,
    ]
    assert lease.status is LeaseStatus.LEASING
    assert lease.start == date(2026, 1, 31)
    assert [i.due_date for i in lease.schedule[:3]] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert lease.ends_on == date(2027, 1, 30)


def test_checkout_is_the_deposit_not_waived_plus_the_first_installment_exactly():
    lease = placed()
    assert (lease.deposit_due, lease.due_now) == (D("500.00"), D("700.00"))

    with pytest.raises(InvalidInput, match="amount"):
        lease.pay_checkout("c1", D("699.99"), T0, T0)
    assert lease.pay_checkout("c1", D("700.00"), T0, T0) == D("500.00")
    assert lease.ledger.balances[0].rent_paid == D("200.00")


@pytest.mark.parametrize(
    ("act", "state"),
    [
        (lambda l: l.sign_contract("k", T0), "pending_payment"),
        (lambda l: l.ship(("IMEI1",), "SF", "1", T0), "pending_payment"),
        (lambda l: l.confirm_receipt(T0), "pending_payment"),
        (lambda l: l.record_return(T0), "pending_payment"),
        (lambda l: l.approve("r", "", T0), "pending_payment"),
    ],
)
def test_a_command_out_of_turn_is_refused_naming_the_state(act, state):
    lease = placed()

    with pytest.raises(InvalidState, match=state) as refused:
        act(lease)
    assert refused.value.state == state
    assert event_types(lease) == [Lease.OrderPlaced]


def test_cancelling_is_allowed_until_shipped_and_refunds_the_rent_paid():
    lease = placed()
    lease.pay_checkout("c1", lease.due_now, T0, T0)
    assert lease.cancel("changed my mind", T0) == D("200.00")
    assert lease.status is LeaseStatus.CANCELLED

    shipped = placed()
    shipped.pay_checkout("c1", shipped.due_now, T0, T0)
    shipped.approve("auto", "", T0)
    shipped.sign_contract("k", T0)
    shipped.ship(("IMEI1",), "SF", "1", T0)
    with pytest.raises(InvalidState, match="shipped"):
        shipped.cancel("too late", T0)


def test_a_rejection_needs_a_reason_and_refunds_the_checkout_rent():
    lease = placed()
    lease.pay_checkout("c1", lease.due_now, T0, T0)
    with pytest.raises(InvalidInput, match="reason"):
        lease.reject("risk-1", " ", T0)

    assert lease.reject("risk-1", "thin file", T0) == D("200.00")
    assert lease.status is LeaseStatus.REJECTED


def test_rent_payments_are_recorded_with_where_the_money_went():
    lease = leasing()
    lease.collect_events()
    allocation = lease.pay_rent("r2", D("250.00"), T0 + timedelta(days=1), T0 + timedelta(days=1))

    assert event_types(lease) == [Lease.InstallmentPaid]
    assert (allocation.rent_side.rent, allocation.rent_side.fees) == (D("250.00"), D("0.00"))
    assert [b.rent_paid for b in lease.ledger.balances[:3]] == [D("200.00"), D("200.00"), D("50.00")]


def test_the_daily_assessment_records_overdue_days_and_fees_only_when_they_change():
    lease = leasing()
    lease.collect_events()
    nothing_due = lease.assess_overdue(date(2026, 2, 28), T0)
    overdue = lease.assess_overdue(date(2026, 3, 5), T0)  # installment 2 (28 Feb): 2 days overdue
    again = lease.assess_overdue(date(2026, 3, 5), T0)

    assert (nothing_due, overdue, again) == (False, True, False)
    assert event_types(lease) == [Lease.OverdueAssessed]
    assert lease.ledger.balances[1].days_overdue == 2 and lease.ledger.fees == D("0.40")


def test_end_of_term_choices_open_seven_days_before_the_term_ends_and_not_while_overdue():
    lease = leasing(plan=LongTerm(12))
    lease.pay_rent("all", D("2200.00"), T0, T0)  # installments 2–12, paid ahead
    with pytest.raises(Refused, match="2027-01-23"):
        lease.request_return("SF-back", datetime(2027, 1, 22, 4, tzinfo=UTC))
    lease.request_return("SF-back", datetime(2027, 1, 23, 4, tzinfo=UTC))
    assert lease.status is LeaseStatus.RETURNING

    overdue = leasing(plan=LongTerm(12))
    with pytest.raises(Overdue):
        overdue.renew(6, datetime(2027, 1, 25, 4, tzinfo=UTC))


def test_renewal_continues_the_schedule_at_the_renewal_rent():
    lease = leasing(plan=LongTerm(6), protected=True)
    lease.pay_rent("ahead", D("1050.00"), T0, T0)
    lease.renew(2, datetime(2026, 7, 25, 4, tzinfo=UTC))

    added = lease.schedule[-2:]
    assert [(i.seq, i.due_date, i.rent, i.protection) for i in added] == [
        (7, date(2026, 7, 31), D("150.00"), D("10.00")),
        (8, date(2026, 8, 31), D("150.00"), D("10.00")),
    ]
    assert lease.ends_on == date(2026, 9, 29)


def test_inspection_caps_the_liability_at_the_excess_when_protected():
    protected = leasing(plan=LongTerm(12), protected=True)
    protected.pay_rent("ahead", D("2310.00"), T0, T0)
    when = datetime(2027, 1, 25, 4, tzinfo=UTC)
    protected.request_return("SF-back", when)
    protected.record_return(when)
    assert protected.complete_inspection(D("1200.00"), "cracked screen", when) == Charges(damage=D("300.00"))

    unprotected = leasing(plan=LongTerm(12))
    unprotected.pay_rent("ahead", D("2200.00"), T0, T0)
    unprotected.request_return("SF-back", when)
    unprotected.record_return(when)
    assert unprotected.complete_inspection(D("1200.00"), "cracked", when) == Charges(damage=D("1200.00"))


def test_a_short_term_unit_shipped_back_late_owes_daily_rent_per_day_late():
    lease = leasing(plan=ShortTerm(date(2026, 2, 1), date(2026, 2, 5)))
    back = datetime(2026, 2, 8, 4, tzinfo=UTC)
    lease.request_return("SF-back", back)
    lease.record_return(back)

    assert lease.complete_inspection(D("0.00"), "fine", back) == Charges(late_return=D("60.00"))


def test_early_buyout_is_unpaid_rent_plus_price_less_the_discount_on_that_rent():
    lease = leasing(plan=LongTerm(12))
    quote = lease.buyout_quote(T0)

    assert (quote.buyout_price, quote.unpaid_rent, quote.discount, quote.price) == (
        D("1000.00"),
        D("2200.00"),
        D("220.00"),
        D("2980.00"),
    )
    with pytest.raises(InvalidInput, match="2980.00"):
        lease.buy_out("b1", D("2000.00"), D("500.00"), T0, T0)
    lease.buy_out("b1", D("2480.00"), D("500.00"), T0, T0)
    assert lease.status is LeaseStatus.BOUGHT_OUT and lease.owed(T0) == D("0.00")


def test_settlement_waits_until_nothing_is_owed():
    lease = leasing(plan=LongTerm(12))
    when = datetime(2027, 1, 25, 4, tzinfo=UTC)
    lease.pay_rent("ahead", D("2200.00"), T0, T0)
    lease.request_return("SF-back", when)
    lease.record_return(when)
    with pytest.raises(InvalidState, match="inspection"):
        lease.settle(when)
    lease.complete_inspection(D("100.00"), "scratches", when)
    with pytest.raises(Refused, match="100.00"):
        lease.settle(when)
    allocation = lease.pay_balance("dep", D("100.00"), PaymentSource.DEPOSIT, when, when)
    assert allocation.charges == Charges(damage=D("100.00"))
    assert lease.settle(when) == D("0.00")
    assert lease.status is LeaseStatus.SETTLED


# Finance's adjustments.

SIX_DAYS_LATE = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
"""Installment 2 (200.00, due 28 February; grace to 3 March) is 6 days overdue on 9 March: 1.20 of fees."""


def overdue_six_days() -> Lease:
    lease = leasing()
    lease.collect_events()
    assert lease.assessed(SIX_DAYS_LATE).balances[1].late_fee == D("1.20")
    return lease


def test_a_waived_late_fee_and_a_goodwill_credit_are_lease_events_with_their_reason_and_who():
    lease = overdue_six_days()
    lease.waive_late_fee(2, D("0.50"), " first time late ", "fin-1", SIX_DAYS_LATE)
    lease.grant_goodwill_credit(D("20.00"), "delivery came late", "fin-2", SIX_DAYS_LATE)

    waived, credited = lease.collect_events()
    assert isinstance(waived, Lease.LateFeeWaived) and isinstance(credited, Lease.GoodwillCredited)
    assert (waived.seq, waived.amount, waived.reason, waived.staff) == (2, D("0.50"), "first time late", "fin-1")
    assert (credited.amount, credited.reason, credited.staff) == (D("20.00"), "delivery came late", "fin-2")
    second = lease.ledger.balances[1]
    assert (second.late_fee, second.fee_waived, second.fee_paid, second.credited) == (
        D("0.70"),
        D("0.50"),
        D("0.70"),
        D("20.00"),
    )
    assert lease.owed(SIX_DAYS_LATE) == D("180.70") + sum(i.amount for i in lease.schedule[2:])
    assert lease.owed_by(SIX_DAYS_LATE) == D("180.70")  # 201.20 less 0.50 waived and 20.00 credited
    assert lease.paid_in == lease.schedule[0].amount + lease.deposit_due  # no money came in


def test_a_waiver_is_at_most_the_fee_unpaid_on_an_installment_of_the_order():
    lease = overdue_six_days()
    with pytest.raises(InvalidInput) as above:
        lease.waive_late_fee(2, D("1.21"), "too much", "fin-1", SIX_DAYS_LATE)
    assert above.value.field == "amount" and "1.20" in above.value.message
    with pytest.raises(InvalidInput) as missing:
        lease.waive_late_fee(13, D("0.10"), "no such installment", "fin-1", SIX_DAYS_LATE)
    assert missing.value.field == "seq" and "1 to 12" in missing.value.message
    with pytest.raises(InvalidInput) as unpaid_none:
        lease.waive_late_fee(3, D("0.01"), "not overdue", "fin-1", SIX_DAYS_LATE)
    assert unpaid_none.value.field == "amount"
    for amount in (D("0"), D("-1.00"), D("0.001")):
        with pytest.raises(InvalidInput) as bad:
            lease.waive_late_fee(2, amount, "odd amount", "fin-1", SIX_DAYS_LATE)
        assert bad.value.field == "amount"
    with pytest.raises(InvalidInput) as blank:
        lease.waive_late_fee(2, D("0.10"), "  ", "fin-1", SIX_DAYS_LATE)
    assert blank.value.field == "reason"
    assert lease.collect_events() == []


def test_a_goodwill_credit_is_at_most_the_rent_and_fees_still_owed():
    lease = overdue_six_days()
    owed = lease.assessed(SIX_DAYS_LATE).owed
    with pytest.raises(InvalidInput) as above:
        lease.grant_goodwill_credit(owed + D("0.01"), "too much", "fin-1", SIX_DAYS_LATE)
    assert above.value.field == "amount" and str(owed) in above.value.message
    lease.grant_goodwill_credit(owed, "the whole lease, as an apology", "fin-1", SIX_DAYS_LATE)
    assert lease.owed(SIX_DAYS_LATE) == D("0.00") and lease.credit(SIX_DAYS_LATE) == D("0.00")
    assert not lease.is_overdue(SIX_DAYS_LATE)


def test_only_an_order_paying_rent_can_be_adjusted():
    lease = placed()
    with pytest.raises(InvalidState) as refused:
        lease.grant_goodwill_credit(D("10.00"), "before it started", "fin-1", T0)
    assert refused.value.state == "pending_payment"
    with pytest.raises(InvalidState):
        lease.waive_late_fee(1, D("0.10"), "before it started", "fin-1", T0)


def approved() -> Lease:
    lease = placed()
    lease.pay_checkout("c1", lease.due_now, T0, T0)
    lease.approve("auto", "ok", T0)
    lease.collect_events()
    return lease


SHA = "ab" * 32


def test_a_sign_flow_ends_with_the_contract_signed_and_its_document_kept():
    lease = approved()
    lease.start_signing("flow-1", T0)
    assert (lease.status, lease.signing_flow_id) == (LeaseStatus.PENDING_CONTRACT, "flow-1")
    lease.sign_contract("flow-1", T0, document_id="file-1-signed", sha256=SHA)
    assert event_types(lease) == [Lease.SigningStarted, Lease.ContractSigned]
    assert (lease.status, lease.contract_id) == (LeaseStatus.PENDING_SHIPMENT, "flow-1")
    assert (lease.contract_document_id, lease.contract_sha256) == ("file-1-signed", SHA)


def test_one_sign_flow_at_a_time_until_it_ends_unsigned():
    lease = approved()
    lease.start_signing("flow-1", T0)
    with pytest.raises(Refused):
        lease.start_signing("flow-2", T0)
    with pytest.raises(Refused):
        lease.abandon_signing("flow-2", "refused", T0)
    lease.abandon_signing("flow-1", "refused by the signer", T0)
    assert lease.signing_flow_id is None and lease.status is LeaseStatus.PENDING_CONTRACT
    lease.start_signing("flow-2", T0)
    assert event_types(lease) == [Lease.SigningStarted, Lease.SigningAbandoned, Lease.SigningStarted]


def test_signing_is_refused_outside_pending_contract_and_a_malformed_hash_is_refused():
    with pytest.raises(InvalidState):
        placed().start_signing("flow-1", T0)
    lease = approved()
    with pytest.raises(InvalidInput):
        lease.start_signing(" ", T0)
    with pytest.raises(InvalidInput, match="sha256"):
        lease.sign_contract("flow-1", T0, document_id="d", sha256="ABC")
    assert event_types(lease) == []

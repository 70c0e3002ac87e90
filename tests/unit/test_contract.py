"""The lease agreement's text is fixed by the order's figures (leasecore.lease.contract)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from leasecore.lease.contract import contract_text
from leasecore.values import ShortTerm
from tests.unit.test_lease import placed


def test_the_contract_states_the_units_the_term_the_deposit_the_waiver_and_the_first_payment() -> None:
    lease = placed(protected=True, waiver=D("2500.00"))
    text = contract_text(lease)
    assert f"order {lease.id}" in text
    assert f"1 unit(s) of SKU {lease.sku_id} for 12 months, with accident protection" in text
    assert "Deposit 3000.00 CNY, of which 2500.00 CNY is waived on credit and 500.00 CNY is paid" in text
    assert f"the first payment is {lease.due_now} CNY" in text


def test_a_short_term_contract_names_its_dates() -> None:
    lease = placed(plan=ShortTerm(date(2026, 2, 1), date(2026, 2, 5)), waiver=D("0.00"))
    assert "for 2026-02-01 to 2026-02-05, without accident protection" in contract_text(lease)

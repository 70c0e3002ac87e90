"""The quote: deposit, credit waiver, installments and what is due now, before an order exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from leasecore.catalog import Product, Sku
from leasecore.credit.policy import WaiverLimit, WaiverPolicy
from leasecore.errors import InvalidInput
from leasecore.lease.billing import BillingPolicy
from leasecore.lease.lease import LeaseTerms
from leasecore.lease.schedule import Installment, Rates, schedule_for
from leasecore.values import ZERO, Address, DepositMode, LongTerm, Plan, ShortTerm, money, total

MAX_QUANTITY = 20


@dataclass(frozen=True)
class OrderRequest:
    """What the customer asks for at checkout."""

    sku_id: UUID
    quantity: int
    plan: Plan
    protection: bool
    deposit_mode: DepositMode
    channel: str = "app"
    address: Address | None = None


@dataclass(frozen=True)
class Quote:
    """Every figure of an order before it is placed; the order keeps them."""

    terms: LeaseTerms
    deposit: Decimal
    waiver: Decimal
    installments: tuple[Installment, ...]
    waiver_limit: WaiverLimit | None = None
    """Why the waiver is less than the deposit when one was asked for; None when it is what was asked."""
    preauth: bool = False
    """The deposit not waived is frozen with the payment provider (押金预授权), not paid at checkout."""

    @property
    def waiver_reason(self) -> str | None:
        """The waiver's limit in the platform's words (docs/review-rules.md)."""
        return None if self.waiver_limit is None else str(self.waiver_limit)

    @property
    def deposit_due(self) -> Decimal:
        """The deposit paid at checkout: what the waiver leaves, unless it is frozen instead."""
        return ZERO if self.preauth else self.deposit - self.waiver

    @property
    def to_freeze(self) -> Decimal:
        """What the payment provider is asked to freeze before the order proceeds (押金预授权)."""
        return self.deposit - self.waiver if self.preauth else ZERO

    @property
    def rent_total(self) -> Decimal:
        return total(item.rent for item in self.installments)

    @property
    def protection_total(self) -> Decimal:
        return total(item.protection for item in self.installments)

    @property
    def due_now(self) -> Decimal:
        """The deposit not waived plus installment 1 (long) or the whole rent (short)."""
        return self.deposit_due + self.installments[0].amount


def make_quote(
    product: Product,
    sku: Sku,
    request: OrderRequest,
    *,
    today: date,
    score: int | None,
    available_quota: Decimal,
    waiver_policy: WaiverPolicy,
    billing: BillingPolicy,
) -> Quote:
    """Price a request by the catalog and the current policies; due dates as if starting today."""
    plan = request.plan
    product.check_orderable(plan, request.channel)
    if not 1 <= request.quantity <= MAX_QUANTITY:
        raise InvalidInput("quantity", f"must be 1 to {MAX_QUANTITY}")
    if isinstance(plan, ShortTerm) and plan.start < today:
        raise InvalidInput("plan.start", f"must be today ({today.isoformat()}) or later")
    protection = product.protection
    if request.protection and not protection.offered:
        raise InvalidInput("protection", f"{product.details.name} offers no accident protection")
    protected = protection.mandatory or request.protection
    rates, buyout_price = _rates(sku, plan, protected, protection.monthly, protection.daily)
    deposit = money(sku.deposit * request.quantity)
    waiver, waiver_limit = ZERO, None
    if request.deposit_mode.waives:
        waiver, waiver_limit = waiver_policy.decide(score, deposit, request.quantity, available_quota)
    start = today if isinstance(plan, LongTerm) else plan.start
    terms = LeaseTerms(
        plan=plan,
        quantity=request.quantity,
        unit_deposit=sku.deposit,
        rates=rates,
        buyout_price=buyout_price,
        renewal_rent=sku.renewal_monthly_rent or ZERO,
        daily_rent=sku.daily_rent or ZERO,
        damage_excess=protection.damage_excess if protected else None,
        late_fee=billing.late_fee_rule,
        early_buyout_discount_share=billing.early_buyout_discount_share,
    )
    installments = schedule_for(plan, start, rates, request.quantity)
    preauth = request.deposit_mode is DepositMode.PREAUTH
    return Quote(terms, deposit, waiver, installments, waiver_limit, preauth)


def _rates(sku: Sku, plan: Plan, protected: bool, monthly: Decimal, daily: Decimal) -> tuple[Rates, Decimal]:
    if isinstance(plan, LongTerm):
        price = sku.term_price(plan.months)
        if price is None:
            raise InvalidInput("plan.months", f"SKU {sku.id} has no rent for {plan.months} months")
        return Rates(price.monthly_rent, monthly if protected else ZERO), price.buyout_price
    if sku.daily_rent is None:
        raise InvalidInput("plan.kind", f"SKU {sku.id} has no daily rent")
    return Rates(sku.daily_rent, daily if protected else ZERO), ZERO

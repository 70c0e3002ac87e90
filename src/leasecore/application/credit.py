"""Customers and credit: registration, real-name identity, scoring and the credit line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from leasecore.application.base import Commands, command
from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import CreditEvaluation, Customer, IdentityCheck
from leasecore.credit.facts import platform_facts
from leasecore.credit.identity import id_number_problem
from leasecore.credit.scoring import Fact, ScoreSource
from leasecore.errors import InvalidInput, InvalidState, NotFound, Refused
from leasecore.values import ZERO


class CreditCommands(Commands):
    """Customers and credit: registration, real-name identity, scoring and the credit line."""

    @command
    def register_customer(self, phone: str) -> UUID:
        """A customer exists once per phone number; registering again is a no-op, unless the customer's
        personal data was erased: then it is a new start under the same id."""
        customer_id = Customer.create_id(phone)
        try:
            customer = self.customer(customer_id)
        except NotFound:
            self.save(Customer(phone, timestamp=self.clock.now()))
            return customer_id
        if customer.erased:
            customer.register_again(phone, self.clock.now())
            self.save(customer)
        return customer_id

    def verify_identity(
        self, customer_id: UUID, name: str, id_number: str, id_card_image: bytes, selfie_image: bytes
    ) -> IdentityCheck:
        """Real-name verification (实名认证): a valid resident ID number, then the identity provider reads
        the ID card and matches the selfie; what it found is recorded and returned."""
        problem = id_number_problem(id_number, self.local_today())
        if problem is not None:
            raise InvalidInput("id_number", problem)
        check = self.port(self.identity, "identity").verify(name, id_number, id_card_image, selfie_image)
        self.record_identity(customer_id, check)
        return check

    @command
    def record_identity(self, customer_id: UUID, check: IdentityCheck) -> Customer:
        customer = self.customer(customer_id)
        customer.record_identity(check, self.clock.now())
        self.save(customer)
        return customer

    def evaluate_credit(self, customer_id: UUID, provider_facts: Mapping[str, Fact] | None = None) -> CreditLine:
        """Score the customer by the configured source, map the score to a level and grant its quota."""
        rules = self.configured().scoring_rules()
        customer = self.customer(customer_id)
        if not customer.is_verified or customer.name is None or customer.id_number is None:
            raise InvalidState(
                f"customer {customer_id}", f"identity {customer.identity_status.value}", "evaluate the credit score"
            )
        if rules.source is ScoreSource.BUREAU:
            if self.bureau is None:
                raise Refused("no credit bureau is configured")
            answer = self.bureau.score(customer.name, customer.id_number)
            low, high = rules.range
            score = min(max(answer.score, low), high)
            details: dict[str, Any] = {
                "bureau": answer.provider,
                "reference": answer.reference,
                "bureau_score": answer.score,
            }
        else:
            now = self.clock.now()
            billing = self.billing_policy()
            line = self._credit_line_or_new(customer_id, now)
            leases = [self.lease(order_id) for order_id in customer.orders]
            facts = platform_facts(customer, line, leases, billing.late_fee_rule.local_date(now), billing.timezone)
            evaluation = rules.evaluate({**facts, **(provider_facts or {})})
            score, details = evaluation.score, evaluation.to_details()
        return self.grant_credit(customer_id, score, rules.source.value, details)

    @command
    def grant_credit(self, customer_id: UUID, score: int, source: str, details: dict[str, Any]) -> CreditLine:
        """A score maps to a level, whose quota the credit line is granted or adjusted to."""
        customer = self.customer(customer_id)
        now = self.clock.now()
        level = self.credit_levels().level_for(score)
        quota = level.quota if level else ZERO
        versions = {
            name: v for name, v in self.document_versions().items() if name in ("credit-levels", "scoring-rules")
        }
        customer.record_evaluation(
            CreditEvaluation(score, source, level.name if level else None, details, versions), now
        )
        try:
            line = self.credit_line(customer_id)
            line.adjust(quota, level.name if level else None, now)
        except NotFound:
            line = CreditLine.grant(customer_id, quota, level.name if level else None, now)
        self.save(customer, line)
        return line

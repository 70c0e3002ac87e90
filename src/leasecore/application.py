"""The application service: its methods are the platform's commands (load, decide, save, retry)."""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from leasecore.catalog import (
    CATEGORY_TREE_ID,
    CategoryTree,
    Inventory,
    LongTermOffer,
    Product,
    ProductDetails,
    Protection,
    ShortTermOffer,
    Sku,
    plan_dates,
)
from leasecore.clock import SystemClock
from leasecore.configuration import DOCUMENT_NAMES, Configuration, Configured
from leasecore.credit_line import CreditLine
from leasecore.customer import CreditEvaluation, Customer, IdentityCheck
from leasecore.deposit import Deposit
from leasecore.errors import Busy, InvalidInput, InvalidState, NotFound, Overdue, Refused
from leasecore.facts import platform_facts
from leasecore.lease import RENT_PAYABLE, BuyoutQuote, Lease, LeaseStatus, PaymentSource
from leasecore.operators import Operator, Role
from leasecore.payments import Payment, PaymentPurpose
from leasecore.policy import DEFAULT_SCORE_RANGE, BillingPolicy, CollectionAction, CreditLevels, WaiverPolicy
from leasecore.ports import Clock, CreditBureau, DailyWork, SmsSender
from leasecore.quote import OrderRequest, Quote, make_quote
from leasecore.scoring import Fact, ScoreSource, ScoringRules
from leasecore.transcodings import register_transcodings
from leasecore.values import ZERO, DepositMode, LongTerm, money

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)

DEFAULT_DATABASE_URL = "sqlite:///leasecore.db"


def persistence_env(database_url: str) -> dict[str, str]:
    """The event store for a database URL: `memory:`, `sqlite:///path` or `postgresql+psycopg2://…`."""
    if database_url in ("memory", "memory:", "memory://"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if database_url.startswith(("sqlite:", "postgresql")):
        return {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": database_url}
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///path or postgresql+psycopg2://…")


def command(method: Callable[P, R]) -> Callable[P, R]:
    """Run a command again, from a fresh load, when another writer got there first."""

    @functools.wraps(method)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        app: LeaseApplication = args[0]  # type: ignore[assignment]
        for attempt in itertools.count(1):
            try:
                return method(*args, **kwargs)
            except IntegrityError:
                if attempt >= app.retries:
                    raise Busy(f"{method.__name__} kept conflicting with other writers; try again") from None
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")

    return retrying


@dataclass
class DailyReport:
    """What one run of the daily job did."""

    as_of: date
    looked_at: int = 0
    cancelled: list[UUID] = field(default_factory=list)
    assessed: list[UUID] = field(default_factory=list)
    stage_changes: list[tuple[UUID, str | None]] = field(default_factory=list)


class LeaseApplication(Application[UUID]):
    """The credit rental platform's commands. Several aggregates changed by one command are
    saved together, so they commit atomically; conflicts are retried from a fresh load."""

    name = "leasecore"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        retries: int = 12,
        daily_work: DailyWork | None = None,
        bureau: CreditBureau | None = None,
        sms: SmsSender | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.retries = retries
        self.daily_work = daily_work
        self.bureau = bureau
        self.sms = sms

    @classmethod
    def for_database(cls, database_url: str, **kwargs: Any) -> LeaseApplication:
        return cls(env=persistence_env(database_url), **kwargs)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    # Loading.

    def get(self, cls: type[A], aggregate_id: UUID, kind: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(kind, aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(kind, aggregate_id)
        return aggregate

    def lease(self, order_id: UUID) -> Lease:
        return self.get(Lease, order_id, "order")

    def deposit(self, order_id: UUID) -> Deposit:
        return self.get(Deposit, Deposit.create_id(order_id), "deposit")

    def customer(self, customer_id: UUID) -> Customer:
        return self.get(Customer, customer_id, "customer")

    def credit_line(self, customer_id: UUID) -> CreditLine:
        return self.get(CreditLine, CreditLine.create_id(customer_id), "credit line")

    def product(self, product_id: UUID) -> Product:
        return self.get(Product, product_id, "product")

    def inventory(self, sku_id: UUID) -> Inventory:
        return self.get(Inventory, Inventory.create_id(sku_id), "sku")

    def categories(self) -> CategoryTree:
        try:
            return self.get(CategoryTree, CATEGORY_TREE_ID, "category tree")
        except NotFound:
            return CategoryTree(timestamp=self.clock.now())

    def _credit_line_or_new(self, customer_id: UUID, now: datetime) -> CreditLine:
        try:
            return self.credit_line(customer_id)
        except NotFound:
            return CreditLine.grant(customer_id, ZERO, None, now)

    # Configuration documents.

    def configure(self, name: str, document: Any, changed_by: str = "system") -> int:
        """Replace a configuration document, validated as a whole; returns its new version."""
        canonical = self._validated(name, document)
        return self._save_document(name, canonical, changed_by)

    @command
    def _save_document(self, name: str, canonical: dict[str, Any], changed_by: str) -> int:
        now = self.clock.now()
        try:
            config = self.get(Configuration, Configuration.create_id(name), "configuration")
            config.revise(canonical, changed_by, now)
        except NotFound:
            config = Configuration(name, canonical, changed_by, timestamp=now)
        self.save(config)
        return config.version

    def document(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        """A configuration document and its version (the current one unless asked)."""
        if name not in DOCUMENT_NAMES:
            raise NotFound("configuration", name)
        try:
            config: Configuration = self.repository.get(Configuration.create_id(name), version=version)
        except AggregateNotFoundError:
            raise NotFound("configuration", name if version is None else f"{name} v{version}") from None
        return config.version, config.document

    def configured(self) -> Configured:
        """Every configuration document as it stands now, read once, with its version."""
        documents = {}
        for name in DOCUMENT_NAMES:
            try:
                documents[name] = self.document(name)
            except NotFound:
                continue
        return Configured(documents)

    def document_versions(self) -> dict[str, int]:
        return self.configured().versions

    def score_range(self) -> tuple[int, int]:
        try:
            return ScoringRules.from_document(self.document("scoring-rules")[1]).range
        except NotFound:
            return DEFAULT_SCORE_RANGE

    def billing_policy(self) -> BillingPolicy:
        return BillingPolicy.from_document(self._required_document("billing"))

    def waiver_policy(self) -> WaiverPolicy:
        return WaiverPolicy.from_document(self._required_document("waiver-policy"), self.score_range())

    def credit_levels(self) -> CreditLevels:
        return CreditLevels.from_document(self._required_document("credit-levels"), self.score_range())

    def _required_document(self, name: str) -> dict[str, Any]:
        try:
            return self.document(name)[1]
        except NotFound:
            raise Refused(f"the {name} document is not configured yet") from None

    def _validated(self, name: str, document: Any) -> dict[str, Any]:
        if name == "billing":
            return BillingPolicy.from_document(document).to_document()
        if name == "waiver-policy":
            return WaiverPolicy.from_document(document, self.score_range()).to_document()
        if name == "credit-levels":
            return CreditLevels.from_document(document, self.score_range()).to_document()
        if name == "scoring-rules":
            rules = ScoringRules.from_document(document)
            for other, parse in (
                ("credit-levels", CreditLevels.from_document),
                ("waiver-policy", WaiverPolicy.from_document),
            ):
                try:
                    parse(self.document(other)[1], rules.range)
                except NotFound:
                    continue
                except LookupError:
                    raise
                except Exception as error:
                    raise InvalidInput("range", f"the current {other} no longer fits this range: {error}") from None
            return rules.to_document()
        raise NotFound("configuration", name)

    # Catalog.

    @command
    def add_category(self, name: str, parent_id: UUID | None = None, category_id: UUID | None = None) -> UUID:
        tree = self.categories()
        category_id = category_id or uuid4()
        tree.add(category_id, name, parent_id, self.clock.now())
        self.save(tree)
        return category_id

    @command
    def rename_category(self, category_id: UUID, name: str) -> None:
        tree = self.categories()
        tree.rename(category_id, name, self.clock.now())
        self.save(tree)

    @command
    def move_category(self, category_id: UUID, parent_id: UUID | None) -> None:
        tree = self.categories()
        tree.move(category_id, parent_id, self.clock.now())
        self.save(tree)

    @command
    def retire_category(self, category_id: UUID) -> None:
        tree = self.categories()
        tree.retire(category_id, self.clock.now())
        self.save(tree)

    @command
    def list_product(
        self,
        details: ProductDetails,
        long_term: LongTermOffer | None,
        short_term: ShortTermOffer | None,
        protection: Protection,
        skus: Iterable[Sku] = (),
        product_id: UUID | None = None,
    ) -> UUID:
        """A new product in a live category, with its SKUs, each with an empty stock."""
        if not self.categories().is_live(details.category_id):
            raise InvalidInput("category_id", f"category {details.category_id} does not exist or is retired")
        now = self.clock.now()
        product = Product.list(details, long_term, short_term, protection, now, product_id=product_id)
        inventories = []
        for sku in skus:
            product.add_sku(sku, now)
            inventories.append(Inventory(sku.id, product.id, timestamp=now))
        self.save(product, *inventories)
        return product.id

    @command
    def add_sku(self, product_id: UUID, sku: Sku) -> UUID:
        product = self.product(product_id)
        now = self.clock.now()
        product.add_sku(sku, now)
        self.save(product, Inventory(sku.id, product.id, timestamp=now))
        return sku.id

    @command
    def reprice_sku(self, product_id: UUID, sku: Sku) -> None:
        product = self.product(product_id)
        product.reprice_sku(sku, self.clock.now())
        self.save(product)

    @command
    def revise_product(self, product_id: UUID, details: ProductDetails, protection: Protection) -> None:
        if not self.categories().is_live(details.category_id):
            raise InvalidInput("category_id", f"category {details.category_id} does not exist or is retired")
        product = self.product(product_id)
        product.revise(details, protection, self.clock.now())
        self.save(product)

    @command
    def change_plans(
        self, product_id: UUID, long_term: LongTermOffer | None, short_term: ShortTermOffer | None
    ) -> None:
        product = self.product(product_id)
        product.change_plans(long_term, short_term, self.clock.now())
        self.save(product)

    @command
    def retire_product(self, product_id: UUID) -> None:
        product = self.product(product_id)
        product.retire(self.clock.now())
        self.save(product)

    @command
    def receive_units(self, sku_id: UUID, serials: list[str]) -> None:
        inventory = self.inventory(sku_id)
        inventory.receive(serials, self.clock.now())
        self.save(inventory)

    @command
    def retire_unit(self, sku_id: UUID, serial: str) -> None:
        inventory = self.inventory(sku_id)
        inventory.retire_unit(serial, self.clock.now())
        self.save(inventory)

    # Back-office accounts.

    @command
    def save_operator(self, username: str, roles: tuple[Role, ...], password_hash: str) -> UUID:
        """Create a back-office account, or change its roles and password if it exists."""
        now = self.clock.now()
        try:
            account = self.operator(username)
            account.change(roles, password_hash, now)
        except NotFound:
            account = Operator.create(username, roles, password_hash, now)
        self.save(account)
        return account.id

    def operator(self, username: str) -> Operator:
        return self.get(Operator, Operator.create_id(username), "operator")

    # Customers and credit.

    @command
    def register_customer(self, phone: str) -> UUID:
        """A customer exists once per phone number; registering again is a no-op."""
        customer_id = Customer.create_id(phone)
        if customer_id not in self.repository:
            self.save(Customer(phone, timestamp=self.clock.now()))
        return customer_id

    @command
    def record_identity(self, customer_id: UUID, check: IdentityCheck) -> Customer:
        customer = self.customer(customer_id)
        customer.record_identity(check, self.clock.now())
        self.save(customer)
        return customer

    def evaluate_credit(self, customer_id: UUID, provider_facts: Mapping[str, Fact] | None = None) -> CreditLine:
        """Score the customer by the configured source, map the score to a level and grant its quota."""
        rules = ScoringRules.from_document(self._required_document("scoring-rules"))
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

    # Orders.

    def quote(self, customer_id: UUID, request: OrderRequest) -> Quote:
        """Every figure of an order for this customer now, without placing it."""
        return self._quote(customer_id, request, self.clock.now())[0]

    def _quote(
        self, customer_id: UUID, request: OrderRequest, now: datetime
    ) -> tuple[Quote, Product, Inventory, CreditLine, Customer, Configured]:
        configured = self.configured()
        customer = self.customer(customer_id)
        inventory = self.inventory(request.sku_id)
        product = self.product(inventory.product_id)
        credit_line = self._credit_line_or_new(customer_id, now)
        if request.deposit_mode is DepositMode.WAIVER and credit_line.is_blocked:
            raise Overdue("no credit waiver while an order is overdue: pay it first, or choose the full deposit")
        billing = configured.billing()
        quote = make_quote(
            product,
            product.sku(request.sku_id),
            request,
            today=billing.late_fee_rule.local_date(now),
            score=customer.score,
            available_quota=credit_line.available,
            waiver_policy=configured.waiver_policy(),
            billing=billing,
        )
        return quote, product, inventory, credit_line, customer, configured

    @command
    def place_order(self, customer_id: UUID, request: OrderRequest, order_id: UUID | None = None) -> UUID:
        """Placing an order reserves its waiver on the credit line and its units for its dates."""
        order_id = order_id or uuid4()
        if order_id in self.repository:
            return order_id
        self.save(*self._prepare_order(order_id, customer_id, request, self.clock.now()))
        return order_id

    def _prepare_order(
        self,
        order_id: UUID,
        customer_id: UUID,
        request: OrderRequest,
        now: datetime,
        swapped_from: UUID | None = None,
    ) -> tuple[Lease, Deposit, CreditLine, Inventory, Customer]:
        if request.address is None:
            raise InvalidInput("address", "is required to place an order")
        quote, product, inventory, credit_line, customer, configured = self._quote(customer_id, request, now)
        if not customer.is_verified:
            raise InvalidState(
                f"customer {customer_id}", f"identity {customer.identity_status.value}", "place an order"
            )
        lease = Lease.place(
            order_id=order_id,
            customer_id=customer_id,
            product_id=product.id,
            sku_id=request.sku_id,
            channel=request.channel,
            deposit_mode=request.deposit_mode,
            address=request.address,
            terms=quote.terms,
            deposit=quote.deposit,
            waiver=quote.waiver,
            schedule=quote.installments,
            config_versions=configured.versions,
            now=now,
            swapped_from=swapped_from,
        )
        deposit = Deposit.require(order_id, quote.deposit, quote.waiver, now)
        if quote.waiver:
            credit_line.reserve(order_id, quote.waiver, now)
        start, end = plan_dates(request.plan, lease.local_date(now))
        inventory.book(order_id, request.quantity, start, end, now)
        customer.open_order(order_id, now)
        return lease, deposit, credit_line, inventory, customer

    @command
    def pay_checkout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """The checkout payment, once per provider transaction; automated review follows at once."""
        self.save(*self._take_checkout(order_id, ref, amount, paid_at))

    def _take_checkout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        if lease.status is not LeaseStatus.PENDING_PAYMENT or amount != lease.due_now:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        deposit = self.deposit(order_id)
        deposit.pay(lease.pay_checkout(ref, amount, paid_at, now), ref, now)
        self._review(lease, now)
        return [lease, deposit]

    def _review(self, lease: Lease, now: datetime) -> None:
        """Automated review (自动化审批): identity verified, score at the minimum, nothing overdue."""
        customer = self.customer(lease.customer_id)
        reasons = []
        if not customer.is_verified:
            reasons.append("identity is not verified")
        minimum = self.waiver_policy().min_score
        if customer.score is None:
            reasons.append("no credit score evaluated")
        elif customer.score < minimum:
            reasons.append(f"score {customer.score} is under the minimum {minimum}")
        if self._credit_line_or_new(lease.customer_id, now).is_blocked:
            reasons.append("another order is overdue")
        if reasons:
            lease.queue_for_review(tuple(reasons), now)
        else:
            lease.approve("automatic", "identity verified, score meets the minimum, nothing overdue", now)

    @command
    def approve(self, order_id: UUID, reviewer: str, reason: str = "") -> None:
        lease = self.lease(order_id)
        lease.approve(reviewer, reason, self.clock.now())
        self.save(lease)

    @command
    def reject(self, order_id: UUID, reviewer: str, reason: str) -> None:
        """Rejecting refunds the checkout and releases the waiver and the units."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.reject(reviewer, reason, now)
        self.save(lease, *self._release_everything(lease, "rejected", now))

    @command
    def cancel(self, order_id: UUID, reason: str = "cancelled by the customer") -> None:
        """Cancelling before shipping refunds what was paid and releases everything."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.cancel(reason, now)
        self.save(lease, *self._release_everything(lease, "cancelled", now))

    def _release_everything(self, lease: Lease, reason: str, now: datetime) -> list[Aggregate]:
        deposit = self.deposit(lease.id)
        deposit.refund(reason, now)
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        credit_line.release(lease.id, now)
        credit_line.clear_overdue(lease.id, now)
        inventory = self.inventory(lease.sku_id)
        inventory.release(lease.id, now)
        return [deposit, credit_line, inventory]

    @command
    def sign_contract(self, order_id: UUID, contract_id: str) -> None:
        lease = self.lease(order_id)
        lease.sign_contract(contract_id, self.clock.now())
        self.save(lease)

    @command
    def ship(self, order_id: UUID, unit_serials: list[str], carrier: str, tracking_no: str) -> None:
        """A specific unit (serial / IMEI) is assigned and goes out."""
        lease = self.lease(order_id)
        inventory = self.inventory(lease.sku_id)
        now = self.clock.now()
        lease.ship(tuple(unit_serials), carrier, tracking_no, now)
        inventory.assign(order_id, list(unit_serials), now)
        self.save(lease, inventory)

    @command
    def confirm_receipt(self, order_id: UUID) -> None:
        lease = self.lease(order_id)
        lease.confirm_receipt(self.clock.now())
        self.save(lease)

    @command
    def pay_installments(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """A rent payment, once per provider transaction; paying what is overdue lifts the block."""
        self.save(*self._take_installments(order_id, ref, amount, paid_at))

    def _take_installments(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        if lease.status not in RENT_PAYABLE:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.pay_rent(ref, amount, paid_at, now)
        return [lease, *self._follow_overdue(lease, now)]

    def _follow_overdue(self, lease: Lease, now: datetime) -> list[Aggregate]:
        """Keep the credit line's block and the collection stage in step with the ledger."""
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        if lease.ledger.is_overdue:
            credit_line.mark_overdue(lease.id, now)
        else:
            credit_line.clear_overdue(lease.id, now)
            lease.move_collection_stage(None, now)
        return [credit_line]

    @command
    def renew(self, order_id: UUID, months: int) -> None:
        lease = self.lease(order_id)
        lease.renew(months, self.clock.now())
        self.save(lease)

    @command
    def request_return(self, order_id: UUID, tracking_no: str) -> None:
        lease = self.lease(order_id)
        lease.request_return(tracking_no, self.clock.now())
        self.save(lease)

    @command
    def record_return(self, order_id: UUID) -> None:
        """The device is back: its unit is free for the next customer once inspected."""
        lease = self.lease(order_id)
        inventory = self.inventory(lease.sku_id)
        now = self.clock.now()
        lease.record_return(now)
        inventory.release(order_id, now)
        self.save(lease, inventory)

    @command
    def complete_inspection(self, order_id: UUID, damage_fee: Decimal, notes: str = "") -> None:
        """Damage is charged, everything owed is netted against the deposit, the rest refunded."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.complete_inspection(damage_fee, notes, now)
        self.save(lease, *self._settle(lease, now))

    @command
    def pay_balance(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """The `damage` payment: what the deposit did not cover; the order then settles."""
        self.save(*self._take_balance(order_id, ref, amount, paid_at))

    def _take_balance(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        if lease.status is not LeaseStatus.PENDING_SETTLEMENT:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.pay_balance(ref, amount, PaymentSource.PROVIDER, paid_at, now)
        return [lease, *self._settle(lease, now)]

    @command
    def settle(self, order_id: UUID) -> bool:
        """Settle when nothing is owed and the device is back or bought out; idempotent."""
        lease = self.lease(order_id)
        if lease.status is LeaseStatus.SETTLED:
            return True
        now = self.clock.now()
        changed = self._settle(lease, now)
        self.save(lease, *changed)
        return lease.is_settled

    def _settle(self, lease: Lease, now: datetime) -> list[Aggregate]:
        """Net what is owed against the deposit held; settle and release the waiver when clear."""
        lease.check_settleable()
        deposit = self.deposit(lease.id)
        owed = lease.owed(now)
        take = min(owed, deposit.held)
        if take > ZERO:
            deposit.deduct(take, "settlement", now)
            lease.pay_balance(f"deposit:{deposit.id}:{deposit.version}", take, PaymentSource.DEPOSIT, now, now)
            owed = lease.owed(now)
        if owed > ZERO:
            if lease.status is LeaseStatus.INSPECTING:
                lease.await_balance(now)
            return [deposit]
        return [deposit, *self._close(lease, deposit, now)]

    def _close(self, lease: Lease, deposit: Deposit, now: datetime) -> list[Aggregate]:
        deposit.refund("settled", now)
        lease.settle(now)
        credit_line = self._credit_line_or_new(lease.customer_id, now)
        credit_line.release(lease.id, now)
        credit_line.clear_overdue(lease.id, now)
        return [credit_line]

    def buyout_quote(self, order_id: UUID) -> tuple[BuyoutQuote, Decimal]:
        """The buyout price and what remains to pay after the deposit held counts toward it."""
        lease = self.lease(order_id)
        quote = lease.buyout_quote(self.clock.now())
        return quote, max(ZERO, quote.price - self.deposit(order_id).held)

    @command
    def buy_out(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """Ownership passes once the price is paid, the deposit counting toward it; then settle."""
        self.save(*self._take_buyout(order_id, ref, amount, paid_at))

    def _take_buyout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        deposit = self.deposit(order_id)
        try:
            price = lease.buyout_quote(now).price
        except (InvalidState, Refused):
            if amount > ZERO:
                lease.record_stray_payment(ref, amount, paid_at, now)
                return [lease]
            raise
        from_deposit = min(deposit.held, price)
        if amount + from_deposit != price:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        lease.buy_out(ref, amount, from_deposit, paid_at, now)
        if from_deposit:
            deposit.deduct(from_deposit, "buyout", now)
        inventory = self.inventory(lease.sku_id)
        inventory.sell(order_id, now)
        return [lease, deposit, inventory, *self._close(lease, deposit, now)]

    # Payments through a provider.

    @command
    def request_payment(
        self,
        order_id: UUID,
        purpose: PaymentPurpose,
        provider: str,
        amount: Decimal | None = None,
        payment_id: UUID | None = None,
    ) -> Payment:
        """A payment to collect through a provider. The platform prices checkout, buyout and damage
        itself; an installments payment may be partial, by default everything due now."""
        lease = self.lease(order_id)
        now = self.clock.now()
        if purpose is not PaymentPurpose.INSTALLMENTS:
            amount = self._amount_due(lease, purpose, now)
        elif amount is None:
            lease.require(*RENT_PAYABLE, action="pay rent")
            amount = lease.owed_by(now)
            if amount == ZERO:
                raise Refused("nothing is due now; give an amount to pay ahead")
        elif amount <= ZERO or amount != money(amount):
            raise InvalidInput("amount", "must be an amount of money above 0, in fen")
        else:
            lease.require(*RENT_PAYABLE, action="pay rent")
            owed = lease.owed(now)
            if amount > owed:
                raise InvalidInput("amount", f"exceeds everything still owed on the order, {owed}")
        payment = Payment.request(order_id, lease.customer_id, purpose, amount, provider, now, payment_id)
        self.save(payment)
        return payment

    def _amount_due(self, lease: Lease, purpose: PaymentPurpose, now: datetime) -> Decimal:
        """What the order owes now for checkout, buyout or damage; refused when there is nothing."""
        if purpose is PaymentPurpose.CHECKOUT:
            lease.require(LeaseStatus.PENDING_PAYMENT, action="pay the checkout")
            return lease.due_now
        if purpose is PaymentPurpose.BUYOUT:
            _, to_pay = self.buyout_quote(lease.id)
            if to_pay == ZERO:
                raise Refused("the deposit held covers the buyout: choose buyout at the end of term, nothing to pay")
            return to_pay
        lease.require(LeaseStatus.PENDING_SETTLEMENT, action="pay the balance")
        return lease.owed(now)

    def payment(self, payment_id: UUID) -> Payment:
        return self.get(Payment, payment_id, "payment")

    @command
    def complete_payment(self, payment_id: UUID, transaction_id: str, amount: Decimal, paid_at: datetime) -> Payment:
        """The provider says the money moved: the order takes it (or refunds it if it no longer can),
        once per provider transaction, saved together with the payment."""
        payment = self.payment(payment_id)
        if not payment.succeed(transaction_id, amount, paid_at, self.clock.now()):
            return payment
        take = {
            PaymentPurpose.CHECKOUT: self._take_checkout,
            PaymentPurpose.INSTALLMENTS: self._take_installments,
            PaymentPurpose.BUYOUT: self._take_buyout,
            PaymentPurpose.DAMAGE: self._take_balance,
        }[payment.purpose]
        self.save(payment, *take(payment.order_id, transaction_id, amount, paid_at))
        return payment

    @command
    def fail_payment(self, payment_id: UUID, reason: str) -> Payment:
        payment = self.payment(payment_id)
        payment.fail(reason, self.clock.now())
        self.save(payment)
        return payment

    @command
    def swap(self, order_id: UUID, sku_id: UUID, tracking_no: str, new_order_id: UUID | None = None) -> UUID:
        """Swap (换机): this lease goes back through inspection; a linked order for another SKU
        is placed on the same plan and deposit mode."""
        lease = self.lease(order_id)
        now = self.clock.now()
        new_order_id = new_order_id or uuid4()
        plan = lease.plan
        if not isinstance(plan, LongTerm):
            raise Refused("only a long-term lease can be swapped")
        request = OrderRequest(
            sku_id, lease.quantity, plan, lease.terms.protected, lease.deposit_mode, lease.channel, lease.address
        )
        lease.swap_out(new_order_id, tracking_no, now)
        new = self._prepare_order(new_order_id, lease.customer_id, request, now, swapped_from=order_id)
        self.save(lease, *new)
        return new_order_id

    # The daily job.

    def run_daily(self, as_of: date | None = None) -> DailyReport:
        """Overdue marking, late fees, collection stages and unpaid-order timeouts, idempotent per day."""
        billing = self.billing_policy()
        now = self.clock.now()
        as_of = as_of or billing.late_fee_rule.local_date(now)
        report = DailyReport(as_of)
        work = self.daily_work.orders_to_assess(as_of) if self.daily_work else self._open_orders()
        for order_id in work:
            report.looked_at += 1
            self._daily_one(order_id, as_of, billing, report)
        return report

    @command
    def _daily_one(self, order_id: UUID, as_of: date, billing: BillingPolicy, report: DailyReport) -> None:
        lease = self.lease(order_id)
        now = self.clock.now()
        if lease.status is LeaseStatus.PENDING_PAYMENT:
            if now - lease.placed_at >= timedelta(minutes=billing.unpaid_timeout_minutes):
                lease.cancel(f"unpaid after {billing.unpaid_timeout_minutes} minutes", now)
                self.save(lease, *self._release_everything(lease, "unpaid timeout", now))
                report.cancelled.append(order_id)
            return
        if lease.status not in RENT_PAYABLE:
            return
        if lease.assess_overdue(as_of, now):
            report.assessed.append(order_id)
        stage = billing.stage_for(lease.ledger.days_overdue) if lease.ledger.is_overdue else None
        moved = lease.move_collection_stage(stage.action.value if stage else None, now)
        self.save(lease, *self._follow_overdue(lease, now))
        if moved:
            report.stage_changes.append((order_id, lease.collection_stage))
            if stage is not None and stage.action is CollectionAction.SMS:
                self._remind(lease)

    def _remind(self, lease: Lease) -> None:
        """The reminder SMS of collections (催收), sent after the stage change is saved."""
        if self.sms is None:
            return
        owed = lease.ledger.owed
        text = (
            f"[leasecore] Order {str(lease.id)[:8]}: {owed} CNY is overdue by {lease.ledger.days_overdue} "
            f"day(s). Please pay in the app to stop late fees."
        )
        self.sms.send(self.customer(lease.customer_id).phone, text)

    def _open_orders(self) -> Iterator[UUID]:
        """Every order not yet final, read from the event log (the read model does this faster)."""
        topic = f"{Lease.__module__}:{Lease.__qualname__}.OrderPlaced"
        position = 0
        while page := self.recorder.select_notifications(position, 500, topics=[topic], inclusive_of_start=False):
            for notification in page:
                order_id = UUID(str(notification.originator_id))
                if not self.lease(order_id).status.is_final:
                    yield order_id
            position = page[-1].id

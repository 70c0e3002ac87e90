"""Orders from checkout to receipt: quote, place, review, cancel, contract, shipping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from leasecore.application.base import command
from leasecore.application.stock import StockCommands
from leasecore.catalog import (
    Product,
    plan_dates,
)
from leasecore.configuration import Configured
from leasecore.credit.credit_line import CreditLine
from leasecore.credit.customer import Customer
from leasecore.errors import InvalidInput, InvalidState, NotFound, Overdue
from leasecore.lease.contract import contract_text
from leasecore.lease.lease import AUTOMATIC, Lease, LeaseStatus
from leasecore.lease.quote import OrderRequest, Quote, make_quote
from leasecore.lease.reasons import BY_CUSTOMER, PASSED, automated_review
from leasecore.money.deposit import Deposit
from leasecore.ports import ESignature, SignedContract, SigningOutcome, SigningSession, TrackingStatus
from leasecore.values import ZERO, DepositMode


class OrderCommands(StockCommands):
    """Orders from checkout to receipt: quote, place, review, cancel, contract, shipping."""

    def quote(self, customer_id: UUID, request: OrderRequest) -> Quote:
        """Every figure of an order for this customer now, without placing it."""
        return self._quote(customer_id, request, self.clock.now())[0]

    def quote_for_visitor(self, request: OrderRequest) -> Quote:
        """What anyone not logged in is quoted: the whole deposit, since a waiver needs the customer's credit."""
        configured = self.configured()
        product = self.product(self.inventory(request.sku_id, to_change=False).product_id, to_change=False)
        billing = configured.billing()
        return make_quote(
            product,
            product.sku(request.sku_id),
            replace(request, deposit_mode=DepositMode.FULL),
            today=billing.late_fee_rule.local_date(self.clock.now()),
            score=None,
            available_quota=ZERO,
            waiver_policy=configured.waiver_policy(),
            billing=billing,
        )

    def _quote(
        self, customer_id: UUID, request: OrderRequest, now: datetime
    ) -> tuple[Quote, Product, CreditLine, Customer, Configured]:
        configured = self.configured()
        customer = self.customer(customer_id)
        product = self.product(self.inventory(request.sku_id, to_change=False).product_id, to_change=False)
        credit_line = self._credit_line_or_new(customer_id, now)
        if request.deposit_mode.waives and credit_line.is_blocked:
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
        return quote, product, credit_line, customer, configured

    @command
    def place_order(self, customer_id: UUID, request: OrderRequest, order_id: UUID | None = None) -> UUID:
        """Placing an order reserves its waiver on the credit line and its units for its dates; placing one
        under an id that exists already changes nothing."""
        if order_id is not None and order_id in self.repository:
            return order_id
        order_id = order_id or uuid4()
        self.save(*self._prepare_order(order_id, customer_id, request, self.clock.now()))
        return order_id

    def _prepare_order(
        self,
        order_id: UUID,
        customer_id: UUID,
        request: OrderRequest,
        now: datetime,
        swapped_from: UUID | None = None,
    ) -> tuple[Aggregate, ...]:
        if request.address is None:
            raise InvalidInput("address", "is required to place an order")
        quote, product, credit_line, customer, configured = self._quote(customer_id, request, now)
        if not customer.is_verified:
            raise InvalidState(
                f"customer {customer_id}", f"identity {customer.identity_status.value}", "place an order"
            )
        start, end = plan_dates(request.plan, configured.billing().late_fee_rule.local_date(now))
        units = self._book_units(request.sku_id, order_id, request.quantity, start, end, now)
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
            booked_units=tuple(unit.serial for unit in units),
            now=now,
            swapped_from=swapped_from,
        )
        deposit = Deposit.require(order_id, quote.deposit, quote.waiver, now)
        if quote.preauth:
            deposit.require_freeze(now)
        if quote.waiver:
            credit_line.reserve(order_id, quote.waiver, now)
        customer.open_order(order_id, now)
        return lease, deposit, credit_line, customer, *units

    @command
    def pay_checkout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> None:
        """The checkout payment, once per provider transaction; automated review follows at once."""
        self.save(*self._take_checkout(order_id, ref, amount, paid_at))

    def _take_checkout(self, order_id: UUID, ref: str, amount: Decimal, paid_at: datetime) -> list[Aggregate]:
        lease = self.lease(order_id)
        if lease.has_payment(ref):
            return []
        now = self.clock.now()
        deposit = self.deposit(order_id)
        if lease.status is not LeaseStatus.PENDING_PAYMENT or amount != lease.due_now or not deposit.is_secured:
            lease.record_stray_payment(ref, amount, paid_at, now)
            return [lease]
        deposit.pay(lease.pay_checkout(ref, amount, paid_at, now), ref, now)
        self._review(lease, now)
        return [lease, deposit]

    def _review(self, lease: Lease, now: datetime) -> None:
        """Automated review (自动化审批): identity verified, score at the minimum, nothing overdue."""
        customer = self.customer(lease.customer_id)
        reasons = automated_review(
            customer.is_verified,
            customer.score,
            self.waiver_policy().min_score,
            self._credit_line_or_new(lease.customer_id, now).is_blocked,
        )
        if reasons:
            lease.queue_for_review(tuple(str(reason) for reason in reasons), now)
        else:
            lease.approve(AUTOMATIC, str(PASSED), now)

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
    def cancel(self, order_id: UUID, reason: str = str(BY_CUSTOMER)) -> None:
        """Cancelling before shipping refunds what was paid and releases everything."""
        lease = self.lease(order_id)
        now = self.clock.now()
        lease.cancel(reason, now)
        self.save(lease, *self._release_everything(lease, "cancelled", now))

    @command
    def record_contract(self, order_id: UUID, contract_id: str, *, document_id: str = "", sha256: str = "") -> None:
        """The signed contract's id is kept on the order, which may then ship; with the signed document's id at the
        provider and the SHA-256 of its bytes when the provider gives them."""
        lease = self.lease(order_id)
        lease.sign_contract(contract_id, self.clock.now(), document_id=document_id, sha256=sha256)
        self.save(lease)

    @command
    def record_signing_started(self, order_id: UUID, flow_id: str) -> None:
        """The provider opened a sign flow for the order's contract; its end is called back."""
        lease = self.lease(order_id)
        lease.start_signing(flow_id, self.clock.now())
        self.save(lease)

    def sign_contract(self, order_id: UUID, return_url: str = "") -> SignedContract | SigningSession:
        """The verified customer signs the lease agreement, whose text the order's figures fix, through the
        e-signature provider's sign flow. A provider that signs at once (the sandbox) has the contract recorded now;
        a real one answers the page the customer signs on (which sends them to `return_url` once signed), and the
        contract is recorded when it calls back. Asking again while a flow is under way answers that flow's page
        again, never a second contract; the provider is asked first where the flow stands, so a flow whose callback
        never came is recorded signed, or, ended unsigned, replaced by a new one."""
        lease = self.lease(order_id)
        lease.require(LeaseStatus.PENDING_CONTRACT, action="sign the contract")
        customer = self.customer(lease.customer_id)
        esign = self.port(self.esign, "e-signature")
        flow_id = lease.signing_flow_id
        if flow_id is not None:
            outcome = esign.signing_outcome(flow_id)
            if outcome.final and outcome.completed:
                return self._record_signed(esign, order_id, flow_id)
            if outcome.final:
                self.complete_signing(order_id, outcome)
                flow_id = None
        if flow_id is None:
            notify_url = self.ports.signing_notify_url(esign.provider)
            name, id_number, text = customer.name or "", customer.id_number or "", contract_text(lease)
            session = esign.start_signing(order_id, name, id_number, customer.phone, text, notify_url, return_url)
            self.record_signing_started(order_id, session.flow_id)
        else:
            session = esign.resume_signing(flow_id, customer.phone, return_url)
        if not session.completed:
            return session
        return self._record_signed(esign, order_id, session.flow_id)

    def _record_signed(self, esign: ESignature, order_id: UUID, flow_id: str) -> SignedContract:
        document = esign.signed_document(flow_id)
        signed_at = self.clock.now()
        self.record_contract(order_id, flow_id, document_id=document.document_id, sha256=document.sha256)
        return SignedContract(flow_id, signed_at, document.url)

    def verify_signing_callback(self, provider: str, body: bytes, headers: Mapping[str, str]) -> SigningOutcome:
        """The e-signature provider's callback, verified (`InvalidSignature` when not authentic)."""
        esign = self.port(self.esign, "e-signature")
        if esign.provider != provider:
            raise NotFound("e-signature provider", provider)
        return esign.verify_callback(body, headers)

    @command
    def complete_signing(self, order_id: UUID, outcome: SigningOutcome) -> bool:
        """A sign flow's end as the provider called it back: signed, the contract is recorded with the document the
        provider keeps; unsigned (refused, revoked, expired), the order may start another. A flow that is not the
        order's one under way, or already recorded, changes nothing: returns whether anything was recorded."""
        lease = self.lease(order_id)
        if not outcome.final or lease.status is not LeaseStatus.PENDING_CONTRACT:
            return False
        if lease.signing_flow_id != outcome.flow_id:
            return False
        now = self.clock.now()
        if outcome.completed:
            document = self.port(self.esign, "e-signature").signed_document(outcome.flow_id)
            lease.sign_contract(outcome.flow_id, now, document_id=document.document_id, sha256=document.sha256)
        else:
            lease.abandon_signing(outcome.flow_id, outcome.reason or "the sign flow ended unsigned", now)
        self.save(lease)
        return True

    def track(self, order_id: UUID) -> TrackingStatus:
        """Where the order's parcel is, as its carrier tells."""
        lease = self.lease(order_id)
        if lease.carrier is None or lease.tracking_no is None:
            raise InvalidState(f"order {order_id}", lease.status.value, "track it before it ships")
        return self.port(self.logistics, "logistics").track(lease.carrier, lease.tracking_no)

    @command
    def ship(self, order_id: UUID, unit_serials: list[str], carrier: str, tracking_no: str) -> None:
        """A specific unit (serial / IMEI) is assigned and goes out."""
        lease = self.lease(order_id)
        now = self.clock.now()
        held = self._units_held(lease)
        lease.ship(tuple(unit_serials), carrier, tracking_no, now)
        self.save(lease, *self._ship_units(lease, held, unit_serials, now))

    @command
    def confirm_receipt(self, order_id: UUID) -> None:
        lease = self.lease(order_id)
        lease.confirm_receipt(self.clock.now())
        self.save(lease)

    @command
    def confirm_delivery(self, order_id: UUID) -> bool:
        """The carrier's word that the parcel was signed for confirms receipt, once: an order no longer shipped (the
        customer confirmed first, or an earlier push did) stays as it is. True when this call confirmed it."""
        lease = self.lease(order_id)
        if lease.status is not LeaseStatus.SHIPPED:
            return False
        lease.confirm_receipt(self.clock.now())
        self.save(lease)
        return True

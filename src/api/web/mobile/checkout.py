"""Checkout: what was picked on the product page and its quote once more, the delivery address, and the order placed
as `POST /v1/orders` places it. The form carries a one-time key that becomes the order's id, so a double tap, or the
form sent again after a reload, places one order; the order placed is found again on "my orders"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from starlette.responses import Response

import projections.catalog
import projections.customers
from api.http import answers
from api.http.endpoints.orders import order_request
from api.http.schemas.orders import PlaceOrder, PlanOut
from api.web import i18n
from api.web.mobile import catalog
from api.web.mobile.catalog import Choice
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from api.web.mobile.orders import plan_text, specs_text
from leasecore.errors import InvalidInput, InvalidState, NotFound, Overdue, QuotaExceeded, Refused, Unavailable
from projections.catalog import ProductView

pages = Pages()

ADDRESS = ("name", "phone", "line")
"""The address form's fields, each posted as `address.<field>` as the API's body names it."""

WORDS = {
    "m.checkout.title": ("确认订单", "Check out"),
    "m.checkout.choice": ("租赁方案", "What you rent"),
    "m.checkout.sku": ("规格", "Model"),
    "m.checkout.plan": ("租期", "Term"),
    "m.checkout.protection": ("意外保障", "Accident protection"),
    "m.checkout.protected": ("已选", "Included"),
    "m.checkout.unprotected": ("不需要", "Not included"),
    "m.checkout.deposit": ("押金方式", "Deposit"),
    "m.checkout.change": ("修改", "Change"),
    "m.checkout.address": ("收货地址", "Delivery address"),
    "m.checkout.name": ("收货人", "Recipient"),
    "m.checkout.phone": ("手机号", "Phone number"),
    "m.checkout.line": ("详细地址", "Address"),
    "m.checkout.line_hint": ("省市区、街道、门牌号", "Province, city, district, street and number"),
    "m.checkout.submit": ("提交订单", "Place the order"),
    "m.checkout.verify": ("去实名认证", "Verify my identity"),
    "m.checkout.unverified": (
        "下单前需要完成实名认证。",
        "Verify your identity before you place an order.",
    ),
    "m.checkout.unverified_waiver": (
        "下单前需要完成实名认证，认证并评估信用后可享信用免押。",
        "Verify your identity before you place an order; with your credit evaluated the deposit can be waived.",
    ),
    "m.checkout.fine": (
        "提交订单即表示同意租赁服务协议；审核通过后签署电子合同。",
        "By placing the order you accept the rental terms; the contract is signed once the order is approved.",
    ),
    "m.checkout.unavailable": (
        "很抱歉，所选规格或日期暂时无货，请换一个规格或日期。",
        "Sorry, no unit is free for that model or those dates: pick another.",
    ),
    "m.checkout.quota": (
        "您的免押额度不足，可选择全额押金或降低免押金额。",
        "Your waiver available is too small: choose the full deposit instead.",
    ),
    "m.checkout.overdue": (
        "您有逾期未付的账单，还清后才能信用免押；也可选择全额押金。",
        "An overdue bill must be paid before credit waives a deposit; or choose the full deposit.",
    ),
    "m.checkout.expired": ("页面已过期，请确认后重新提交", "The page had expired: check it and place the order again"),
    "m.checkout.refused": ("无法下单：{reason}", "The order cannot be placed: {reason}"),
    "m.checkout.invalid.address.name": ("请填写收货人姓名", "Give the recipient's name"),
    "m.checkout.invalid.address.phone": (
        "请填写正确的手机号（6–15 位数字）",
        "Give a phone number of 6 to 15 digits",
    ),
    "m.checkout.invalid.address.line": ("请填写详细收货地址", "Give the delivery address"),
}
i18n.add(WORDS)


@pages.get("/checkout")
def checkout(page: MobilePage) -> Response:
    """The choice of the product page's query, its quote, and the address form (filled from the customer's
    verified name and phone), under a fresh one-time key."""
    person = projections.customers.customer(page.views, page.me)
    address = {"name": (person.name or "") if person else "", "phone": person.phone if person else "", "line": ""}
    return _checkout_page(page, key=str(uuid4()), address=address)


@pages.post("/checkout")
def place(page: MobilePage) -> Response:
    """The order placed under the form's one-time key, as `POST /v1/orders` would be sent it; then its payment.
    Placing under a key already used changes nothing, so a second tap leads to the same order."""
    address = {name: page.form.get(f"address.{name}", "").strip() for name in ADDRESS}
    key = page.form.get("key", "")
    try:
        order_id = UUID(key)
    except ValueError:
        return _checkout_page(page, 422, key=str(uuid4()), address=address, notice=page.t("m.checkout.expired"))
    product = _product(page)
    choice = catalog.choose(page, product)
    try:
        body = page.parse(PlaceOrder, _body(page, choice, address))
        placed = page.app.place_order(page.me, order_request(body), order_id=order_id)
    except FormInvalid as invalid:
        errors = {name: _field_words(page, name, message) for name, message in invalid.errors.items()}
        return _checkout_page(page, 422, key=key, address=address, errors=errors)
    except (Refused, InvalidState, InvalidInput) as refusal:
        return _checkout_page(page, 409, key=key, address=address, notice=_refusal(page, refusal))
    page.service.written()
    answers.owned(page.views, placed, page.me)
    return page.redirect(f"/orders/{placed}/pay", purpose="checkout")


def _checkout_page(
    page: MobilePage,
    status: int = 200,
    /,
    *,
    key: str,
    address: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    product = _product(page)
    choice = catalog.choose(page, product)
    quote, problem = catalog.quote_for(page, product, choice)
    person = projections.customers.customer(page.views, page.me)
    here = page.url("/checkout", **choice.query())
    return page.render(
        "mobile/checkout.html",
        status,
        product=product,
        choice=choice,
        specs=specs_text(product, choice.sku.id),
        plan=plan_text(page, _plan(choice)),
        quote=quote,
        problem=problem,
        verified=person is not None and person.identity_status == "verified",
        here=here,
        back=page.url(f"/products/{product.id}", **choice.query()),
        identity=page.url("/me/identity", next=here),
        key=key,
        address=address,
        errors=errors or {},
        notice=notice,
    )


def _product(page: MobilePage) -> ProductView:
    """The product the query's SKU belongs to (the read model's, as the product page shows it)."""
    try:
        sku_id = UUID(page.query.get("sku", ""))
    except ValueError:
        raise NotFound("sku", page.query.get("sku")) from None
    product_id = page.app.inventory(sku_id, to_change=False).product_id
    found = projections.catalog.product(page.views, product_id)
    if found is None or found.retired:
        raise NotFound("product", product_id)
    return found


def _body(page: MobilePage, choice: Choice, address: Mapping[str, str]) -> dict[str, Any]:
    """The body `POST /v1/orders` would be sent for this choice and address."""
    plan: dict[str, Any] = {"kind": choice.kind}
    if choice.kind == "long":
        plan["months"] = choice.months
    else:
        plan["start"], plan["end"] = choice.start, choice.end
    return {
        "sku_id": choice.sku.id,
        "quantity": 1,
        "plan": plan,
        "protection": choice.protection,
        "deposit_mode": choice.deposit_mode.value,
        "channel": catalog.channel(page),
        "address": dict(address),
    }


def _plan(choice: Choice) -> PlanOut:
    return PlanOut(
        kind="long" if choice.kind == "long" else "short", months=choice.months, start=choice.start, end=choice.end
    )


def _field_words(page: MobilePage, name: str, message: str) -> str:
    """A field's mistake in the page's words where it has them, else the API's."""
    key = f"m.checkout.invalid.{name}"
    return page.t(key) if i18n.known(key) else message


def _refusal(page: MobilePage, refusal: Exception) -> str:
    """Why the order was not placed, in words the customer can act on."""
    if isinstance(refusal, Unavailable):
        return page.t("m.checkout.unavailable")
    if isinstance(refusal, QuotaExceeded):
        return page.t("m.checkout.quota")
    if isinstance(refusal, Overdue):
        return page.t("m.checkout.overdue")
    if isinstance(refusal, InvalidState) and refusal.state.startswith("identity"):
        return page.t("m.checkout.unverified")
    if isinstance(refusal, InvalidInput):
        return page.t("m.checkout.refused", reason=refusal.message)
    return page.t("m.checkout.refused", reason=str(refusal))

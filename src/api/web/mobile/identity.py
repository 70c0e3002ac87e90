"""Real-name verification (实名认证) and the credit it opens. The customer gives their name, ID number, the ID card's
photo and a selfie (from the camera or the album); the identity provider gets them as `POST /v1/me/identity` hands
them over, and a verified customer's credit is evaluated at once, as `POST /v1/me/credit` does. "My credit line"
shows the score, level, quota, what open orders reserve and what is available, as the read models hold them, and,
when no deposit would be waived, why: by the waiver policy the quote applies, in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from starlette.responses import RedirectResponse, Response

import projections.catalog
import projections.credit_lines
import projections.customers
from adapters.errors import AdapterError
from api.http import answers
from api.http.schemas import me as schemas
from api.web import i18n
from api.web.admin.shipping import MAX_PHOTO, PHOTO_TYPES, photo_type
from api.web.formatting import money, percent
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from api.web.pages import limit_in_words, safe_next, uploads
from leasecore.credit.customer import Customer
from leasecore.credit.policy import WaiverPolicy
from leasecore.errors import InvalidInput
from leasecore.values import ZERO
from projections.credit_lines import CreditLineView
from projections.customers import CustomerView

pages = Pages()

IMAGES = ("id_card_image", "selfie_image")
"""The two photos a verification needs, by the API's names for them."""

WORDS = {
    "m.identity.title": ("实名认证", "Verify your identity"),
    "m.identity.lead": (
        "按国家规定，租用前需完成实名认证。信息仅用于核验身份与信用评估。",
        "The law asks us to verify who rents. What you give is used only to check who you are and your credit.",
    ),
    "m.identity.name": ("真实姓名", "Full name"),
    "m.identity.id_number": ("身份证号", "ID number"),
    "m.identity.id_number_hint": ("18 位，最后一位可能是 X", "18 characters; the last may be X"),
    "m.identity.id_card_image": ("身份证人像面照片", "Photo of your ID card (the side with your picture)"),
    "m.identity.selfie_image": ("本人自拍照", "A selfie"),
    "m.identity.image_hint": (
        "可拍照或从相册选择；JPEG、PNG 或 WebP，不超过 5 MB",
        "Take a photo or choose one; JPEG, PNG or WebP, at most 5 MB",
    ),
    "m.identity.submit": ("提交认证", "Verify"),
    "m.identity.verified": ("您已完成实名认证", "Your identity is verified"),
    "m.identity.verified_as": ("认证姓名", "Verified name"),
    "m.identity.to_credit": ("查看我的额度", "See my credit line"),
    "m.identity.rejected": ("认证未通过", "Verification failed"),
    "m.identity.rejected_why": ("原因：{reason}", "Why: {reason}"),
    "m.identity.rejected_hint": (
        "请核对姓名与身份证号，重新拍摄清晰、无遮挡的证件照和自拍后再提交。",
        "Check your name and ID number, take clear, unobstructed photos and try again.",
    ),
    "m.identity.invalid.name": (
        "请填写身份证上的姓名（1–64 个字）",
        "Give the name on your ID card (1 to 64 characters)",
    ),
    "m.identity.invalid.id_number": (
        "身份证号应为 17 位数字加最后一位数字或 X",
        "An ID number is 17 digits followed by a digit or X",
    ),
    "m.identity.invalid.id_number_rule": ("身份证号无效：{problem}", "Not a valid ID number: {problem}"),
    "m.identity.unchecked": ("暂时无法完成认证", "Your identity could not be checked"),
    "m.identity.unchecked_hint": (
        "请重新拍摄清晰、完整的身份证人像面和本人自拍照后再试。",
        "Retake clear, whole photos of the ID card's picture side and of yourself, then try again.",
    ),
    "m.identity.image.missing": ("请拍摄或选择一张照片", "Take or choose a photo"),
    "m.identity.image.size": (
        "「{name}」有 {size} MB，照片最大 5 MB",
        "“{name}” is {size} MB; a photo may be 5 MB at most",
    ),
    "m.identity.image.type": (
        "「{name}」不是 JPEG、PNG 或 WebP 图片",
        "“{name}” is not a JPEG, PNG or WebP picture",
    ),
    "m.credit.title": ("我的额度", "My credit line"),
    "m.credit.score": ("信用分", "Credit score"),
    "m.credit.level": ("信用等级", "Level"),
    "m.credit.quota": ("免押总额度", "Waiver quota"),
    "m.credit.reserved": ("未结清订单占用", "Held by open orders"),
    "m.credit.available": ("可用免押额度", "Available for new orders"),
    "m.credit.none": ("暂无", "None yet"),
    "m.credit.level_band": (
        "等级 {level}：信用分 {low}–{high}，总额度 {quota}",
        "Level {level}: score {low} to {high}, quota {quota}",
    ),
    "m.credit.reevaluate": ("重新评估", "Evaluate again"),
    "m.credit.verify_first": ("去实名认证", "Verify my identity"),
    "m.credit.rules": ("免押规则", "How deposits are waived"),
    "m.credit.rule_min": ("信用分 {min} 分及以上可享信用免押。", "A score of {min} or more has deposits waived."),
    "m.credit.rule_amount": (
        "信用分 {low}–{high}：每单最多免 {amount}",
        "Score {low} to {high}: up to {amount} an order",
    ),
    "m.credit.rule_share": (
        "信用分 {low}–{high}：可免押金的 {share}%",
        "Score {low} to {high}: {share}% of the deposit",
    ),
    "m.credit.rule_caps": (
        "每单最多免 {order}，每件最多免 {unit}，且不超过您的可用额度。",
        "At most {order} an order and {unit} a unit, and never more than you have available.",
    ),
    "m.credit.zero": ("您现在下单，押金不能免除", "An order now would have no deposit waived"),
    "m.credit.zero_example": (
        "以押金最低的商品（{deposit}）计，可免押 {waiver}。原因：",
        "Even the lowest deposit ({deposit}) would have {waiver} waived, because:",
    ),
    "m.credit.why.overdue": (
        "您有逾期未付的账单：还清后才能享受信用免押",
        "An overdue bill: credit waives no deposit until it is paid",
    ),
    "m.credit.why.unverified": (
        "您还没有完成实名认证：认证后才能评估信用",
        "You have not verified your identity: credit is evaluated after that",
    ),
    "m.credit.why.rejected": (
        "实名认证未通过：请重新认证",
        "Your identity could not be verified: please try again",
    ),
    "m.credit.why.unscored": ("还没有评估信用分：请点「重新评估」", "No credit score yet: tap “Evaluate again”"),
    "m.credit.why.below_min": (
        "信用分 {score} 低于免押最低分 {min}",
        "A score of {score} is under the {min} a waiver needs",
    ),
    "m.credit.why.no_band": ("信用分 {score} 不在任何免押档位内", "No waiver band covers a score of {score}"),
    "m.credit.why.no_quota": (
        "信用等级 {level} 没有免押额度",
        "Level {level} has no waiver quota",
    ),
    "m.credit.why.used_up": (
        "免押额度 {quota} 已全部被未结清的订单占用，订单结清后自动恢复",
        "Open orders hold all of your {quota} quota; it comes back as they settle",
    ),
    "m.flash.identity_verified": ("实名认证通过，已为您评估信用", "Identity verified; your credit has been evaluated"),
    "m.flash.credit_evaluated": ("已重新评估信用", "Your credit has been evaluated again"),
}
i18n.add(WORDS)


@pages.get("/me/identity")
def identity_form(page: MobilePage) -> Response:
    """The form, or the verified identity (a verified customer sent here on the way somewhere goes on there); a
    rejected one shows why it failed."""
    next_path = page.query.get("next", "")
    person = projections.customers.customer(page.views, page.me)
    if next_path and person is not None and person.identity_status == "verified":
        return RedirectResponse(safe_next(next_path, page.base), status_code=303)
    return _identity_page(page, next_path=next_path)


@pages.post("/me/identity")
def submit_identity(page: MobilePage) -> Response:
    """The identity to the provider as the API sends it, then the credit evaluated at once; then the credit result
    (or where the customer was going). Every field wrong is named at once; a rejection says why, and a provider
    that could not check (a photo it cannot read) says so over the form, to be sent again."""
    name, id_number = page.form.get("name", "").strip(), page.form.get("id_number", "").strip().upper()
    next_path = page.form.get("next", "")
    errors, images = _images(page)
    fields = {"name": name, "id_number": id_number, **{field: images.get(field, b"") for field in IMAGES}}
    try:
        body = page.parse(schemas.IdentitySubmission, fields)
    except FormInvalid as invalid:
        errors = {**{field: page.t(f"m.identity.invalid.{field}") for field in invalid.errors}, **errors}
    if errors:
        return _identity_page(page, 422, next_path=next_path, name=name, id_number=id_number, errors=errors)
    try:
        check = page.app.verify_identity(page.me, body.name, body.id_number, body.id_card_image, body.selfie_image)
    except InvalidInput as error:
        errors = {error.field: page.t("m.identity.invalid.id_number_rule", problem=error.message)}
        return _identity_page(page, 422, next_path=next_path, name=name, id_number=id_number, errors=errors)
    except AdapterError as error:
        return _identity_page(page, 502, next_path=next_path, name=name, id_number=id_number, failure=str(error))
    page.service.written()
    if not check.verified:
        return _identity_page(page, next_path=next_path, name=name, id_number=id_number)
    page.app.evaluate_credit(page.me)
    page.service.written()
    if next_path:
        return RedirectResponse(safe_next(next_path, page.base), status_code=303)
    return page.redirect("/me/credit", done="identity_verified")


@pages.get("/me/credit")
def credit(page: MobilePage) -> Response:
    """Score, level, quota, reserved and available as the read models hold them (what `GET /v1/me/credit-line`
    answers), the waiver rules, and why no deposit would be waived when none would."""
    person = projections.customers.customer(page.views, page.me)
    line = projections.credit_lines.credit_line(page.views, page.me)
    policy = page.app.waiver_policy()
    deposit = _lowest_deposit(page)
    waiver = _waiver(policy, person, line, deposit)
    return page.render(
        "mobile/credit.html",
        person=person,
        line=answers.credit_line_out(line),
        level=_level(page, line.level if line else None),
        rules=_rules(page, policy),
        deposit=deposit,
        waiver=waiver,
        reasons=why_no_waiver(page, policy, person, line, deposit) if waiver == ZERO else [],
    )


@pages.post("/me/credit")
def reevaluate(page: MobilePage) -> Response:
    """Evaluate the credit again (a score changes with the bureau, or with the customer's own record); only a
    verified customer has one."""
    person = projections.customers.customer(page.views, page.me)
    if person is None or person.identity_status != "verified":
        return page.redirect("/me/identity", next=page.base + "/me/credit")
    page.app.evaluate_credit(page.me)
    page.service.written()
    return page.redirect("/me/credit", done="credit_evaluated")


@dataclass(frozen=True)
class Level:
    name: str
    low: int
    high: int
    quota: Decimal


def why_no_waiver(
    page: MobilePage,
    policy: WaiverPolicy,
    person: CustomerView | None,
    line: CreditLineView | None,
    deposit: Decimal,
) -> list[str]:
    """Why a waiver would be 0, in words, in the order the quote applies its rules: an overdue order blocks any
    waiver, a waiver needs a score (so a verified identity), at least the policy's minimum, a band covering it, and
    a credit line with something available; what none of these explains is the policy's own reason."""
    reasons = [page.t("m.credit.why.overdue")] if line is not None and line.blocked else []
    status = person.identity_status if person else "unverified"
    score = person.score if person else None
    quota = line.quota if line else ZERO
    if status != "verified":
        return [*reasons, page.t(f"m.credit.why.{status}")]
    if score is None:
        return [*reasons, page.t("m.credit.why.unscored")]
    if score < policy.min_score:
        return [*reasons, page.t("m.credit.why.below_min", score=score, min=policy.min_score)]
    if not any(item.band.contains(score) for item in policy.bands):
        return [*reasons, page.t("m.credit.why.no_band", score=score)]
    if quota <= ZERO:
        level = (line.level if line else None) or page.t("m.credit.none")
        return [*reasons, page.t("m.credit.why.no_quota", level=level)]
    if line is not None and line.available <= ZERO:
        return [*reasons, page.t("m.credit.why.used_up", quota=money(quota))]
    _, limit = policy.decide(score, deposit, 1, line.available if line else ZERO)
    if reasons or limit is None:
        return reasons
    words = limit_in_words(page.t, limit)
    return [words[:1].upper() + words[1:]]


def _waiver(
    policy: WaiverPolicy, person: CustomerView | None, line: CreditLineView | None, deposit: Decimal
) -> Decimal:
    """What the quote would waive on `deposit` now, by the policy itself (nothing while an order is overdue)."""
    if line is not None and line.blocked:
        return ZERO
    available = line.available if line else ZERO
    return policy.decide(person.score if person else None, deposit, 1, available)[0]


def _lowest_deposit(page: MobilePage) -> Decimal:
    """The lowest deposit of the live catalog: if even that would have nothing waived, no order would."""
    deposits = [sku.deposit for product in projections.catalog.products(page.views) for sku in product.skus]
    return min((deposit for deposit in deposits if deposit > ZERO), default=Decimal("1.00"))


def _level(page: MobilePage, name: str | None) -> Level | None:
    found = next((level for level in page.app.credit_levels().levels if level.name == name), None)
    if found is None:
        return None
    return Level(found.name, found.band.min_score, found.band.max_score, found.quota)


def _rules(page: MobilePage, policy: WaiverPolicy) -> list[str]:
    """The waiver policy in words: the minimum score, each band, the caps."""
    rules = [page.t("m.credit.rule_min", min=policy.min_score)]
    for item in policy.bands:
        low, high = item.band.min_score, item.band.max_score
        if item.waiver is not None:
            rules.append(page.t("m.credit.rule_amount", low=low, high=high, amount=money(item.waiver)))
        elif item.share is not None:
            rules.append(page.t("m.credit.rule_share", low=low, high=high, share=percent(item.share)))
    rules.append(page.t("m.credit.rule_caps", order=money(policy.per_order_cap), unit=money(policy.per_unit_cap)))
    return rules


def _images(page: MobilePage) -> tuple[dict[str, str], dict[str, bytes]]:
    """Each photo's bytes, or what is wrong with it: missing, over 5 MB, or not a JPEG, PNG or WebP by its first
    bytes (the limits of the inspection photos)."""
    errors: dict[str, str] = {}
    images: dict[str, bytes] = {}
    for field in IMAGES:
        files = uploads(page.request, field)
        if not files or not files[0].content:
            errors[field] = page.t("m.identity.image.missing")
            continue
        photo = files[0]
        name = photo.filename or "?"
        if len(photo.content) > MAX_PHOTO:
            errors[field] = page.t("m.identity.image.size", name=name, size=f"{len(photo.content) / 1024 / 1024:.1f}")
        elif photo_type(photo.content) not in PHOTO_TYPES:
            errors[field] = page.t("m.identity.image.type", name=name)
        else:
            images[field] = photo.content
    return errors, images


def _identity_page(
    page: MobilePage,
    status: int = 200,
    *,
    next_path: str,
    name: str = "",
    id_number: str = "",
    errors: Mapping[str, str] | None = None,
    failure: str = "",
) -> Response:
    person = projections.customers.customer(page.views, page.me)
    reason = None
    if person is not None and person.identity_status == "rejected":
        reason = page.app.get(Customer, page.me, "customer", to_change=False).identity_reason
    return page.render(
        "mobile/identity.html",
        status,
        person=person,
        reason=reason,
        next=safe_next(next_path, page.base) if next_path else "",
        name=name,
        id_number=id_number,
        errors=errors or {},
        failure=failure,
    )

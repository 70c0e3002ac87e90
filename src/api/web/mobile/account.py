"""Logging in by phone and SMS code (the API's codes: the same limits, the same expiry; the first login registers the
customer), logging out, and "me": who is logged in, their identity and credit at a glance, and where to go next."""

from __future__ import annotations

from starlette.responses import Response

import projections.credit_lines
import projections.customers
from api.http.errors import ApiError
from api.http.guard import client_address
from api.http.schemas import auth as schemas
from api.web import i18n
from api.web.mobile.frame import FormInvalid, MobilePage, Pages
from api.web.pages import safe_next

pages = Pages()

WORDS = {
    "m.login.title": ("手机号登录", "Log in with your phone"),
    "m.login.lead": ("未注册的手机号验证后自动注册", "A new number is registered when it is verified"),
    "m.login.phone": ("手机号", "Phone number"),
    "m.login.send": ("获取验证码", "Text me a code"),
    "m.login.code": ("短信验证码", "Code from the text message"),
    "m.login.sent": ("验证码已发送至 {phone}，5 分钟内有效", "A code was sent to {phone}; it is valid for 5 minutes"),
    "m.login.resend": ("重新发送", "Send another code"),
    "m.login.submit": ("登录", "Log in"),
    "m.login.other_phone": ("换一个手机号", "Use another number"),
    "m.login.too_many": ("发送太频繁，请稍后再试", "Too many codes sent; please try again later"),
    "m.login.bad_phone": ("请填写正确的手机号（6–15 位数字）", "Give your phone number: 6 to 15 digits"),
    "m.login.bad_code": ("验证码是短信里的 6 位数字", "The code is the 6 digits in the text message"),
    "m.login.wrong_code": ("验证码不正确或已失效，请重新获取", "That code is wrong or has expired: ask for a new one"),
    "m.login.agree": (
        "登录即表示同意《用户协议》和《隐私政策》",
        "By logging in you accept the terms of use and the privacy policy",
    ),
    "m.me.title": ("我的", "Me"),
    "m.me.phone": ("手机号", "Phone"),
    "m.me.identity": ("实名认证", "Real-name verification"),
    "m.me.identity.verified": ("已认证", "Verified"),
    "m.me.identity.rejected": ("未通过", "Not passed"),
    "m.me.identity.unverified": ("未认证", "Not verified"),
    "m.me.credit": ("我的额度", "My credit line"),
    "m.me.available": ("可用免押额度", "Waiver available"),
    "m.me.orders": ("我的订单", "My orders"),
    "m.me.conversations": ("我的会话", "My conversations"),
    "m.me.logout": ("退出登录", "Log out"),
}
i18n.add(WORDS)


@pages.get("/login", login=False)
def login_form(page: MobilePage) -> Response:
    """The phone form; someone logged in goes on to where they were going."""
    target = safe_next(page.query.get("next"), page.base)
    if page.customer_id is not None:
        return page.redirect(target.removeprefix(page.base) or "/")
    return page.render("mobile/login.html", next=target, phone="", sent=None)


@pages.post("/login/code", login=False)
def send_code(page: MobilePage) -> Response:
    """A code by SMS to the phone (its limits as the API's); then the form for the code."""
    target = safe_next(page.form.get("next"), page.base)
    phone = page.form.get("phone", "").strip()
    try:
        body = page.parse(schemas.OtpRequest, {"phone": phone})
        address = client_address(page.request.scope, page.service.settings.trusted_proxies)
        page.service.codes.send(body.phone, address)
    except FormInvalid as invalid:
        return page.render("mobile/login.html", 422, next=target, phone=phone, sent=None, errors=_words(page, invalid))
    except ApiError as error:
        message = page.t("m.login.too_many") if error.status == 429 else error.detail
        return page.render(
            "mobile/login.html", error.status, next=target, phone=phone, sent=None, errors={"phone": message}
        )
    return page.render(
        "mobile/login.html", next=target, phone=body.phone, sent=page.t("m.login.sent", phone=body.phone)
    )


@pages.post("/login", login=False)
def log_in(page: MobilePage) -> Response:
    """The phone's current code, once (as `POST /v1/auth/login`); the first login registers the customer."""
    target = safe_next(page.form.get("next"), page.base)
    phone, code = page.form.get("phone", "").strip(), page.form.get("code", "").strip()
    sent = page.t("m.login.sent", phone=phone)
    try:
        body = page.parse(schemas.Login, {"phone": phone, "code": code})
        address = client_address(page.request.scope, page.service.settings.trusted_proxies)
        page.service.codes.redeem(body.phone, body.code, address)
    except FormInvalid as invalid:
        return page.render("mobile/login.html", 422, next=target, phone=phone, sent=sent, errors=_words(page, invalid))
    except ApiError as error:
        wrong = f"{page.t('m.login.wrong_code')}（{error.detail}）"
        return page.render(
            "mobile/login.html", error.status, next=target, phone=phone, sent=sent, errors={"code": wrong}
        )
    customer_id = page.app.register_customer(body.phone)
    page.service.written()
    return page.log_in(customer_id, target)


def _words(page: MobilePage, invalid: FormInvalid) -> dict[str, str]:
    """The login form's mistakes in the page's words (the API's rules, said for a phone)."""
    said = {"phone": page.t("m.login.bad_phone"), "code": page.t("m.login.bad_code")}
    return {field: said.get(field, message) for field, message in invalid.errors.items()}


@pages.post("/logout")
def log_out(page: MobilePage) -> Response:
    """Ends the session on the server: its cookie opens nothing any more, on any process."""
    return page.log_out()


@pages.get("/me")
def me(page: MobilePage) -> Response:
    """Who is logged in, whether they are verified, their waiver available, and links to the rest of their things."""
    person = projections.customers.customer(page.views, page.me)
    line = projections.credit_lines.credit_line(page.views, page.me)
    return page.render("mobile/me.html", person=person, line=line)

"""Logging in: customers by phone and SMS code, staff by username and password."""

from __future__ import annotations

from api.http.auth import staff_account_or_none
from api.http.endpoint import PUBLIC, Call, Endpoints
from api.http.schemas import auth as schemas

endpoints = Endpoints("auth")


@endpoints.post(
    "/v1/auth/otp",
    access=PUBLIC,
    body=schemas.OtpRequest,
    answer=schemas.OtpSent,
    status=202,
    errors=(429,),
    summary="Text me a code",
)
def send_code(call: Call[schemas.OtpRequest, None]) -> schemas.OtpSent:
    """A six-digit code goes out by SMS, valid 5 minutes and once; a few codes per phone per hour (then 429)."""
    expires_at = call.service.codes.send(call.body.phone)
    return schemas.OtpSent(phone=call.body.phone, expires_at=expires_at)


@endpoints.post(
    "/v1/auth/login", access=PUBLIC, body=schemas.Login, answer=schemas.CustomerToken, errors=(401,), summary="Log in"
)
def log_in(call: Call[schemas.Login, None]) -> schemas.CustomerToken:
    """The phone's current code, once (401 when wrong, used or expired); the first login registers the customer."""
    call.service.codes.redeem(call.body.phone, call.body.code)
    customer_id = call.app.register_customer(call.body.phone)
    token, expires_at = call.service.tokens.for_customer(customer_id)
    return schemas.CustomerToken(token=token, customer_id=customer_id, expires_at=expires_at)


@endpoints.post(
    "/v1/admin/login",
    access=PUBLIC,
    body=schemas.StaffLogin,
    answer=schemas.StaffToken,
    errors=(401, 429),
    summary="Staff log in",
)
def staff_log_in(call: Call[schemas.StaffLogin, None]) -> schemas.StaffToken:
    """Username and password (argon2); the token carries the account's roles. A disabled account answers 401 as a
    wrong password does. Repeated failures answer 429."""
    account = staff_account_or_none(call.app.staff_account, call.body.username)
    roles = call.service.passwords.check(account, call.body.username, call.body.password)
    assert account is not None
    token, expires_at = call.service.tokens.for_staff(account.username, roles, account.version)
    return schemas.StaffToken(token=token, username=account.username, roles=list(roles), expires_at=expires_at)

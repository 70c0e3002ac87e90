"""Logging in: customers by phone and SMS code, staff by username and password."""

from __future__ import annotations

from api.http.auth import staff_account_or_none
from api.http.endpoint import CUSTOMER, PUBLIC, Call, Endpoints, staff
from api.http.schemas import auth as schemas
from leasecore.staff import Role

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
    """A six-digit code goes out by SMS, valid 5 minutes and once; a few codes per phone per hour, and a few more
    per client address whatever the phones (then 429 with Retry-After)."""
    expires_at = call.service.codes.send(call.body.phone, call.address)
    return schemas.OtpSent(phone=call.body.phone, expires_at=expires_at)


@endpoints.post(
    "/v1/auth/login",
    access=PUBLIC,
    body=schemas.Login,
    answer=schemas.CustomerToken,
    errors=(401, 429),
    summary="Log in",
)
def log_in(call: Call[schemas.Login, None]) -> schemas.CustomerToken:
    """The phone's current code, once (401 when wrong, used or expired); the first login registers the customer.
    A client address with too many failed logins lately answers 429."""
    call.service.codes.redeem(call.body.phone, call.body.code, call.address)
    customer_id = call.app.register_customer(call.body.phone)
    token, expires_at = call.service.tokens.for_customer(customer_id)
    return schemas.CustomerToken(token=token, customer_id=customer_id, expires_at=expires_at)


@endpoints.post("/v1/auth/logout", access=CUSTOMER, status=204, summary="Log out")
def log_out(call: Call[None, None]) -> None:
    """The token this request carries opens nothing from now on, in every service process; the customer's other
    tokens (another phone's) are untouched. Sent again with the same token: 401, as any request with it."""
    assert call.principal is not None
    call.service.tokens.revoke(call.principal)


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
    wrong password does. Repeated failures, for the account or from the client's address, answer 429."""
    account = staff_account_or_none(call.app.staff_account, call.body.username)
    roles = call.service.passwords.check(account, call.body.username, call.body.password, call.address)
    assert account is not None
    token, expires_at = call.service.tokens.for_staff(account.username, roles, account.version)
    return schemas.StaffToken(token=token, username=account.username, roles=list(roles), expires_at=expires_at)


@endpoints.post("/v1/admin/logout", access=staff(*Role), status=204, summary="Staff log out")
def staff_log_out(call: Call[None, None]) -> None:
    """The token this request carries opens nothing from now on, in every service process (the account's other
    tokens are untouched; changing its roles or password, or disabling it, ends them all)."""
    assert call.principal is not None
    call.service.tokens.revoke(call.principal)

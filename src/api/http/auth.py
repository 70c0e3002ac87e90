"""Who is asking: customers by phone and SMS one-time code, staff by username and argon2 password;
both carry signed tokens (HS256) that expire by the service's clock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import jwt
from sqlalchemy import delete, func, select, update

import projections.staff
from api.http.errors import ApiError
from api.http.security import hash_password, verify_password
from api.store import ApiStore, api_otp_codes, api_rate_events, upsert
from leasecore.errors import NotFound
from leasecore.ports import Clock, SmsSender
from leasecore.staff import Role, StaffAccount

if TYPE_CHECKING:
    from projections.store import ViewStore

ISSUER = "leasecore"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """A verified token's holder: a customer (by id) or a member of staff (by username, with roles)."""

    kind: str
    subject: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    account_version: int = 0
    """A staff token's account's version when it was issued (0 in a token from before it was recorded)."""

    @property
    def customer_id(self) -> UUID:
        return UUID(self.subject)

    @property
    def scope(self) -> str:
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True)
class AuthPolicy:
    """How long codes and tokens live and how often they may be tried."""

    code_ttl: timedelta = timedelta(minutes=5)
    code_attempts: int = 5
    sends_per_hour: int = 5
    customer_token_ttl: timedelta = timedelta(hours=12)
    staff_token_ttl: timedelta = timedelta(hours=8)
    staff_failures: int = 10
    staff_failure_window: timedelta = timedelta(minutes=15)


class Tokens:
    """Signed bearer tokens; expiry is read from the injected clock, so the test clock moves it too."""

    def __init__(self, secret: str, clock: Clock, policy: AuthPolicy) -> None:
        self._secret, self._clock, self._policy = secret, clock, policy

    def for_customer(self, customer_id: UUID) -> tuple[str, datetime]:
        return self._issue("customer", str(customer_id), (), self._policy.customer_token_ttl)

    def for_staff(self, username: str, roles: tuple[Role, ...], account_version: int = 0) -> tuple[str, datetime]:
        """A staff token carries the roles and the account's version at login: one issued before the account's latest
        disabling is refused even once the account is enabled again."""
        return self._issue(
            "staff",
            username,
            tuple(role.value for role in roles),
            self._policy.staff_token_ttl,
            {"ver": account_version},
        )

    def principal(self, authorization: str | None) -> Principal:
        """The holder of an `Authorization: Bearer …` token; 401 when missing, forged or expired."""
        if not authorization:
            raise _unauthorized("send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("send Authorization: Bearer <token>")
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "typ", "iss"]},
            )
        except jwt.PyJWTError:
            raise _unauthorized("the token is not valid") from None
        if not isinstance(claims["exp"], int | float) or self._clock.now().timestamp() >= claims["exp"]:
            raise _unauthorized("the token has expired; log in again")
        kind, subject = claims["typ"], str(claims["sub"])
        if kind == "customer":
            try:
                UUID(subject)
            except ValueError:
                raise _unauthorized("the token is not valid") from None
            return Principal("customer", subject)
        if kind == "staff":
            try:
                roles = frozenset(Role(role) for role in claims.get("roles", ()))
            except (TypeError, ValueError):
                raise _unauthorized("the token is not valid") from None
            version = claims.get("ver", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise _unauthorized("the token is not valid")
            return Principal("staff", subject, roles, version)
        raise _unauthorized("the token is not valid")

    def _issue(
        self, kind: str, subject: str, roles: tuple[str, ...], ttl: timedelta, more: dict[str, Any] | None = None
    ) -> tuple[str, datetime]:
        now = self._clock.now()
        expires = now + ttl
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "typ": kind,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid4().hex,
        }
        if kind == "staff":
            claims["roles"] = list(roles)
        claims.update(more or {})
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires


class OneTimeCodes:
    """SMS login codes: 5 minutes, single use, a few attempts each, a few sends per phone per hour."""

    def __init__(self, store: ApiStore, clock: Clock, sms: SmsSender, secret: str, policy: AuthPolicy) -> None:
        self._store, self._clock, self._sms = store, clock, sms
        self._secret, self._policy = secret.encode(), policy

    def send(self, phone: str) -> datetime:
        """A fresh code goes out by SMS and replaces any earlier one; 429 past the hourly limit."""
        now = self._clock.now()
        window = now - timedelta(hours=1)
        with self._store.begin() as connection:
            self._store.lock(connection, "otp", phone)
            sent = connection.execute(
                select(func.count(), func.min(api_rate_events.c.at)).where(
                    api_rate_events.c.kind == "otp", api_rate_events.c.subject == phone, api_rate_events.c.at > window
                )
            ).one()
            limited = sent[0] >= self._policy.sends_per_hour
            if not limited:
                connection.execute(
                    delete(api_rate_events).where(
                        api_rate_events.c.kind == "otp",
                        api_rate_events.c.subject == phone,
                        api_rate_events.c.at <= window,
                    )
                )
                connection.execute(api_rate_events.insert().values(kind="otp", subject=phone, at=now))
        if limited:
            wait = max(1, int((sent[1] + timedelta(hours=1) - now).total_seconds()) + 1)
            raise ApiError(
                429,
                "too-many-requests",
                f"at most {self._policy.sends_per_hour} codes per phone per hour; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        code = f"{secrets.randbelow(10**6):06d}"
        minutes = int(self._policy.code_ttl.total_seconds() // 60)
        self._sms.send(phone, f"[leasecore] Your login code is {code}. It expires in {minutes} minutes.")
        expires = now + self._policy.code_ttl
        with self._store.begin() as connection:
            row = {
                "phone": phone,
                "code_hash": self._hash(phone, code),
                "issued_at": now,
                "expires_at": expires,
                "attempts": 0,
                "consumed": False,
            }
            upsert(connection, api_otp_codes, row, ("phone",))
        return expires

    def redeem(self, phone: str, code: str) -> None:
        """The phone's current code, once, before it expires and within its attempts; 401 otherwise."""
        now = self._clock.now()
        with self._store.begin() as connection:
            self._store.lock(connection, "otp", phone)
            row = connection.execute(select(api_otp_codes).where(api_otp_codes.c.phone == phone)).mappings().first()
            if row is None or row["consumed"] or row["expires_at"] <= now:
                failure = "no valid code for this phone; ask for a new one"
            elif row["attempts"] >= self._policy.code_attempts:
                failure = "too many wrong attempts; ask for a new code"
            elif not hmac.compare_digest(row["code_hash"], self._hash(phone, code)):
                left = self._policy.code_attempts - row["attempts"] - 1
                failure = f"wrong code ({left} attempt(s) left)" if left else "wrong code; ask for a new one"
                connection.execute(
                    update(api_otp_codes).where(api_otp_codes.c.phone == phone).values(attempts=row["attempts"] + 1)
                )
            else:
                failure = ""
                connection.execute(update(api_otp_codes).where(api_otp_codes.c.phone == phone).values(consumed=True))
        if failure:
            raise _unauthorized(failure)

    def _hash(self, phone: str, code: str) -> str:
        return hmac.new(self._secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


class StaffPasswords:
    """Back-office logins against the operators' argon2 hashes, with a limit on failures per account."""

    def __init__(self, store: ApiStore, clock: Clock, policy: AuthPolicy) -> None:
        self._store, self._clock, self._policy = store, clock, policy
        self._decoy = hash_password(secrets.token_hex(16))

    def check(self, account: StaffAccount | None, username: str, password: str) -> tuple[Role, ...]:
        """The account's roles when the password is right; 401 otherwise, 429 after too many failures."""
        subject = username.lower()
        now = self._clock.now()
        since = now - self._policy.staff_failure_window
        with self._store.read() as connection:
            failures = connection.execute(
                select(func.count()).where(
                    api_rate_events.c.kind == "login",
                    api_rate_events.c.subject == subject,
                    api_rate_events.c.at > since,
                )
            ).scalar_one()
        if failures >= self._policy.staff_failures:
            minutes = int(self._policy.staff_failure_window.total_seconds() // 60)
            raise ApiError(
                429,
                "too-many-requests",
                f"too many failed logins for {username}; try again in {minutes} minutes",
                headers={"Retry-After": str(minutes * 60)},
            )
        valid = verify_password(account.password_hash if account else self._decoy, password)
        if account is None or account.disabled or not valid:
            with self._store.begin() as connection:
                connection.execute(api_rate_events.insert().values(kind="login", subject=subject, at=now))
            raise _unauthorized("wrong username or password")
        return tuple(account.roles)

    def locked_until(self, usernames: Iterable[str]) -> dict[str, datetime]:
        """Those of these accounts locked out now, and until when: the lock lifts once fewer than the allowed
        failures are left in the window, that is when the latest failures' oldest one leaves it."""
        now = self._clock.now()
        named = {username.lower(): username for username in usernames}
        query = (
            select(api_rate_events.c.subject, api_rate_events.c.at)
            .where(
                api_rate_events.c.kind == "login",
                api_rate_events.c.subject.in_(list(named)),
                api_rate_events.c.at > now - self._policy.staff_failure_window,
            )
            .order_by(api_rate_events.c.subject, api_rate_events.c.at.desc())
        )
        failures: dict[str, list[datetime]] = {}
        with self._store.read() as connection:
            for subject, at in connection.execute(query):
                failures.setdefault(subject, []).append(at)
        limit = self._policy.staff_failures
        return {
            named[subject]: times[limit - 1] + self._policy.staff_failure_window
            for subject, times in failures.items()
            if len(times) >= limit
        }

    def unlock(self, username: str) -> None:
        """An admin lets the account try again at once: its failed logins are forgotten."""
        with self._store.begin() as connection:
            connection.execute(
                delete(api_rate_events).where(
                    api_rate_events.c.kind == "login", api_rate_events.c.subject == username.lower()
                )
            )


def refuse_disabled(views: ViewStore, principal: Principal) -> Principal:
    """A staff token opens nothing once its account is disabled, from its next use on, and a token issued before the
    account's latest disabling never again: the account's state as the staff read model has it (one read by primary
    key). A token whose username has no account is left to its signature."""
    if principal.kind == "staff" and not projections.staff.admits(views, principal.subject, principal.account_version):
        raise _unauthorized("the token is no longer valid; log in again")
    return principal


def staff_account_or_none(find: Any, username: str) -> StaffAccount | None:
    try:
        account: StaffAccount = find(username)
    except NotFound:
        return None
    return account


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="leasecore"'})

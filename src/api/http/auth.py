"""Who is asking: customers by phone and SMS one-time code, staff by username and argon2 password;
both carry signed tokens (HS256) that expire by the service's clock."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import jwt
from sqlalchemy import bindparam, delete, func, or_, select, update

import projections.staff
from api.http.errors import ApiError
from api.http.security import hash_password, verify_password
from api.store import ApiStore, api_otp_codes, api_rate_events, api_revoked_tokens, upsert
from leasecore.errors import NotFound
from leasecore.ports import Clock, SmsSender
from leasecore.staff import Role, StaffAccount
from projections.prepared import Prepared

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from projections.store import ViewStore

ISSUER = "leasecore"
ALGORITHM = "HS256"
_REVOKED = Prepared(
    select(api_revoked_tokens.c.token_id, api_revoked_tokens.c.expires_at).where(
        or_(api_revoked_tokens.c.token_id == bindparam("own"), api_revoked_tokens.c.token_id == bindparam("subject"))
    )
)
"""The revocations that may refuse a token: its own id, and its subject's (every token issued before); asked on
every authenticated request, so compiled once."""


@dataclass(frozen=True)
class Principal:
    """A verified token's holder: a customer (by id) or a member of staff (by username, with roles)."""

    kind: str
    subject: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    account_version: int = 0
    """A staff token's account's version when it was issued (0 in a token from before it was recorded)."""
    token_id: str = ""
    """The token's own id (its `jti`), what logging out revokes."""
    expires_at: datetime | None = None
    issued_at: datetime | None = None

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
    sends_per_address_per_hour: int = 10
    """Codes one client address may have sent, whatever the phones, in an hour."""
    failures_per_address: int = 20
    """Failed logins (staff passwords and customer codes alike) one client address may make in
    `address_failure_window` before its logins answer 429."""
    address_failure_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Limit:
    """At most `count` events of `kind` per subject within `window`; `says` what is limited, for the 429."""

    kind: str
    count: int
    window: timedelta
    says: str

    def refusal(self, connection: Connection, subject: str, now: datetime) -> ApiError | None:
        """A 429 (with the seconds until the oldest counted event leaves the window) once the limit is reached."""
        counted, oldest = connection.execute(
            select(func.count(), func.min(api_rate_events.c.at)).where(
                api_rate_events.c.kind == self.kind,
                api_rate_events.c.subject == subject,
                api_rate_events.c.at > now - self.window,
            )
        ).one()
        if counted < self.count:
            return None
        wait = max(1, int((oldest + self.window - now).total_seconds()) + 1)
        return ApiError(
            429,
            "too-many-requests",
            f"at most {self.count} {self.says}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def record(self, connection: Connection, subject: str, now: datetime) -> None:
        """One more event counted, and the subject's events older than the window forgotten."""
        connection.execute(
            delete(api_rate_events).where(
                api_rate_events.c.kind == self.kind,
                api_rate_events.c.subject == subject,
                api_rate_events.c.at <= now - self.window,
            )
        )
        connection.execute(api_rate_events.insert().values(kind=self.kind, subject=subject, at=now))


VERIFIED_TOKENS = 4096
"""Tokens whose signature and claims a process keeps as checked, the least recently used dropped beyond it."""


class Tokens:
    """Signed bearer tokens; expiry is read from the injected clock, so the test clock moves it too. A token's
    signature and claims are checked once and kept (a tenth of an authenticated request's CPU went to checking
    them again on every request); expiry and revocation are checked on every use."""

    def __init__(self, secret: str, clock: Clock, policy: AuthPolicy, store: ApiStore | None = None) -> None:
        self._secret, self._clock, self._policy, self._store = secret, clock, policy, store
        self._signed = functools.lru_cache(maxsize=VERIFIED_TOKENS)(self._signed_by_us)

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
        """The holder of an `Authorization: Bearer …` token; 401 when missing, forged, expired or revoked."""
        principal = self._verified(authorization)
        if principal.token_id and self._revoked(principal):
            raise _unauthorized("the token has been revoked; log in again")
        return principal

    def revoke(self, principal: Principal) -> None:
        """The holder's token opens nothing from now on, in every process (kept until it would have expired)."""
        if self._store is None or not principal.token_id:
            return
        now = self._clock.now()
        row = {"token_id": principal.token_id, "expires_at": principal.expires_at or now}
        with self._store.begin() as connection:
            connection.execute(delete(api_revoked_tokens).where(api_revoked_tokens.c.expires_at <= now))
            upsert(connection, api_revoked_tokens, row, ("token_id",))

    def revoke_customer(self, customer_id: UUID) -> None:
        """Every token of the customer issued until now opens nothing from now on, in every process (their personal
        data was erased); a token issued later works (they logged in again)."""
        if self._store is None:
            return
        now = self._clock.now()
        row = {"token_id": subject_revocation(str(customer_id)), "expires_at": now + self._policy.customer_token_ttl}
        with self._store.begin() as connection:
            upsert(connection, api_revoked_tokens, row, ("token_id",))

    def _revoked(self, principal: Principal) -> bool:
        """Its own id revoked (logged out), or, a customer's, issued before every token of the customer was revoked
        (their personal data erased): one read by primary key."""
        if self._store is None:
            return False
        subject = subject_revocation(principal.subject) if principal.kind == "customer" else principal.token_id
        for token_id, expires_at in _REVOKED.tuples(self._store, own=principal.token_id, subject=subject):
            if token_id == principal.token_id:
                return True
            revoked_at = expires_at - self._policy.customer_token_ttl
            if principal.issued_at is None or principal.issued_at <= revoked_at:
                return True
        return False

    def _verified(self, authorization: str | None) -> Principal:
        if not authorization:
            raise _unauthorized("send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("send Authorization: Bearer <token>")
        principal = self._signed(token.strip())
        assert principal.expires_at is not None
        if self._clock.now() >= principal.expires_at:
            raise _unauthorized("the token has expired; log in again")
        return principal

    def _signed_by_us(self, token: str) -> Principal:
        """The holder a token names, if it is signed with our secret and well formed (401 if not): what it says,
        whatever the time."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "typ", "iss"]},
            )
        except jwt.PyJWTError:
            raise _unauthorized("the token is not valid") from None
        if not isinstance(claims["exp"], int | float):
            raise _unauthorized("the token is not valid")
        kind, subject = claims["typ"], str(claims["sub"])
        token_id = claims.get("jti")
        if not isinstance(token_id, str) or len(token_id) > 64:
            raise _unauthorized("the token is not valid")
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        if kind == "customer":
            try:
                UUID(subject)
            except ValueError:
                raise _unauthorized("the token is not valid") from None
            issued = claims.get("iat")
            issued_at = datetime.fromtimestamp(issued, UTC) if isinstance(issued, int | float) else None
            return Principal("customer", subject, token_id=token_id, expires_at=expires_at, issued_at=issued_at)
        if kind == "staff":
            try:
                roles = frozenset(Role(role) for role in claims.get("roles", ()))
            except (TypeError, ValueError):
                raise _unauthorized("the token is not valid") from None
            version = claims.get("ver", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise _unauthorized("the token is not valid")
            return Principal("staff", subject, roles, version, token_id, expires_at)
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
    """SMS login codes: 5 minutes, single use, a few attempts each, a few sends per phone and per client address
    per hour."""

    def __init__(self, store: ApiStore, clock: Clock, sms: SmsSender, secret: str, policy: AuthPolicy) -> None:
        self._store, self._clock, self._sms = store, clock, sms
        self._secret, self._policy = secret.encode(), policy
        hour = timedelta(hours=1)
        self._per_phone = Limit("otp", policy.sends_per_hour, hour, "codes per phone per hour")
        self._per_address = Limit("otp-ip", policy.sends_per_address_per_hour, hour, "codes per address per hour")
        self._failures = address_failures(policy)

    def send(self, phone: str, address: str | None = None) -> datetime:
        """A fresh code goes out by SMS and replaces any earlier one; 429 past the hourly limit of the phone or of
        the client's address (None: a client without an IP address, such as a test client)."""
        now = self._clock.now()
        with self._store.begin() as connection:
            self._store.lock(connection, "otp", phone)
            refusal = self._per_phone.refusal(connection, phone, now)
            if refusal is None and address is not None:
                self._store.lock(connection, "otp-ip", address)
                refusal = self._per_address.refusal(connection, address, now)
            if refusal is None:
                self._per_phone.record(connection, phone, now)
                if address is not None:
                    self._per_address.record(connection, address, now)
        if refusal is not None:
            raise refusal
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

    def redeem(self, phone: str, code: str, address: str | None = None) -> None:
        """The phone's current code, once, before it expires and within its attempts; 401 otherwise, and 429 once
        the client's address has failed too often."""
        now = self._clock.now()
        with self._store.begin() as connection:
            if address is not None:
                refusal = self._failures.refusal(connection, address, now)
                if refusal is not None:
                    raise refusal
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
            if failure and address is not None:
                self._failures.record(connection, address, now)
        if failure:
            raise _unauthorized(failure)

    def _hash(self, phone: str, code: str) -> str:
        return hmac.new(self._secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


class StaffPasswords:
    """Back-office logins against the operators' argon2 hashes, with a limit on failures per account."""

    def __init__(self, store: ApiStore, clock: Clock, policy: AuthPolicy) -> None:
        self._store, self._clock, self._policy = store, clock, policy
        self._decoy = hash_password(secrets.token_hex(16))
        self._failures = address_failures(policy)

    def check(
        self, account: StaffAccount | None, username: str, password: str, address: str | None = None
    ) -> tuple[Role, ...]:
        """The account's roles when the password is right; 401 otherwise, 429 after too many failures for the
        account or from the client's address."""
        subject = username.lower()
        now = self._clock.now()
        since = now - self._policy.staff_failure_window
        with self._store.read() as connection:
            refusal = None if address is None else self._failures.refusal(connection, address, now)
            if refusal is not None:
                raise refusal
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
                if address is not None:
                    self._failures.record(connection, address, now)
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


def address_failures(policy: AuthPolicy) -> Limit:
    """Failed logins from one client address, staff's and customers' alike."""
    return Limit("login-ip", policy.failures_per_address, policy.address_failure_window, "failed logins per address")


def subject_revocation(customer_id: str) -> str:
    """The row of `api_revoked_tokens` that revokes every token of a customer issued until then: its `expires_at`
    is when the last of them expires (the revocation's time plus the customer token's lifetime)."""
    return f"customer:{customer_id}"


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

"""The back office's sessions: a random id in a cookie, the session itself in the database (`api_web_sessions`), so
every service process on one database knows it and logging out ends it everywhere; each carries its CSRF token and
ends by the injected clock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from starlette.requests import Request
from starlette.responses import Response

from api.store import ApiStore, api_web_sessions
from leasecore.ports import Clock
from projections.prepared import Prepared

COOKIE = "leasecore_admin"
LOGIN_CSRF_COOKIE = "leasecore_admin_login"
LANG_COOKIE = "leasecore_lang"
TTL = timedelta(hours=8)
"""As long as a staff token lives (`AuthPolicy.staff_token_ttl`)."""


@dataclass(frozen=True)
class WebSession:
    """A logged-in member of staff: who, the token every form of theirs carries, and when the session ends."""

    username: str
    csrf_token: str
    expires_at: datetime

    def accepts(self, token: str | None) -> bool:
        """The form's CSRF token is this session's."""
        return bool(token) and hmac.compare_digest(self.csrf_token.encode(), (token or "").encode())


class WebSessions:
    """Sessions kept beside the API's own tables; the cookie carries only a random id, the table its SHA-256."""

    def __init__(self, store: ApiStore, clock: Clock, ttl: timedelta = TTL) -> None:
        self._store, self._clock, self.ttl = store, clock, ttl

    def open(self, username: str) -> tuple[str, WebSession]:
        """A new session (a fresh id at every login) and the id for its cookie; ended sessions are swept here."""
        now = self._clock.now()
        session_id = secrets.token_urlsafe(32)
        session = WebSession(username, secrets.token_urlsafe(32), now + self.ttl)
        with self._store.begin() as connection:
            connection.execute(delete(api_web_sessions).where(api_web_sessions.c.expires_at <= now))
            connection.execute(
                api_web_sessions.insert().values(
                    id_hash=_hash(session_id),
                    username=username,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    def find(self, session_id: str | None) -> WebSession | None:
        """The session of a cookie's id, unless it has ended or was never opened."""
        if not session_id or len(session_id) > 128:
            return None
        row = _SESSION.first(self._store, id_hash=_hash(session_id))
        if row is None or row["expires_at"] <= self._clock.now():
            return None
        return WebSession(row["username"], row["csrf_token"], row["expires_at"])

    def end(self, session_id: str | None) -> None:
        """Log out: the session is gone, so its cookie no longer opens anything on any process."""
        if not session_id:
            return
        with self._store.begin() as connection:
            connection.execute(delete(api_web_sessions).where(api_web_sessions.c.id_hash == _hash(session_id)))

    def end_all(self, username: str) -> None:
        """Every session of an account (its roles changed, or it was disabled)."""
        with self._store.begin() as connection:
            connection.execute(delete(api_web_sessions).where(api_web_sessions.c.username == username))


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None, *, path: str = "/admin"
) -> None:
    """HttpOnly and SameSite=Lax, Secure when the request came over HTTPS (directly or behind a proxy that says so),
    scoped to the back office (or the customer's app, `path="/m"`)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )


def clear_cookie(request: Request, response: Response, name: str, *, path: str = "/admin") -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=over_https(request))


def over_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


_SESSION = Prepared(select(api_web_sessions).where(api_web_sessions.c.id_hash == bindparam("id_hash")))

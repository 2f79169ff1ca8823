"""Server-side login sessions, so that a back-channel logout really ends them.

The browser's cookie holds only a random token; the login (subject, provider session id,
tokens, claims) is a row keyed by the token's SHA-256, found again on every request. Ending a
row — by the citizen's logout, by the provider's logout token, or by a refresh the provider
refuses — ends that login at once, whatever cookie the browser still holds.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, DateTime, Integer, String, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSessionMixin:
    """Declare ``class LoginSession(LoginSessionMixin, Base)`` in the app's models."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(255), index=True)
    claims: Mapped[dict] = mapped_column(JSON)
    id_token: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[int] = mapped_column(Integer)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class SeenLogoutTokenMixin:
    """Declare ``class SeenLogoutToken(SeenLogoutTokenMixin, Base)`` in the app's models."""

    __tablename__ = "seen_logout_tokens"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class SessionStore:
    """The app's login sessions, over its own models."""

    def __init__(self, session_model: type, seen_model: type, lifetime: timedelta) -> None:
        self.model = session_model
        self.seen = seen_model
        self.lifetime = lifetime

    def start(self, db: Session, *, claims: dict, token: dict) -> tuple[str, object]:
        """A new login; returns the cookie token (never stored) and the row."""
        cookie = secrets.token_urlsafe(32)
        row = self.model(id=token_hash(cookie), subject=claims["sub"],
                         provider_sid=claims.get("sid"), claims=claims,
                         id_token=token["id_token"], created_at=utcnow(),
                         expires_at=utcnow() + self.lifetime)
        self.keep_tokens(row, token)
        db.add(row)
        db.commit()
        return cookie, row

    @staticmethod
    def keep_tokens(row, token: dict) -> None:
        row.access_token = token["access_token"]
        row.access_expires_at = int(token.get("expires_at") or 0)
        # RFC 6749 §6: a refresh response without a new refresh token keeps the old one.
        row.refresh_token = token.get("refresh_token") or row.refresh_token
        if token.get("id_token"):
            row.id_token = token["id_token"]

    def load(self, db: Session, cookie: str | None):
        """The live login this cookie names, or None (an ended or expired one is gone)."""
        if not cookie:
            return None
        row = db.get(self.model, token_hash(cookie))
        if row is not None and row.expires_at <= utcnow():
            db.delete(row)
            db.commit()
            return None
        return row

    def end(self, db: Session, row) -> None:
        db.delete(row)
        db.commit()

    def end_for_logout(self, db: Session, *, sid: str | None, sub: str | None) -> int:
        """OIDC Back-Channel Logout §2.7: the session named by ``sid``, else every session of
        ``sub``; with both, only that session of that subject."""
        query = delete(self.model)
        if sid:
            query = query.where(self.model.provider_sid == sid)
        if sub:
            query = query.where(self.model.subject == sub)
        ended = db.execute(query).rowcount
        db.execute(delete(self.model).where(self.model.expires_at <= utcnow()))
        db.commit()
        return ended

    def first_use_of(self, db: Session, jti: str, expires_at: datetime) -> bool:
        """True the first time a logout token's ``jti`` is seen (BCL §2.6 step 10)."""
        db.execute(delete(self.seen).where(self.seen.expires_at <= utcnow()))
        db.add(self.seen(jti=jti, expires_at=expires_at))
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            return False
        return True

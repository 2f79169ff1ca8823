"""Grants (token families) and rotated refresh tokens.

A grant is what one authorization code produced: the access tokens, ID token and the chain of
refresh tokens that follows from it. Revoking the grant revokes them all, which is what code
replay (RFC 6749 §4.1.2) and refresh-token reuse (RFC 9700 §4.14.2) require.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.db import Base
from idp.models.base import new_id, utcnow


class Grant(Base):
    __tablename__ = "grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"),
                                           index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    scope: Mapped[str] = mapped_column(Text)
    # How the citizen proved it (idp.authn.Authentication), carried to every refresh.
    authentication: Mapped[dict] = mapped_column(JSON)
    claims: Mapped[dict | None] = mapped_column(JSON)
    # When the authorization request was processed (Unix time): ``max_age`` inside a
    # ``verified_claims`` request is measured from then (issue 11).
    requested_at: Mapped[int | None] = mapped_column()
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()

    grant: Mapped[Grant] = relationship(lazy="joined")

    # Authlib's TokenMixin, used by the refresh-token grant.
    def check_client(self, client) -> bool:
        return self.grant.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.rotated_at is not None or self.grant.revoked_at is not None

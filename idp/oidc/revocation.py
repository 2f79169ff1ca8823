"""Revoking grants and single access tokens, in SQL (durable) and in the store (fast checks).

Access tokens are JWTs checked without a database read, so a revocation also leaves a marker
in the store that lives as long as any access token it could concern.
"""

from sqlalchemy import update

from idp.models import Grant
from idp.models.base import utcnow
from idp.services import services


def revoke_grant(grant_id: str, reason: str) -> None:
    """Revoke a token family: its refresh tokens and every access token issued from it."""
    svc = services()
    svc.db.session.execute(update(Grant).where(Grant.id == grant_id, Grant.revoked_at.is_(None))
                           .values(revoked_at=utcnow(), revoked_reason=reason))
    svc.store.put(f"revoked-grant:{grant_id}", reason, svc.settings.tokens.access_token_seconds)


def revoke_access_token(jti: str, seconds_left: int) -> None:
    services().store.put(f"revoked-jti:{jti}", "revoked", max(1, seconds_left))


def is_revoked(grant_id: str | None, jti: str | None) -> bool:
    store = services().store
    return bool((grant_id and store.get(f"revoked-grant:{grant_id}") is not None)
                or (jti and store.get(f"revoked-jti:{jti}") is not None))

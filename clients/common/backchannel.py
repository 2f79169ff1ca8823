"""Validating a logout token (OpenID Connect Back-Channel Logout 1.0 §2.6).

Plain functions over a token and the provider's key set, so every rule is tested without HTTP;
the endpoint in ``app.py`` adds the one rule that needs storage (each ``jti`` once) and ends the
sessions the token names.
"""

from collections.abc import Callable
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# BCL §2.6: a token issued too long ago (or in the future) is refused; clocks may differ a little.
MAX_AGE_SECONDS = 300
LEEWAY_SECONDS = 60


class InvalidLogoutToken(Exception):
    """The token must be refused; the message says why (for the 400 answer and the log)."""


@dataclass(frozen=True)
class LogoutClaims:
    jti: str
    sid: str | None
    sub: str | None
    expires_at: int


def validate_logout_token(token: str, *, issuer: str, client_id: str,
                          keys: Callable[[bool], KeySet], algorithms: list[str],
                          now: int) -> LogoutClaims:
    """The claims of a valid logout token, or :class:`InvalidLogoutToken`.

    ``keys(refresh)`` gives the provider's published keys; it is asked once more with
    ``refresh=True`` when the token's key is unknown (the provider rotated its keys).
    """
    try:
        decoded = _decode(token, keys, algorithms)
    except (JoseError, ValueError) as error:
        raise InvalidLogoutToken(f"signature or format: {type(error).__name__}") from error
    typ = decoded.header.get("typ")
    if typ is not None and typ.lower() not in {"logout+jwt", "application/logout+jwt"}:
        raise InvalidLogoutToken("typ is not logout+jwt")  # BCL §2.4: not an ID token
    claims = decoded.claims
    if claims.get("iss") != issuer:
        raise InvalidLogoutToken("iss")
    aud = claims.get("aud")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        raise InvalidLogoutToken("aud")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or not now - MAX_AGE_SECONDS <= iat <= now + LEEWAY_SECONDS:
        raise InvalidLogoutToken("iat")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < now - LEEWAY_SECONDS):
        raise InvalidLogoutToken("exp")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidLogoutToken("jti")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise InvalidLogoutToken("events")
    sid, sub = claims.get("sid"), claims.get("sub")
    if not (isinstance(sid, str) and sid) and not (isinstance(sub, str) and sub):
        raise InvalidLogoutToken("neither sid nor sub")
    if "nonce" in claims:
        raise InvalidLogoutToken("nonce")  # BCL §2.4: forbidden, so no ID token passes
    return LogoutClaims(jti=jti, sid=sid if isinstance(sid, str) else None,
                        sub=sub if isinstance(sub, str) else None,
                        expires_at=int(exp or iat + MAX_AGE_SECONDS))


def _decode(token: str, keys: Callable[[bool], KeySet], algorithms: list[str]):
    kid = extract_compact(token.encode()).headers().get("kid")
    key_set = keys(False)
    if kid and kid not in {key.kid for key in key_set}:
        # A key the cached set does not hold may be newly published: look once more.
        key_set = keys(True)
    return jwt.decode(token, key_set, algorithms=algorithms)

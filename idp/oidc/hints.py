"""``id_token_hint``: an ID token this provider issued, naming the citizen a client expects.

It is read at /authorize (OIDC Core §3.1.2.1) and at RP-initiated logout (RP-Initiated Logout
§2), with the provider's own published keys; an expired ID token is still a good hint.
"""

from authlib.oauth2.rfc6749 import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError

from idp.services import services
from idp.sessions import SessionUser, public_sid

ID_TOKEN_ALGS = ["RS256", "ES256"]
# Tokens this provider signs that are not ID tokens: never a hint.
NOT_ID_TOKENS = {"at+jwt", "logout+jwt"}


def decode_id_token_hint(hint: str) -> dict:
    """The claims of ``hint``, or :class:`InvalidRequestError` if this provider did not issue it."""
    svc = services()
    try:
        token = jwt.decode(hint, svc.keys.verification_keys(), algorithms=ID_TOKEN_ALGS)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequestError("Invalid 'id_token_hint'.") from exc
    claims = dict(token.claims)
    # OIDC Core §3.1.2.1 / RP-Initiated Logout §2: the provider must have issued it.
    if (token.header.get("typ") in NOT_ID_TOKENS or claims.get("iss") != svc.settings.server.issuer
            or not isinstance(claims.get("sub"), str)):
        raise InvalidRequestError("Invalid 'id_token_hint'.")
    return claims


def names_citizen(claims: dict, user: SessionUser) -> bool:
    """True when the hint's subject is the session's citizen."""
    return claims.get("sub") == user.account.id


def names_session(claims: dict, user: SessionUser) -> bool:
    """True when the hint names the session's citizen and, if it has a ``sid``, this session."""
    sid = claims.get("sid")
    return names_citizen(claims, user) and (sid is None or sid == public_sid(user.sid))

"""RP-initiated logout (OpenID RP-Initiated Logout 1.0) and back-channel logout (OIDC BCL 1.0).

Authlib's endpoint validates ``id_token_hint`` and the registered post-logout URI; this module
ends the provider session and tells the session's other relying parties.
"""

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import requests
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask_login import current_user, logout_user
from joserfc import jwt

from idp import outbound
from idp.audit import record
from idp.oidc.hints import decode_id_token_hint, names_session
from idp.services import services
from idp.sessions import SessionUser, end_session, public_sid, save_clients

log = logging.getLogger(__name__)
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# The deadline of each post, which go out together: the whole notification ends within it.
BACKCHANNEL_TIMEOUT = 3.0
BACKCHANNEL_PARALLEL = 8
_http = outbound.session()


class EndSessionEndpoint(_EndSessionEndpoint):
    def get_server_jwks(self):
        return services().keys.verification_keys()

    def _validate_id_token_hint(self, id_token_hint: str) -> dict:
        # RP-Initiated Logout §2: issued by this provider (also its iss), expired accepted.
        return decode_id_token_hint(id_token_hint)

    def resolve_client_from_id_token_claims(self, id_token_claims: dict):
        # A one-element aud list names its client as clearly as a string does (SPEC §4).
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        return self.server.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request) -> None:
        log_out(end_session_request.client)


def needs_confirmation(end_request) -> bool:
    """Ask the citizen first unless the hint names this very session (RP-Initiated Logout §6).

    A hint someone else holds (their own ID token for a client) must not end this session
    without the citizen's say: a top-level GET passes ``SameSite=Lax`` (issue 6, defect 5).
    """
    if end_request is None or end_request.id_token_claims is None:
        return True
    if not current_user.is_authenticated:
        return False  # nothing to end; the client may have its registered redirect
    return not names_session(end_request.id_token_claims, current_user._get_current_object())


def log_out(client=None) -> None:
    """End the provider session of this browser and tell its other relying parties."""
    if not current_user.is_authenticated:
        return
    user: SessionUser = current_user._get_current_object()
    client_id = client.client_id if client else None
    notify_backchannel(user, except_client=client_id)
    end_session(user.sid)
    logout_user()
    record("logout", account_id=user.account.id, client_id=client_id)
    services().db.session.commit()


def end_replaced_session(user: SessionUser, except_client: str | None = None) -> None:
    """End the session a new login in the same browser replaces (issue 6: a browser has one
    provider session), telling its relying parties as a logout would."""
    notify_backchannel(user, except_client=except_client)
    end_session(user.sid)
    record("session.replaced", account_id=user.account.id, client_id=except_client)


def end_listed_session(user: SessionUser, reason: str) -> None:
    """End one of the citizen's sessions from the account page (issue 12), telling its relying
    parties as a logout would; the caller commits the audit row."""
    notify_backchannel(user)
    end_session(user.sid)
    record("session.ended", account_id=user.account.id, session=user.public_id, reason=reason)


def logout_service(client_id: str, sessions: list[SessionUser]) -> None:
    """Tell one relying party that the citizen left it (its access revoked): a logout token
    for each live session it is part of, which then forgets it."""
    for user in sessions:
        if client_id in user.clients:
            notify_backchannel(replace(user, clients=[client_id]))
            user.clients.remove(client_id)
            save_clients(user)


def logout_token(client, user: SessionUser) -> str:
    """OIDC Back-Channel Logout §2.4: a signed JWT naming the session and the subject."""
    svc = services()
    now = int(time.time())
    claims = {"iss": svc.settings.server.issuer, "aud": client.client_id, "iat": now,
              "exp": now + 120, "jti": secrets.token_urlsafe(16), "sub": user.account.id,
              "sid": public_sid(user.sid), "events": {BACKCHANNEL_EVENT: {}}}
    alg = client.id_token_alg
    header = {"alg": alg, "typ": "logout+jwt", "kid": svc.keys.signing_kid(alg)}
    return jwt.encode(header, claims, svc.keys.signing_keys(alg))


def notify_backchannel(user: SessionUser, except_client: str | None = None) -> None:
    """POST a logout token to each other relying party of the session that asked for one.

    The posts go out together and all end within :data:`BACKCHANNEL_TIMEOUT` (idp.outbound):
    one slow relying party neither delays the others nor holds the citizen's logout.
    """
    server = services().oauth_server
    posts = []
    for client_id in user.clients:
        client = server.query_client(client_id)
        if client is None or not client.backchannel_logout_uri or client_id == except_client:
            continue
        posts.append((client_id, client.backchannel_logout_uri, logout_token(client, user)))
    if not posts:
        return
    with ThreadPoolExecutor(max_workers=min(len(posts), BACKCHANNEL_PARALLEL)) as pool:
        for (client_id, _uri, _token), outcome in zip(posts, pool.map(_post, posts),
                                                      strict=True):
            if outcome is not None:
                log.warning("back-channel logout failed", extra={"client_id": client_id,
                                                                 "error": outcome})


def _post(post: tuple[str, str, str]) -> str | None:
    """One logout token posted; None when the relying party took it, else why not."""
    _client_id, uri, token = post
    try:
        response = _http.post(uri, data={"logout_token": token}, timeout=BACKCHANNEL_TIMEOUT)
    except requests.RequestException as exc:
        return type(exc).__name__
    return f"HTTP {response.status_code}" if response.status_code >= 400 else None

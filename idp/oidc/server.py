"""Authlib's authorization server, wired to this provider's storage.

Clients are cached in memory for a short while (SPEC §6: no database read of the client on
every request); a registration or removal made anywhere (``idp clients add/remove``, another
instance's ``[[clients]]``) reaches every instance within the cache's TTL, well inside the
minute issue 9 allows.
"""

import time
from datetime import timedelta
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from idp.audit import record
from idp.models import Client, Grant, RefreshToken
from idp.models.base import utcnow
from idp.oidc.grants import AuthenticatedUser, token_hash, with_issuer
from idp.services import services

CLIENT_CACHE_SECONDS = 30
# Unknown client_ids are cached too (a miss costs a query); past this many entries the cache
# starts afresh, so a flood of made-up ids cannot grow a worker's memory.
CLIENT_CACHE_ENTRIES = 10_000


class StoredAuthorizationRequest(OAuth2Request):
    """An /authorize request saved in the journey and resumed when the citizen is done."""

    def __init__(self, issuer: str, params: dict[str, str], headers) -> None:
        super().__init__("GET", f"{issuer}/authorize?{urlencode(params)}", headers=headers)
        self.payload = BasicOAuth2Payload(params)
        self._args = MultiDict(params)

    @property
    def args(self) -> MultiDict:
        return self._args

    @property
    def form(self) -> MultiDict:
        return MultiDict()


class AuthorizationServer(_AuthorizationServer):
    def __init__(self) -> None:
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self.clock = time.monotonic  # tests move it
        # No Flask app: the provider registers its own token generator and scopes, so
        # Authlib's config-driven defaults (``init_app``) are not used.
        super().__init__(query_client=self.find_client, save_token=self.store_token)

    def find_client(self, client_id: str) -> Client | None:
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        now = self.clock()
        cached = self._clients.get(client_id)
        if cached and cached[0] > now:
            return cached[1]
        session = services().db.session
        client = session.get(Client, client_id)
        if client is not None:
            session.expunge(client)
        if len(self._clients) >= CLIENT_CACHE_ENTRIES:
            self._clients = {}
        self._clients[client_id] = (now + CLIENT_CACHE_SECONDS, client)
        return client

    def forget_client(self, client_id: str) -> None:
        self._clients.pop(client_id, None)

    def create_oauth2_request(self, request) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        if isinstance(request, dict):
            return StoredAuthorizationRequest(services().settings.server.issuer, request,
                                              flask_request.headers)
        return super().create_oauth2_request(request)

    def handle_error_response(self, request, error):
        if error.redirect_uri:
            # RFC 9207 §2: error responses to the client name the issuer too (against mix-up).
            error.redirect_uri = with_issuer(error.redirect_uri)
        return super().handle_error_response(request, error)

    def store_token(self, token: dict, request) -> None:
        """Record the grant (first issue) and the refresh token, in one commit."""
        svc = services()
        session = svc.db.session
        user: AuthenticatedUser | None = request.user
        client = request.client
        if user is None:
            # client_credentials: no citizen, no grant, no refresh token; the audit row only.
            if not session.in_transaction():
                # The row is then the request's one statement: sent autocommitted it is one
                # round trip (no BEGIN, no COMMIT) and as committed, before the token leaves.
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            record("token.issued", client_id=client.client_id,
                   grant_type=request.payload.grant_type,
                   resource=request.form.getlist("resource") or list(client.resources[:1]))
            session.commit()
            return
        if request.refresh_token is None:
            session.add(Grant(id=user.grant_id, client_id=client.client_id,
                              account_id=user.account.id, scope=token.get("scope", ""),
                              authentication=user.authn.to_dict(),
                              claims=user.claims, requested_at=user.requested_at,
                              session_id=user.sid))
        if "refresh_token" in token:
            lifetime = timedelta(days=svc.settings.tokens.refresh_token_days)
            session.add(RefreshToken(grant_id=user.grant_id,
                                     token_hash=token_hash(token["refresh_token"]),
                                     scope=token.get("scope", ""), expires_at=utcnow() + lifetime))
        record("token.issued", account_id=user.account.id, client_id=client.client_id,
               grant_type=request.payload.grant_type, grant_id=user.grant_id)
        session.commit()

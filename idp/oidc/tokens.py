"""Access tokens (JWT, RFC 9068), refresh tokens, and the endpoints that read them back.

Access tokens are verified by signature, issuer, type and expiry, then checked against the
store's revocation markers: no database read on the hot path of UserInfo.
"""

import secrets
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from idp.audit import record
from idp.models import Account, RefreshToken
from idp.oidc.grants import AuthenticatedUser, token_hash
from idp.oidc.revocation import is_revoked, revoke_access_token, revoke_grant
from idp.services import services

ACCESS_TOKEN_ALG = "RS256"


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed with the current key; refresh only with offline_access."""

    def get_jwks(self):
        return services().keys.signing_keys(ACCESS_TOKEN_ALG)

    def get_audiences(self, client, user, scope) -> str | list[str]:
        # RFC 9068 §3: aud is the named resource (RFC 8707), else the client. The grant has
        # checked that each named resource is registered for the client.
        resources = flask_request.form.getlist("resource")
        if not resources and user is None:
            return client.resources[0]  # a service client's one resource (ClientCredentialsGrant)
        if not resources:
            return client.get_client_id()
        return resources[0] if len(resources) == 1 else resources

    # A service's token (client_credentials) has no citizen: none of their claims.
    def get_auth_time(self, user: AuthenticatedUser | None) -> int | None:
        return user.authn.auth_time if user else None

    def get_acr(self, user: AuthenticatedUser | None) -> str | None:
        return user.authn.acr if user else None

    def get_amr(self, user: AuthenticatedUser | None) -> list[str] | None:
        return list(user.authn.amr) if user else None

    def get_extra_claims(self, client, grant_type, user: AuthenticatedUser | None,
                         scope) -> dict:
        if user is None:
            return {}
        claims = {"gid": user.grant_id}
        if user.sid:
            claims["sid"] = user.sid
        if user.authn.company:
            # SPEC §4: the access token of a company login names the company.
            claims["company"] = user.authn.company
        return claims

    def get_jti(self, client, grant_type, user, scope) -> str:
        # One read of the system's random source instead of Authlib's one per character (a
        # few percent of a service token's time): 96 random bits, as its 16 characters carry.
        return secrets.token_urlsafe(12)

    def generate(self, grant_type, client, user=None, scope=None, expires_in=None,
                 include_refresh_token=True):
        # OIDC Core §11: refresh tokens only when offline_access was granted.
        offline = "offline_access" in (scope or "").split()
        # RFC 9068 §2.2.3: the claim is a space-separated list; a service token's is empty.
        return super().generate(grant_type, client, user, scope or "", expires_in,
                                include_refresh_token and offline)


def new_refresh_token(**_kwargs) -> str:
    return secrets.token_urlsafe(32)


@dataclass
class AccessToken:
    """A verified access token, as Authlib's resource protector and endpoints use it."""

    claims: dict

    @property
    def scope(self) -> str:
        return self.claims.get("scope", "")

    @property
    def client_id(self) -> str:
        return self.claims["client_id"]

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return self.claims["exp"] <= time.time()

    def is_revoked(self) -> bool:
        return is_revoked(self.claims.get("gid"), self.claims.get("jti"))

    def get_client(self):
        return services().oauth_server.query_client(self.client_id)

    def get_user(self) -> AuthenticatedUser | None:
        if "gid" not in self.claims:
            return None  # a service's token (client_credentials) names no citizen
        account = services().db.session.get(Account, self.claims["sub"])
        if account is None:
            return None
        client = self.get_client()
        # UserInfo needs the citizen and the grant, not how they proved it.
        return AuthenticatedUser(account=account, authn=None,
                                 sid=self.claims.get("sid"), grant_id=self.claims.get("gid"),
                                 allowed_scopes=client.scope.split() if client else [])

    def introspection(self) -> dict:
        keys = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time",
                "acr")
        return {"token_type": "Bearer", **{k: self.claims[k] for k in keys if k in self.claims}}


def decode_access_token(token_string: str) -> AccessToken | None:
    """Verify an access token's signature, type and issuer (RFC 9068 §4)."""
    svc = services()
    try:
        token = jwt.decode(token_string, svc.keys.verification_keys(),
                           algorithms=[ACCESS_TOKEN_ALG])
    except (JoseError, ValueError):
        return None
    if token.header.get("typ") != "at+jwt":
        return None
    registry = jwt.JWTClaimsRegistry(iss={"essential": True,
                                          "value": svc.settings.server.issuer},
                                     exp={"essential": True}, sub={"essential": True},
                                     client_id={"essential": True})
    try:
        registry.validate(token.claims)
    except JoseError:
        return None
    return AccessToken(dict(token.claims))


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        token = decode_access_token(token_string)
        if token is None or token.get_client() is None:
            # A removed client's tokens die with it (``idp clients remove``): invalid_token.
            return None
        return token


@dataclass
class StoredRefreshToken:
    """A refresh token as introspection and revocation see it."""

    row: RefreshToken

    def check_client(self, client) -> bool:
        return self.row.check_client(client)

    def is_expired(self) -> bool:
        return self.row.is_expired()

    def is_revoked(self) -> bool:
        return self.row.is_revoked()

    def introspection(self) -> dict:
        grant = self.row.grant
        return {"token_type": "refresh_token", "scope": self.row.scope,
                "client_id": grant.client_id, "sub": grant.account_id,
                "exp": int(self.row.expires_at.timestamp()),
                "iat": int(self.row.issued_at.timestamp()),
                "iss": services().settings.server.issuer}


def find_token(token_string: str, hint: str | None) -> AccessToken | StoredRefreshToken | None:
    """Either kind of token; the hint only orders the search (RFC 7009 §2.1)."""

    def as_refresh():
        row = services().db.session.scalars(select(RefreshToken).where(
            RefreshToken.token_hash == token_hash(token_string))).first()
        return StoredRefreshToken(row) if row else None

    order = [as_refresh, lambda: decode_access_token(token_string)]
    if hint != "refresh_token":
        order.reverse()
    for lookup in order:
        if token := lookup():
            return token
    return None


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request) -> bool:
        # A client may introspect the tokens issued to it.
        return token.check_client(client)

    def introspect_token(self, token) -> dict:
        return token.introspection()


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt",
                           "none")

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request) -> None:
        session = services().db.session
        if isinstance(token, StoredRefreshToken):
            # RFC 7009 §2.1: revoking a refresh token also invalidates its access tokens.
            revoke_grant(token.row.grant_id, "revoked_by_client")
            account_id = token.row.grant.account_id
        else:
            revoke_access_token(token.claims["jti"], int(token.claims["exp"] - time.time()))
            # A service's token (no grant id) has the client, not a citizen, as its subject.
            account_id = token.claims["sub"] if "gid" in token.claims else None
        record("token.revoked", account_id=account_id, client_id=request.client.client_id)
        session.commit()

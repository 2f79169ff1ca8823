"""The grants on Authlib's hooks: authorization code (+PKCE, +OpenID), refresh token, and
client credentials for relying parties' back-end services.

Authorization codes live in the store for a minute and are taken once. Where Authlib's defaults
are not this provider's rules (SPEC §4) the subclass says so: PKCE is S256 only, a replayed
code revokes what it issued, and refresh tokens rotate with reuse detection.
"""

import hashlib
import time
from dataclasses import asdict, dataclass, field

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode as _OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from sqlalchemy import select, update

from idp.audit import record
from idp.authn import Authentication
from idp.models import Account, RefreshToken
from idp.models.base import new_id, utcnow
from idp.oidc.claims import user_claims
from idp.oidc.revocation import revoke_grant
from idp.services import services


def token_hash(value: str) -> str:
    """Codes and refresh tokens are stored only as their SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()


def with_issuer(uri: str) -> str:
    """``uri`` with this provider's ``iss`` added, for a redirect back to a client."""
    # RFC 9207 §2: every authorization response names its issuer (RFC 9700 §4.4: mix-up).
    return add_params_to_uri(uri, {"iss": services().settings.server.issuer})


@dataclass
class AuthenticatedUser:
    """The citizen plus how and when they proved it: what a code or grant carries."""

    account: Account
    # None where only the citizen matters (UserInfo reads an access token).
    authn: Authentication | None
    sid: str | None = None
    grant_id: str = field(default_factory=new_id)
    claims: dict | None = None
    locale: str = "fa"
    allowed_scopes: list[str] = field(default_factory=list)
    # When the authorization request was processed: ``verified_claims`` max_age counts from it.
    requested_at: int | None = None

    def get_user_id(self) -> str:
        return self.account.id


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    client_id: str
    redirect_uri: str
    scope: str
    account_id: str
    authn: dict
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    claims: dict | None = None
    sid: str | None = None
    locale: str = "fa"
    requested_at: int | None = None
    code_hash: str = ""

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.authn["auth_time"]

    def get_acr(self) -> str:
        return self.authn["acr"]

    def get_amr(self) -> list[str]:
        return self.authn["amr"]


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is not one this client may name."""

    error = "invalid_target"


class RegisteredResources:
    """Token requests may name only resources registered for the client (RFC 8707 §2).

    The access token's audience is then that resource (:class:`AccessTokenGenerator`).
    """

    def authenticate_token_endpoint_client(self):
        client = super().authenticate_token_endpoint_client()
        # Checked as soon as the client is known, before the code is taken or the refresh
        # token rotated: a refused request must not use up the client's grant.
        for resource in self.request.form.getlist("resource"):
            if not client.has_resource(resource):
                raise InvalidTargetError("The resource is not registered for this client.")
        return client


class AuthorizationCodeGrant(RegisteredResources, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none",
                                   "private_key_jwt")

    def create_authorization_response(self, redirect_uri: str, grant_user):
        if grant_user is None:
            # Refused: the server's error response adds ``iss`` (RFC 9207 §2).
            return super().create_authorization_response(redirect_uri, grant_user)
        return super().create_authorization_response(with_issuer(redirect_uri), grant_user)

    def save_authorization_code(self, code: str, request) -> None:
        user: AuthenticatedUser = request.user
        data = request.payload.data
        item = AuthorizationCode(
            client_id=request.client.client_id, redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope, account_id=user.account.id,
            authn=user.authn.to_dict(), nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), claims=user.claims,
            sid=user.sid, locale=user.locale, requested_at=user.requested_at)
        svc = services()
        svc.store.put(f"code:{token_hash(code)}", asdict(item),
                      svc.settings.tokens.authorization_code_seconds)

    def query_authorization_code(self, code: str, client) -> AuthorizationCode | None:
        svc = services()
        digest = token_hash(code)
        data = svc.store.take(f"code:{digest}")
        if data is None:
            # RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
            issued = svc.store.get(f"code-used:{digest}")
            if issued:
                revoke_grant(issued, "code_replay")
                record("token.code_replay", client_id=client.client_id, grant_id=issued)
                svc.db.session.commit()
            return None
        if data["client_id"] != client.client_id:
            return None
        data["code_hash"] = digest
        return AuthorizationCode(**data)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # The code was taken when it was read; remember which grant it produced, for replay.
        svc = services()
        svc.store.put(f"code-used:{authorization_code.code_hash}", self.request.user.grant_id,
                      svc.settings.tokens.access_token_seconds)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> AuthenticatedUser | None:
        account = services().db.session.get(Account, authorization_code.account_id)
        if account is None:
            return None
        return AuthenticatedUser(account=account,
                                 authn=Authentication.from_dict(authorization_code.authn),
                                 sid=authorization_code.sid, claims=authorization_code.claims,
                                 locale=authorization_code.locale,
                                 allowed_scopes=self.request.client.scope.split(),
                                 requested_at=authorization_code.requested_at)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only (RFC 9700 §2.1.1), required at /authorize for public clients."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if grant.request.client.public and not challenge:
            # RFC 9700 §2.1.1: public clients MUST use PKCE.
            raise InvalidRequestError("Missing 'code_challenge'", redirect_uri=redirect_uri)
        if challenge and data.get("code_challenge_method") != "S256":
            # RFC 7636 §4.3 would default to "plain"; SPEC §4 refuses plain.
            raise InvalidRequestError("'code_challenge_method' must be 'S256'",
                                      redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDCode(_OpenIDCode):
    """ID tokens signed with the imported key set (with ``kid``) and a string ``aud``."""

    def exists_nonce(self, nonce: str, request) -> bool:
        # OIDC Core §15.5.2: the nonce is the client's replay defence; codes are single-use.
        return False

    def resolve_client_private_key(self, client):
        return services().keys.signing_keys(self.get_client_algorithm(client))

    def get_client_algorithm(self, client) -> str:
        return client.id_token_alg

    def get_encode_header(self, client) -> dict:
        alg = self.get_client_algorithm(client)
        return {"alg": alg, "kid": services().keys.signing_kid(alg)}

    def get_client_claims(self, client) -> dict:
        svc = services()
        now = int(time.time())
        # OIDC Core §2: aud may be a string; a list breaks RP-initiated logout (SPEC §4).
        return {"iss": svc.settings.server.issuer, "aud": client.client_id, "iat": now,
                "exp": now + svc.settings.tokens.id_token_seconds}

    def get_authorization_code_claims(self, authorization_code: AuthorizationCode) -> dict:
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user: AuthenticatedUser, scope: str):
        # OIDC Core §5.4: with an access token issued, scope claims come from UserInfo; the ID
        # token carries the subject plus what the ``claims`` parameter asks of it (§5.5), and
        # the company of a company login (SPEC §4).
        return user_claims(user.account, (), member="id_token",
                           claims_request=user.claims, allowed_scopes=user.allowed_scopes,
                           locale=user.locale, requested_at=user.requested_at,
                           company=user.authn.company)


class ClientCredentialsGrant(RegisteredResources, grants.ClientCredentialsGrant):
    """A service's own token (RFC 6749 §4.4), for one resource server (RFC 8707).

    No citizen is involved: the token's ``sub`` is the client (RFC 9068 §2.2), it carries
    none of the citizen scopes, and no refresh token comes with it.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post",
                                   "private_key_jwt")

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if self.request.payload.scope:
            raise InvalidScopeError("A service token carries no scope; name the resource.")
        # RFC 8707 §2: without `resource`, the client's one registered resource is meant;
        # with several, the request must say which (the token is for one audience).
        if not self.request.form.getlist("resource") and \
                len(self.request.client.resources or []) != 1:
            raise InvalidTargetError("Name the resource this token is for.")


class RefreshTokenGrant(RegisteredResources, grants.RefreshTokenGrant):
    """Rotation on every use; a rotated token used again revokes its family (RFC 9700 §4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none",
                                   "private_key_jwt")
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        session = services().db.session
        token = session.scalars(select(RefreshToken).where(
            RefreshToken.token_hash == token_hash(refresh_token))).first()
        if token is None or token.grant.revoked_at is not None or token.is_expired():
            return None
        # One conditional UPDATE: of two concurrent uses, exactly one rotates the token.
        rotated = session.execute(
            update(RefreshToken).where(RefreshToken.id == token.id,
                                       RefreshToken.rotated_at.is_(None))
            .values(rotated_at=utcnow())).rowcount
        if not rotated:
            revoke_grant(token.grant_id, "refresh_reuse")
            record("token.refresh_reuse", account_id=token.grant.account_id,
                   client_id=token.grant.client_id, grant_id=token.grant_id)
            session.commit()
            return None
        return token

    def authenticate_user(self, refresh_token: RefreshToken) -> AuthenticatedUser | None:
        grant = refresh_token.grant
        account = services().db.session.get(Account, grant.account_id)
        if account is None:
            return None
        return AuthenticatedUser(account=account,
                                 authn=Authentication.from_dict(grant.authentication),
                                 sid=grant.session_id, grant_id=grant.id,
                                 claims=grant.claims, requested_at=grant.requested_at,
                                 allowed_scopes=self.request.client.scope.split())

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        # Rotation was recorded by the conditional UPDATE, committed with the new token.
        return None

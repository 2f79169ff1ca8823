"""A relying party, as Authlib's ``ClientMixin`` expects it."""

import hmac
from datetime import datetime
from hashlib import sha256

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base
from idp.models.base import utcnow

_hasher = PasswordHasher()
# Stored argon2 hash -> SHA-256 of the secret that last matched it: a busy client is not
# hashed with argon2 on every token request, and a changed secret has a new stored hash.
_verified: dict[str, bytes] = {}

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# A relying party that logs citizens in; a service client has only "client_credentials".
LOGIN_GRANTS = ("authorization_code", "refresh_token")
GRANT_TYPES = (*LOGIN_GRANTS, "client_credentials")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


class Client(ClientMixin, Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    first_party: Mapped[bool] = mapped_column(default=False)
    scope: Mapped[str] = mapped_column(Text)
    auth_method: Mapped[str] = mapped_column(String(32), default="client_secret_basic")
    id_token_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    # RFC 8707: the resources this client may name as its access tokens' audience.
    resources: Mapped[list | None] = mapped_column(JSON, default=list)
    # Issue 8: every login to a legal-entity client is a company login by the company's CEO.
    legal_entity: Mapped[bool] = mapped_column(default=False)
    grant_types: Mapped[list | None] = mapped_column(JSON, default=lambda: list(LOGIN_GRANTS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.id_token_alg

    @property
    def client_metadata(self) -> dict:
        return {
            "client_name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "token_endpoint_auth_method": self.auth_method,
            "id_token_signed_response_alg": self.id_token_alg,
            "scope": self.scope,
            "jwks": self.jwks,
            "jwks_uri": self.jwks_uri,
            "resources": list(self.resources or []),
            "legal_entity": self.legal_entity,
            "grant_types": list(self.allowed_grants),
        }

    @property
    def allowed_grants(self) -> tuple[str, ...]:
        return tuple(self.grant_types or LOGIN_GRANTS)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core §3.1.2.1: redirect_uri is required; no default is ever guessed.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 §4.1.3: exact string matching of redirect URIs.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash or not client_secret:
            return False
        digest = sha256(client_secret.encode()).digest()
        known = _verified.get(self.client_secret_hash)
        if known is not None and hmac.compare_digest(digest, known):
            return True
        try:
            _hasher.verify(self.client_secret_hash, client_secret)
        except (VerificationError, InvalidHashError):
            return False
        _verified[self.client_secret_hash] = digest
        return True

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        # A service client has no citizen to send to /authorize.
        return response_type == "code" and "authorization_code" in self.allowed_grants

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.allowed_grants

    def has_resource(self, resource: str) -> bool:
        """True when ``resource`` was registered for this client (exact match, RFC 8707 §2)."""
        return resource in (self.resources or [])

    def may_request(self, scope: str) -> bool:
        """True when every requested scope is one this client was registered for."""
        return set(scope_to_list(scope) or []) <= set(self.scope.split())

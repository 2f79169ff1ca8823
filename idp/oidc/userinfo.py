"""UserInfo (OIDC Core §5.3) and client authentication by signed JWT (RFC 7523, OIDC §9)."""

import time
from functools import lru_cache

import requests
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp import outbound
from idp.models import Grant
from idp.oidc.claims import user_claims
from idp.oidc.grants import AuthenticatedUser
from idp.oidc.tokens import AccessTokenValidator
from idp.services import services

resource_protector = ResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator())


class UserInfoEndpoint(_UserInfoEndpoint):
    def get_issuer(self) -> str:
        return services().settings.server.issuer

    def resolve_private_key(self):
        return services().keys.signing_keys("RS256")

    def generate_user_info(self, user: AuthenticatedUser, scope: str):
        grant = services().db.session.get(Grant, user.grant_id) if user.grant_id else None
        return user_claims(user.account, scope.split(), member="userinfo",
                           claims_request=grant.claims if grant else None,
                           allowed_scopes=user.allowed_scopes, locale=user.locale)


_http = outbound.session()


@lru_cache(maxsize=256)
def _remote_jwks(uri: str) -> dict:
    # A deadline for the whole fetch, not per read (idp.outbound).
    response = _http.get(uri, timeout=5)
    response.raise_for_status()
    return response.json()


# Issue 6 defect 7: "a few minutes"; an assertion is made for one request.
MAX_ASSERTION_SECONDS = 300


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt``: the client signs an assertion with a key it registered."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True)

    def get_audiences(self) -> list[str]:
        issuer = services().settings.server.issuer
        return [issuer, f"{issuer}/token"]

    def verify_claims(self, claims) -> None:
        self._check_lifetime(claims)
        super().verify_claims(claims)

    def _check_lifetime(self, claims) -> None:
        """Refuse an assertion that lives longer than :data:`MAX_ASSERTION_SECONDS`."""
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_number(exp):
            return  # Authlib's claims registry refuses it with invalid_client.
        start = min(iat, time.time()) if _is_number(iat) else time.time()
        # RFC 7523 §3 / RFC 9700 §2.5: a short-lived assertion limits the replay window.
        if exp - start > MAX_ASSERTION_SECONDS:
            raise InvalidClientError(description="The client assertion lives too long.")

    def validate_jti(self, claims, jti) -> bool:
        # RFC 7523 §3: an assertion is used once; its jti is kept as long as it could pass.
        seconds_left = int(claims["exp"] - time.time()) + self.leeway
        return services().store.add(f"assertion-jti:{claims['sub']}:{jti}", 1,
                                    max(1, seconds_left))

    def resolve_client_public_key(self, client) -> KeySet:
        if client.auth_method != self.CLIENT_AUTH_METHOD:
            # A client registered with a secret has no key: refuse, never look one up.
            raise InvalidClientError(description="The client does not use private_key_jwt.")
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        try:
            return KeySet.import_key_set(_remote_jwks(client.jwks_uri))
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise InvalidClientError(description="The client's keys cannot be read.") from exc


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

"""The OpenID Connect provider: Authlib's server with this provider's grants and endpoints."""

from idp.oidc.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    OpenIDCode,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from idp.oidc.logout import EndSessionEndpoint
from idp.oidc.request_rules import ProviderRules
from idp.oidc.server import AuthorizationServer
from idp.oidc.tokens import (
    AccessTokenGenerator,
    IntrospectionEndpoint,
    RevocationEndpoint,
    new_refresh_token,
)
from idp.oidc.userinfo import PrivateKeyJWT, UserInfoEndpoint, resource_protector
from idp.scopes import SUPPORTED_SCOPES
from idp.settings import Settings


def build_server(settings: Settings) -> AuthorizationServer:
    """Authlib's server with this provider's grants, client authentication and endpoints."""
    server = AuthorizationServer()
    server.scopes_supported = list(SUPPORTED_SCOPES)
    generator = AccessTokenGenerator(
        issuer=settings.server.issuer, refresh_token_generator=new_refresh_token,
        expires_generator=lambda client, grant_type: settings.tokens.access_token_seconds)
    server.register_token_generator("default", generator)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True),
                                                   OpenIDCode(require_nonce=False),
                                                   ProviderRules()])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(UserInfoEndpoint(resource_protector=resource_protector))
    server.register_endpoint(EndSessionEndpoint)
    return server

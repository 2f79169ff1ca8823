"""This provider's rules for an authorization request, on Authlib's validation hook.

Authlib validates the client, redirect URI, response type, scope, PKCE and prompt. The rules
it leaves to us (SPEC §4) run right after, in this order, each one small function; an error
they raise goes back to the client with its ``state``, since the redirect URI is known good by
then (RFC 6749 §4.1.2.1).
"""

from collections.abc import Callable

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError

from idp.authn import ACR_VALUES_SUPPORTED
from idp.oidc.claims import ClaimsRequestError, essential_acr_values, parse_claims_request


class RequestNotSupportedError(OAuth2Error):
    error = "request_not_supported"  # OIDC Core §3.1.2.6


class RequestUriNotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"  # OIDC Core §3.1.2.6


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """An essential acr the provider cannot reach (OpenID EAP ACR Values §2)."""

    error = "unmet_authentication_requirements"


# The authorization request parameters this provider understands (OIDC Core §3.1.2.1, RFC 7636,
# RFC 8707); nothing else is kept with a pending login.
KNOWN_PARAMETERS = frozenset({
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "response_mode",
    "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales",
    "claims_locales", "claims", "acr_values", "id_token_hint", "display", "resource",
})
# A pending login is stored for every request: one parameter may not fill the store (issue 6).
MAX_PARAMETER_LENGTH = 4096


def known_parameters(params) -> dict[str, str]:
    """The parameters worth keeping for the rest of the login."""
    return {name: params[name] for name in KNOWN_PARAMETERS if name in params}


def bounded_sizes(params: dict, client) -> None:
    for name in KNOWN_PARAMETERS:
        if len(params.get(name) or "") > MAX_PARAMETER_LENGTH:
            raise InvalidRequestError(f"'{name}' is longer than {MAX_PARAMETER_LENGTH} characters.")


def no_request_object(params: dict, client) -> None:
    # OIDC Core §6: request objects are not supported, and discovery says so.
    if "request" in params:
        raise RequestNotSupportedError()
    if "request_uri" in params:
        raise RequestUriNotSupportedError()


def registered_scopes_only(params: dict, client) -> None:
    if not client.may_request(params.get("scope", "")):
        raise InvalidScopeError()


def query_response_mode(params: dict, client) -> None:
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only the 'query' response mode is supported.")


def max_age_is_a_number(params: dict, client) -> None:
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit()):
        # OIDC Core §3.1.2.1: max_age is a number of seconds.
        raise InvalidRequestError("'max_age' must be a non-negative integer.")


def claims_request_is_valid(params: dict, client) -> None:
    try:
        claims = parse_claims_request(params.get("claims"))
    except ClaimsRequestError as exc:
        raise InvalidRequestError(str(exc)) from exc
    essential = essential_acr_values(claims)
    if essential is not None and not set(essential) & set(ACR_VALUES_SUPPORTED):
        # OIDC Core §5.5.1.1: an essential acr that cannot be met is an error, not a claim.
        raise UnmetAuthenticationRequirementsError()


RULES: tuple[Callable[[dict, object], None], ...] = (
    bounded_sizes, no_request_object, registered_scopes_only, query_response_mode,
    max_age_is_a_number, claims_request_is_valid,
)


class ProviderRules:
    """An Authlib grant extension: run :data:`RULES` after Authlib's own payload checks."""

    def __call__(self, grant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    @staticmethod
    def validate(grant, _result=None) -> None:
        params = grant.request.payload.data
        for rule in RULES:
            rule(params, grant.request.client)

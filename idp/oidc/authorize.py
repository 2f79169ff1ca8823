"""/authorize: validate with Authlib, add this provider's rules, then start the journey.

Authlib validates the client, redirect URI, response type, scope, PKCE and prompt. The rules it
leaves to us (SPEC §4) are here: the client's own scope set, ``request``/``request_uri``,
``claims``, an essential ``acr``, ``max_age``, ``ui_locales``. Errors go back to the client only
once its redirect URI is known to be registered (RFC 6749 §4.1.2.1); before that, a page.
"""

import time

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user

from flows import journey as journeys
from flows.consent import finish_journey, needs_consent
from idp.oidc.claims import (
    ACR_VALUES_SUPPORTED,
    ClaimsRequestError,
    essential_acr_values,
    parse_claims_request,
)
from idp.oidc.grants import AuthenticatedUser
from idp.services import services
from idp.sessions import SessionUser, public_sid

LOCALES = ("fa", "en")


class RequestNotSupportedError(OAuth2Error):
    error = "request_not_supported"  # OIDC Core §3.1.2.6


class RequestUriNotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"  # OIDC Core §3.1.2.6


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """An essential acr the provider cannot reach (OpenID EAP ACR Values §2)."""

    error = "unmet_authentication_requirements"


def _session_user() -> SessionUser | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def needs_fresh_login(user: SessionUser | None, prompts: list[str], max_age: int | None) -> bool:
    """OIDC Core §3.1.2.1: prompt=login and an exceeded max_age both demand a new login."""
    if user is None or "login" in prompts:
        return True
    return max_age is not None and int(time.time()) - user.auth_time >= max_age


def check_extensions(params: dict[str, str], client, redirect_uri: str) -> dict | None:
    """This provider's rules on top of Authlib's; returns the parsed ``claims`` request."""
    state = params.get("state")

    def fail(error_class, description=None):
        return error_class(description=description, redirect_uri=redirect_uri, state=state)

    if "request" in params:
        raise fail(RequestNotSupportedError)
    if "request_uri" in params:
        raise fail(RequestUriNotSupportedError)
    if not client.may_request(params.get("scope", "")):
        raise fail(InvalidScopeError)
    if params.get("response_mode", "query") != "query":
        raise fail(InvalidRequestError, "Only the 'query' response mode is supported.")
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit()):
        raise fail(InvalidRequestError, "'max_age' must be a non-negative integer.")
    try:
        claims = parse_claims_request(params.get("claims"))
    except ClaimsRequestError as exc:
        raise fail(InvalidRequestError, str(exc)) from exc
    essential = essential_acr_values(claims)
    if essential is not None and not set(essential) & set(ACR_VALUES_SUPPORTED):
        # OIDC Core §5.5.1.1: an essential acr that cannot be met is an error, not a claim.
        raise fail(UnmetAuthenticationRequirementsError)
    return claims


def invalid_request_page(error: OAuth2Error):
    """The client or its redirect URI is unknown: tell the citizen, never redirect."""
    return render_template("error.html", title=_("درخواست نامعتبر"),
                           message=_("درخواست ورود از سامانه مبدا معتبر نیست. لطفا از طریق "
                                     "سامانه مورد نظر دوباره اقدام کنید."),
                           detail=error.error, restart_url=None), 400


def authorize():
    server = services().oauth_server
    user = _session_user()
    grant_user = None
    if user is not None:
        grant_user = AuthenticatedUser(account=user.account, auth_time=user.auth_time,
                                       amr=user.amr, acr=user.acr, sid=public_sid(user.sid))
    try:
        grant = server.get_consent_grant(end_user=grant_user)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(request, error)
        return invalid_request_page(error)
    params = request.values.to_dict(flat=True)
    redirect_uri = grant.redirect_uri
    try:
        check_extensions(params, grant.client, redirect_uri)
    except OAuth2Error as error:
        return server.handle_error_response(request, error)

    locales = [tag for tag in params.get("ui_locales", "").split() if tag in LOCALES]
    if locales:
        session["locale"] = locales[0]
    prompts = params.get("prompt", "").split()
    max_age = int(params["max_age"]) if "max_age" in params else None
    fresh = needs_fresh_login(user, prompts, max_age)

    journey = journeys.new_journey(params, grant.client.client_id, params.get("login_hint"))
    if not fresh:
        journey.by_session = True
        journey.account_id = user.account.id
    if "none" in prompts:
        # OIDC Core §3.1.2.6: no page may be shown.
        if fresh:
            return server.handle_error_response(
                request, LoginRequiredError(redirect_uri=redirect_uri, state=params.get("state")))
        if needs_consent(journey):
            return server.handle_error_response(
                request, ConsentRequiredError(redirect_uri=redirect_uri,
                                              state=params.get("state")))
        return finish_journey(journey, granted=True)
    session["authorize"] = params
    journeys.save(journey)
    return journeys.go_on(journey)

"""/authorize: Authlib validates the request, the journey finds the citizen, Authlib answers.

The request's own rules run on Authlib's hook (:mod:`idp.oidc.request_rules`). Errors go back
to the client only once its redirect URI is known to be registered (RFC 6749 §4.1.2.1); before
that, a page. A valid request is handed to the journey (:mod:`idp.interaction`), which comes
back through :func:`respond` when it has a citizen, or a refusal.
"""

import time

from authlib.oauth2 import OAuth2Error
from flask import render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from idp.interaction import LoginRequest
from idp.oidc.grants import AuthenticatedUser
from idp.oidc.request_rules import known_parameters
from idp.services import services
from idp.sessions import SessionUser

LOCALES = ("fa", "en")


def session_user() -> SessionUser | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def needs_fresh_login(user: SessionUser | None, prompts: list[str], max_age: int | None) -> bool:
    """OIDC Core §3.1.2.1: prompt=login and an exceeded max_age both demand a new login."""
    if user is None or "login" in prompts:
        return True
    return max_age is not None and int(time.time()) - user.authn.auth_time >= max_age


def invalid_request_page(error: OAuth2Error):
    """The client or its redirect URI is unknown: tell the citizen, never redirect."""
    return render_template("error.html", title=_("درخواست نامعتبر"),
                           message=_("درخواست ورود از سامانه مبدا معتبر نیست. لطفا از طریق "
                                     "سامانه مورد نظر دوباره اقدام کنید."),
                           detail=error.error, restart_url=None), 400


def authorize() -> ResponseReturnValue:
    server = services().oauth_server
    user = session_user()
    try:
        grant = server.get_consent_grant(end_user=user.grant_user() if user else None)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(request, error)
        return invalid_request_page(error)
    params = known_parameters(request.values)
    locales = [tag for tag in params.get("ui_locales", "").split() if tag in LOCALES]
    if locales:
        session["locale"] = locales[0]
    prompts = params.get("prompt", "").split()
    max_age = int(params["max_age"]) if "max_age" in params else None
    if needs_fresh_login(user, prompts, max_age):
        user = None
    return services().interaction.begin(LoginRequest(
        params=params, client_id=grant.client.client_id, prompts=tuple(prompts),
        session_user=user))


def respond(params: dict[str, str], user: AuthenticatedUser | None) -> ResponseReturnValue:
    """Answer a pending request: a code for ``user``, or ``access_denied`` without one."""
    server = services().oauth_server
    pending = server.create_oauth2_request(params)
    try:
        grant = server.get_consent_grant(request=pending, end_user=user)
    except OAuth2Error as error:
        return server.handle_error_response(pending, error)
    return server.create_authorization_response(request=pending, grant_user=user, grant=grant)


def refuse(params: dict[str, str], error_class: type[OAuth2Error]) -> ResponseReturnValue:
    """Send ``error_class`` to the client's registered redirect URI, with its ``state``."""
    server = services().oauth_server
    pending = server.create_oauth2_request(params)
    error = error_class(redirect_uri=params.get("redirect_uri") or
                        server.query_client(params["client_id"]).get_default_redirect_uri(),
                        state=params.get("state"))
    return server.handle_error_response(pending, error)

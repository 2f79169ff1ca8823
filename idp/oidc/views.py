"""The OIDC endpoints: thin views over Authlib's server (SPEC §4)."""

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, render_template, request

from idp.authn import ACR_VALUES_SUPPORTED
from idp.forms import ConfirmForm
from idp.keys import JWKS_MAX_AGE_SECONDS
from idp.oidc import authorize as authorize_step
from idp.oidc.claims import CLAIMS_SUPPORTED
from idp.oidc.logout import log_out, needs_confirmation
from idp.oidc.published import PublishedDocuments
from idp.oidc.verified_claims import (
    CLAIMS_IN_VERIFIED_CLAIMS,
    ELECTRONIC_RECORDS_SUPPORTED,
    EVIDENCE_SUPPORTED,
)
from idp.ratelimit import per_ip
from idp.scopes import SUPPORTED_SCOPES
from idp.services import services
from idp.settings import Settings

bp = Blueprint("oidc", __name__)


def discovery_document(settings: Settings) -> dict:
    """OpenID Connect Discovery 1.0 §3, computed once at start."""
    issuer = settings.server.issuer
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    signing_algs = ["RS256", "ES256"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": signing_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        # RFC 8414 §2: required with private_key_jwt among the endpoint's methods.
        "revocation_endpoint_auth_signing_alg_values_supported": signing_algs,
        "introspection_endpoint_auth_methods_supported": auth_methods[:3],
        "introspection_endpoint_auth_signing_alg_values_supported": signing_algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "acr_values_supported": list(ACR_VALUES_SUPPORTED),
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["fa", "en"],
        "claims_locales_supported": ["fa"],
        "display_values_supported": ["page"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
        "service_documentation": f"{issuer}/guide",
        # OpenID Connect for Identity Assurance 1.0 §9 (issue 11). verified_claims_supported
        # left the final text, but the OIDF eKYC test plan still reads it.
        "verified_claims_supported": True,
        "trust_frameworks_supported": [settings.trust_framework],
        "evidence_supported": list(EVIDENCE_SUPPORTED),
        "electronic_records_supported": list(ELECTRONIC_RECORDS_SUPPORTED),
        "claims_in_verified_claims_supported": list(CLAIMS_IN_VERIFIED_CLAIMS),
    }


# The JWKS's max-age is what a next key's publish-ahead period outlasts (idp.keys).
PUBLIC_HEADERS = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}",
                  "Access-Control-Allow-Origin": "*"}


@bp.route("/.well-known/openid-configuration")
def discovery():
    return jsonify(services().discovery), PUBLIC_HEADERS


@bp.route("/jwks.json")
def jwks():
    return jsonify(services().keys.public_jwks()), PUBLIC_HEADERS


# Discovery and JWKS are the same bytes for everyone until the keys change: a request without
# cookies is answered from Flask's own answer, kept per version of the document.
@bp.record_once
def _answer_published_documents_in_front(state) -> None:
    app = state.app

    def keys_version() -> int:
        keys = app.extensions["idp"].keys
        keys.reload()
        return keys.version

    PublishedDocuments.install(app, {
        "/.well-known/openid-configuration":
            ("oidc.discovery", lambda: id(app.extensions["idp"].discovery)),
        "/jwks.json": ("oidc.jwks", keys_version)})


@bp.route("/authorize", methods=["GET", "POST"])
@per_ip("authorize_per_ip", methods=("GET", "POST"))
def authorize():
    return authorize_step.authorize()


@bp.route("/token", methods=["POST"])
@per_ip("token_per_ip")
def token():
    # RFC 8707: a ``resource`` is checked against the client's registration by the grant.
    return services().oauth_server.create_token_response()


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    response = services().oauth_server.create_endpoint_response("userinfo")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/revoke", methods=["POST"])
@per_ip("token_per_ip")
def revoke():
    return services().oauth_server.create_endpoint_response("revocation")


@bp.route("/introspect", methods=["POST"])
@per_ip("token_per_ip")
def introspect():
    return services().oauth_server.create_endpoint_response("introspection")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """RP-initiated logout; unless the id_token_hint names this session, the citizen confirms."""
    server = services().oauth_server
    try:
        end_request = server.validate_endpoint_request("end_session")
    except OAuth2Error:
        end_request = None
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes" and \
        ConfirmForm().validate_on_submit()
    if needs_confirmation(end_request) and not confirmed:
        client = end_request.client if end_request else None
        return render_template("logout/confirm.html", form=ConfirmForm(),
                               client_name=client.name if client else None)
    if end_request is None:
        # rpinitiated §4: after an invalid request, log out if confirmed but never redirect.
        log_out()
        return render_template("logout/done.html")
    response = server.create_endpoint_response("end_session", end_request)
    return response or render_template("logout/done.html")

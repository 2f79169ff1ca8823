"""The OIDC endpoints: thin views over Authlib's server (SPEC §4)."""

from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from idp.authn import ACR_VALUES_SUPPORTED
from idp.forms import ConfirmForm
from idp.oidc import authorize as authorize_step
from idp.oidc.claims import CLAIMS_SUPPORTED
from idp.oidc.logout import log_out
from idp.oidc.published import PublishedDocuments
from idp.ratelimit import per_ip
from idp.scopes import SUPPORTED_SCOPES
from idp.services import services
from idp.settings import Settings

bp = Blueprint("oidc", __name__)


def discovery_document(settings: Settings) -> dict:
    """OpenID Connect Discovery 1.0 §3, computed once at start."""
    issuer = settings.server.issuer
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
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
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods[:3],
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
        "authorization_response_iss_parameter_supported": False,
        "service_documentation": f"{issuer}/guide",
    }


# Discovery and JWKS are the same bytes for everyone until the keys change: the JSON and its
# headers are built once per version of their source, and each request only wraps them.
PUBLIC_HEADERS = (("Cache-Control", "public, max-age=300"), ("Access-Control-Allow-Origin", "*"))


def _published(name: str, version: object, build) -> Response:
    cache = current_app.extensions.setdefault("idp.published", {})
    entry = cache.get(name)
    if entry is None or entry[0] != version:
        body = current_app.json.response(build()).get_data()
        headers = (("Content-Type", "application/json"),
                   ("Content-Length", str(len(body))), *PUBLIC_HEADERS)
        entry = cache[name] = (version, body, headers)
    return Response(entry[1], headers=list(entry[2]))


@bp.route("/.well-known/openid-configuration")
def discovery():
    document = services().discovery
    return _published("discovery", id(document), lambda: document)


@bp.route("/jwks.json")
def jwks():
    keys = services().keys
    keys.reload()
    return _published("jwks", keys.version, keys.public_jwks)


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
    resource = request.form.get("resource")
    if resource is not None and not _absolute_uri(resource):
        # RFC 8707 §2: a resource is an absolute URI without a fragment.
        return jsonify(error="invalid_target", error_description="Invalid 'resource'."), 400
    return services().oauth_server.create_token_response()


def _absolute_uri(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"https", "http"} and bool(parts.netloc) and not parts.fragment


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
    """RP-initiated logout; without a valid id_token_hint the citizen confirms first."""
    server = services().oauth_server
    try:
        end_request = server.validate_endpoint_request("end_session")
    except OAuth2Error:
        end_request = None
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes" and \
        ConfirmForm().validate_on_submit()
    if (end_request is None or end_request.needs_confirmation) and not confirmed:
        client = end_request.client if end_request else None
        return render_template("logout/confirm.html", form=ConfirmForm(),
                               client_name=client.name if client else None)
    if end_request is None:
        # rpinitiated §4: after an invalid request, log out if confirmed but never redirect.
        log_out()
        return render_template("logout/done.html")
    response = server.create_endpoint_response("end_session", end_request)
    return response or render_template("logout/done.html")

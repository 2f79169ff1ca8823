"""A relying party of the national single sign-on: login, logout and back-channel logout.

:class:`RelyingParty` wires one Flask app to the provider with Authlib's client: discovery is
the only provider knowledge it has; PKCE (S256), ``state`` and ``nonce`` are Authlib's, and so is
the ID token's validation in ``authorize_access_token``. Around it: server-side login sessions
(``sessions.py``), refresh of the access token when a page needs fresh claims, RP-initiated
logout, the back-channel logout endpoint (``backchannel.py``), the language switch, security
headers and Persian error pages. An app adds its own blueprint of pages on top.
"""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import Babel, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.exceptions import HTTPException

from clients.common.backchannel import InvalidLogoutToken, validate_logout_token
from clients.common.db import Database
from clients.common.i18n import LANGUAGES, current_language, install_filters
from clients.common.sessions import SessionStore

log = logging.getLogger(__name__)
PROVIDER = "mygov"
HTTP_TIMEOUT_SECONDS = 10
# Refresh a little before the provider would refuse the access token.
REFRESH_MARGIN_SECONDS = 30
TRANSLATIONS = Path(__file__).parent / "translations"
ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA"}
# Claims the ID token says about the login itself, kept beside the UserInfo profile.
LOGIN_CLAIMS = ("sid", "auth_time", "amr", "acr", "iss", "aud")
LOGIN_ERRORS = {
    "access_denied": lazy_gettext("ورود لغو شد: اجازه دسترسی به اطلاعات شما داده نشد."),
    "login_required": lazy_gettext("برای ادامه باید دوباره وارد شوید."),
}


class LoginEnded(Exception):
    """The provider no longer vouches for this login (refresh or UserInfo refused)."""


@dataclass(frozen=True)
class RPConfig:
    """What the provider registered this relying party with, and where it runs."""

    issuer: str
    client_id: str
    client_secret: str
    base_url: str
    scope: str = "openid profile phone address national_id offline_access"
    session_hours: int = 8
    # Random per process unless given: a restart then logs everyone out (their rows remain
    # until they expire, unreachable).
    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # Other origins the app's forms may send the browser to (CSP form-action), e.g. a bank.
    form_action: tuple[str, ...] = ()

    @property
    def redirect_uri(self) -> str:
        return self.base_url + "/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.base_url + "/logged-out"

    @property
    def backchannel_logout_uri(self) -> str:
        return self.base_url + "/backchannel-logout"


class RelyingParty:
    """One app's link to the provider; reach it in views as :func:`current_rp`."""

    def __init__(self, app: Flask, config: RPConfig, *, name: str, database: Database,
                 session_model: type, seen_model: type,
                 after_login: Callable[[object], str | None] | None = None) -> None:
        issuer = config.issuer.rstrip("/")
        self.config = replace(config, issuer=issuer, base_url=config.base_url.rstrip("/"))
        self.name = name
        self.db = database
        self.sessions = SessionStore(session_model, seen_model,
                                     timedelta(hours=config.session_hours))
        self.after_login = after_login
        app.config.update(
            SECRET_KEY=self.config.secret_key,
            # The provider and the other services may share this host name: a cookie of our
            # own name avoids clashes.
            SESSION_COOKIE_NAME=f"{name}_session",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=self.config.base_url.startswith("https://"),
            BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        )
        app.extensions["rp"] = self
        database.init_app(app)
        database.create_all()
        Babel(app, locale_selector=current_language)
        install_filters(app)
        self.csrf = CSRFProtect(app)
        oauth = OAuth(app)
        oauth.register(
            PROVIDER, client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            server_metadata_url=issuer + "/.well-known/openid-configuration",
            client_kwargs={"scope": self.config.scope, "code_challenge_method": "S256",
                           "default_timeout": HTTP_TIMEOUT_SECONDS})
        self.provider = oauth.create_client(PROVIDER)
        app.register_blueprint(_blueprint(self))
        app.before_request(self._load_login)
        app.after_request(self._security_headers)
        app.context_processor(self._template_context)
        _error_pages(app)

    # --- the current login ---------------------------------------------------------------

    def _load_login(self) -> None:
        if request.endpoint in {"static", "rp.static"}:
            g.login = None  # a stylesheet or font needs no database lookup
            return
        g.login = self.sessions.load(self.db.session, session.get("login"))
        if g.login is None:
            session.pop("login", None)

    def begin(self, claims: dict, token: dict) -> object:
        """Start the local session of a login the provider just vouched for."""
        language = session.get("lang")
        next_path = session.get("rp_next")
        session.clear()  # a new session id for a new login (session fixation)
        if language:
            session["lang"] = language
        cookie, row = self.sessions.start(self.db.session, claims=claims, token=token)
        session["login"] = cookie
        g.login = row
        return next_path

    def end(self) -> None:
        """End the current login here (not at the provider)."""
        if g.get("login") is not None:
            self.sessions.end(self.db.session, g.login)
        g.login = None
        session.pop("login", None)

    # --- tokens --------------------------------------------------------------------------

    def access_token(self, row) -> str:
        """A live access token for ``row``, refreshed with its refresh token when needed.

        Raises :class:`LoginEnded` (and ends the local session) when the provider refuses the
        refresh: the citizen revoked this service or the grant ended.
        """
        if row.access_expires_at > time.time() + REFRESH_MARGIN_SECONDS:
            return row.access_token
        if not row.refresh_token:
            raise LoginEnded
        try:
            token = self.provider.fetch_access_token(grant_type="refresh_token",
                                                     refresh_token=row.refresh_token)
        except OAuthError as error:
            log.info("refresh refused: %s", error.error)
            self.end()
            raise LoginEnded from error
        if token.get("id_token"):
            # OIDC Core §12.2: a refreshed ID token must be valid and about the same subject.
            try:
                claims = self.provider.parse_id_token(token, nonce=None)
            except (AuthlibBaseError, JoseError) as error:
                self.end()
                raise LoginEnded from error
            if claims["sub"] != row.subject:
                self.end()
                raise LoginEnded
        self.sessions.keep_tokens(row, token)
        self.db.session.commit()
        return row.access_token

    def userinfo(self, row) -> dict:
        """The citizen's current claims from UserInfo (refreshing the token if needed)."""
        token = {"access_token": self.access_token(row), "token_type": "Bearer"}
        try:
            claims = dict(self.provider.userinfo(token=token))
        except requests.HTTPError as error:
            if error.response is not None and error.response.status_code == 401:
                self.end()
                raise LoginEnded from error
            raise
        if claims.get("sub") != row.subject:  # OIDC Core §5.3.2
            self.end()
            raise LoginEnded
        return claims

    def provider_keys(self, refresh: bool) -> KeySet:
        return KeySet.import_key_set(self.provider.fetch_jwk_set(force=refresh))

    def signing_algorithms(self) -> list[str]:
        advertised = self.provider.load_server_metadata().get(
            "id_token_signing_alg_values_supported", ["RS256"])
        return [alg for alg in advertised if alg in ASYMMETRIC]

    # --- pages ---------------------------------------------------------------------------

    def _security_headers(self, response):
        issuer = urlsplit(self.config.issuer)
        # Logging out is a form whose answer redirects to the provider (CSP form-action).
        targets = " ".join((f"{issuer.scheme}://{issuer.netloc}", *self.config.form_action))
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action 'self' {targets}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if g.get("login") is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _template_context(self) -> dict:
        language = current_language()
        return {"lang": language, "text_dir": LANGUAGES[language]["dir"],
                "other_languages": [(code, info["name"]) for code, info in LANGUAGES.items()
                                    if code != language],
                "citizen": g.login.claims if g.get("login") is not None else None}


def current_rp() -> RelyingParty:
    return current_app.extensions["rp"]


def current_login():
    """The current login's row (its ``claims``), or None."""
    return g.get("login")


def safe_next(target: str | None) -> str:
    """A path on this site to return to; anything else (another host) becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _blueprint(rp: RelyingParty) -> Blueprint:
    bp = Blueprint("rp", __name__, static_folder="static", static_url_path="/rp-static",
                   template_folder="templates")
    config = rp.config

    @bp.get("/login")
    def login():
        session["rp_next"] = safe_next(request.args.get("next"))
        return rp.provider.authorize_redirect(config.redirect_uri,
                                              ui_locales=current_language())

    @bp.get("/callback")
    def callback():
        # RFC 9207: an authorization response from another issuer is a mix-up attack.
        if request.args.get("iss", config.issuer) != config.issuer:
            return _login_failed("iss")
        try:
            # Checks state, sends the PKCE verifier, verifies the ID token and its nonce.
            token = rp.provider.authorize_access_token()
            userinfo = dict(rp.provider.userinfo(token=token))
        except (AuthlibBaseError, JoseError) as error:
            return _login_failed(getattr(error, "error", "") or type(error).__name__)
        id_claims = dict(token["userinfo"])
        if userinfo.get("sub") != id_claims["sub"]:  # OIDC Core §5.3.2
            return _login_failed("userinfo sub")
        claims = {**userinfo, **{key: id_claims[key] for key in LOGIN_CLAIMS
                                 if key in id_claims}, "sub": id_claims["sub"]}
        next_path = rp.begin(claims, token)
        target = rp.after_login(g.login) if rp.after_login else None
        return redirect(target or next_path or "/")

    @bp.post("/logout")
    def logout():
        row = current_login()
        if row is None:
            return redirect("/")
        id_token = row.id_token
        rp.end()
        # RP-Initiated Logout 1.0: the provider ends its session and tells the other services.
        return rp.provider.logout_redirect(post_logout_redirect_uri=config.post_logout_redirect_uri,
                                           id_token_hint=id_token,
                                           ui_locales=current_language())

    @bp.get("/logged-out")
    def logged_out():
        try:
            rp.provider.validate_logout_response()  # RP-Initiated Logout §3: our state
        except OAuthError:
            return redirect("/")
        flash(gettext("شما از سامانه و پنجره ملی خدمات دولت هوشمند خارج شدید."), "notice")
        return redirect("/")

    @bp.post("/backchannel-logout")
    @rp.csrf.exempt
    def backchannel_logout():
        token = request.form.get("logout_token", "")
        try:
            claims = validate_logout_token(
                token, issuer=config.issuer, client_id=config.client_id, keys=rp.provider_keys,
                algorithms=rp.signing_algorithms(), now=int(time.time()))
        except InvalidLogoutToken as error:
            log.warning("logout token refused: %s", error)
            return _backchannel_error(str(error))
        except requests.RequestException as error:
            # The provider's keys could not be read: say so plainly, not with a page.
            log.warning("logout token unchecked: JWKS unreachable (%s)", type(error).__name__)
            return _backchannel_error("provider keys unavailable", status=503)
        if not rp.sessions.first_use_of(rp.db.session, claims.jti,
                                        datetime.fromtimestamp(claims.expires_at)):
            log.warning("logout token replayed")
            return _backchannel_error("jti already used")
        ended = rp.sessions.end_for_logout(rp.db.session, sid=claims.sid, sub=claims.sub)
        log.info("back-channel logout ended %d session(s)", ended)
        response = current_app.response_class(status=200)
        response.headers["Cache-Control"] = "no-store"  # BCL §2.8
        return response

    @bp.get("/lang/<code>")
    def set_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
        return redirect(safe_next(request.args.get("next")))

    return bp


def _login_failed(reason: str):
    log.warning("login failed: %s", reason)
    message = LOGIN_ERRORS.get(reason, lazy_gettext("ورود انجام نشد. لطفا دوباره تلاش کنید."))
    return render_template("common/error.html", title=gettext("ورود انجام نشد"),
                           message=message), 400


def _backchannel_error(description: str, status: int = 400):
    # BCL §2.8: 400, optionally with an OAuth-style error body.
    error = "invalid_request" if status == 400 else "temporarily_unavailable"
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_pages(app: Flask) -> None:
    """Every failure a citizen meets is a Persian (or English) page, never a stack trace."""

    @app.errorhandler(requests.RequestException)
    def provider_unreachable(error: requests.RequestException):
        log.warning("national SSO unreachable: %s", type(error).__name__)
        return render_template("common/error.html", title=gettext("خطا در ارتباط"), message=gettext(
            "ارتباط با پنجره ملی خدمات دولت هوشمند برقرار نشد. لطفا چند دقیقه دیگر دوباره "
            "تلاش کنید.")), 502

    @app.errorhandler(LoginEnded)
    def login_ended(_error: LoginEnded):
        flash(gettext("نشست شما پایان یافته است. لطفا دوباره وارد شوید."), "notice")
        return redirect("/")

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError):
        message = gettext("مهلت این فرم به پایان رسیده است. لطفا صفحه را دوباره باز کنید و "
                          "دوباره تلاش کنید.")
        return render_template("common/error.html", title=gettext("درخواست نامعتبر"),
                               message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 404:
            message = gettext("صفحه مورد نظر یافت نشد.")
        elif error.code == 405:
            message = gettext("این درخواست در این نشانی پذیرفته نمی‌شود.")
        else:
            message = gettext("درخواست قابل انجام نبود. لطفا دوباره تلاش کنید.")
        return render_template("common/error.html", title=gettext("خطا"),
                               message=message), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return render_template("common/error.html", title=gettext("خطا"), message=gettext(
            "خطایی در سامانه رخ داد. لطفا دوباره تلاش کنید.")), 500

"""«حساب شهروندی شهرداری»: a municipal relying party of the national single sign-on.

It integrates the way a third-party developer following Authlib's documentation would: the
discovery document is the only provider knowledge it has, PKCE (S256) and the nonce are left to
Authlib, and the ID token is checked by ``authorize_access_token``. Nothing here imports ``idp``,
so it proves the provider works for an ordinary client, not only for its own code.
"""

import secrets
from collections.abc import Mapping
from contextlib import suppress
from zoneinfo import ZoneInfo

import jdatetime
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

PROVIDER = "mygov"
SCOPE = "openid profile phone address national_id"
HTTP_TIMEOUT_SECONDS = 10
# Citizens read times on the Iranian clock, wherever the server runs.
TEHRAN = ZoneInfo("Asia/Tehran")

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# Persian labels, in the order the citizen reads them; unknown claims follow, by name.
LABELS: dict[str, str] = {
    "name": "نام و نام خانوادگی",
    "given_name": "نام",
    "family_name": "نام خانوادگی",
    "father_name": "نام پدر",
    "gender": "جنسیت",
    "identity_type": "نوع هویت",
    "national_code": "کد ملی",
    "fida_code": "کد فیدا",
    "birthdate_jalali": "تاریخ تولد",
    "birthdate": "تاریخ تولد (میلادی)",
    "phone_number": "تلفن همراه",
    "phone_number_verified": "تلفن همراه تایید شده",
    "email": "پست الکترونیک",
    "email_verified": "پست الکترونیک تایید شده",
    "address.postal_code": "کد پستی",
    "address.country": "کشور",
    "address.formatted": "نشانی",
    "locale": "زبان",
    "company": "شرکت",
    "amr": "روش احراز هویت",
    "acr": "سطح اطمینان احراز هویت",
    "auth_time": "زمان ورود",
    "iat": "زمان صدور",
    "exp": "زمان انقضا",
    "sub": "شناسه کاربر",
    "iss": "صادرکننده",
    "aud": "سامانه گیرنده",
    "azp": "سامانه درخواست‌کننده",
    "sid": "شناسه نشست",
    "nonce": "nonce",
    "at_hash": "at_hash",
}
# Identifiers a developer copies: shown as-is, left to right, never with Persian digits.
TECHNICAL = {"sub", "iss", "aud", "azp", "sid", "nonce", "at_hash", "jti", "acr"}
TIMESTAMPS = {"auth_time", "iat", "exp", "nbf"}
# Numbers and addresses read left to right even on a right-to-left page.
LTR_VALUES = {"email", "national_code", "fida_code", "phone_number", "address.postal_code"}
VALUE_NAMES = {
    "gender": {"male": "مرد", "female": "زن"},
    "identity_type": {"iranian": "ایرانی", "foreign": "اتباع"},
    "locale": {"fa": "فارسی", "fa-IR": "فارسی", "en": "انگلیسی"},
    "address.country": {"IR": "ایران", "ir": "ایران"},
    "amr": {"otp": "رمز یکبار مصرف", "sms": "پیامک", "hwk": "کلید دستگاه (QR)",
            "swk": "کلید نرم‌افزاری دستگاه (QR)",
            "mfa": "چندعاملی", "pwd": "کلمه عبور"},
}
ERRORS = {
    "access_denied": "ورود لغو شد: اجازه دسترسی به اطلاعات شما داده نشد.",
    "login_required": "برای ادامه باید دوباره وارد شوید.",
}


def persian_digits(value: str) -> str:
    return value.translate(PERSIAN_DIGITS)


def _flatten(claims: Mapping) -> list[tuple[str, object]]:
    """Nested claims (``address``) become ``address.postal_code`` rows of their own."""
    rows: list[tuple[str, object]] = []
    for key, value in claims.items():
        if key == "address" and isinstance(value, Mapping):
            rows.extend((f"address.{part}", inner) for part, inner in value.items())
        else:
            rows.append((key, value))
    return rows


def _display(key: str, value: object) -> str:
    """One claim value as the citizen should read it."""
    if key in TIMESTAMPS and isinstance(value, int | float):
        moment = jdatetime.datetime.fromtimestamp(value, tz=TEHRAN)
        return persian_digits(moment.strftime("%Y/%m/%d %H:%M:%S"))
    if isinstance(value, bool):
        return "بله" if value else "خیر"
    if isinstance(value, list | tuple):
        return "، ".join(_display(key, item) for item in value)
    if isinstance(value, Mapping):
        return "، ".join(f"{LABELS.get(k, k)}: {_display(k, v)}" for k, v in value.items())
    text = str(value)
    if key in TECHNICAL:
        return text
    text = VALUE_NAMES.get(key, {}).get(text, text)
    if key == "phone_number" and text.startswith("+98"):
        text = "0" + text[3:]  # SPEC §8: show mobiles as 09…
    if key in {"birthdate_jalali", "birthdate"}:
        text = text.replace("-", "/")
    return persian_digits(text)


def claim_rows(claims: Mapping) -> list[dict]:
    """Table rows with Persian labels, known claims first in reading order."""
    order = {key: index for index, key in enumerate(LABELS)}
    rows = sorted(_flatten(claims), key=lambda row: (order.get(row[0], len(order)), row[0]))
    return [{"claim": key, "label": LABELS.get(key, key), "value": _display(key, value),
             "ltr": key in TECHNICAL or key in LTR_VALUES}
            for key, value in rows]


def create_app(issuer: str, client_id: str, client_secret: str, base_url: str) -> Flask:
    """The app, registered at the provider with ``base_url + "/callback"`` as redirect URI and
    ``base_url + "/"`` as post-logout redirect URI."""
    issuer = issuer.rstrip("/")
    base_url = base_url.rstrip("/")
    app = Flask(__name__)
    app.config.update(
        # Random per process: a restart logs everyone out, which a demo can afford.
        SECRET_KEY=secrets.token_bytes(32),
        # The provider may share this host name; a cookie of our own name avoids clashes.
        SESSION_COOKIE_NAME="municipal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"),
    )
    app.jinja_env.filters["fa_digits"] = persian_digits

    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                       "default_timeout": HTTP_TIMEOUT_SECONDS},
    )
    provider = oauth.create_client(PROVIDER)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(requests.RequestException)
    def provider_unreachable(error: requests.RequestException):
        app.logger.warning("national SSO unreachable: %s", type(error).__name__)
        return render_template("error.html", message=(
            "ارتباط با پنجره ملی خدمات دولت هوشمند برقرار نشد. لطفا چند دقیقه دیگر دوباره "
            "تلاش کنید.")), 502

    @app.get("/")
    def home():
        logged_out = False
        citizen = session.get("citizen")
        if citizen is None and "state" in request.args:
            # RP-Initiated Logout 1.0 §3: the provider echoes the state we sent it.
            with suppress(OAuthError):
                provider.validate_logout_response()
                logged_out = True
        if citizen is None:
            return render_template("home.html", logged_out=logged_out)
        userinfo, id_claims = citizen["userinfo"], citizen["id_token"]
        # The ID token repeats the profile; its own rows are about the login itself.
        login_claims = {key: value for key, value in id_claims.items()
                        if userinfo.get(key) != value}
        return render_template(
            "account.html", name=userinfo.get("name") or id_claims.get("name", ""),
            userinfo_rows=claim_rows(userinfo), id_token_rows=claim_rows(login_claims),
            repeated=len(login_claims) < len(id_claims))

    @app.get("/login")
    def login():
        return provider.authorize_redirect(base_url + "/callback", ui_locales="fa")

    @app.get("/callback")
    def callback():
        try:
            # Checks state, sends the PKCE verifier, verifies the ID token and its nonce.
            token = provider.authorize_access_token()
            userinfo = provider.userinfo(token=token)
        except (AuthlibBaseError, JoseError) as error:
            code = getattr(error, "error", "")
            app.logger.warning("login failed: %s", code or type(error).__name__)
            message = ERRORS.get(code, "ورود انجام نشد. لطفا دوباره تلاش کنید.")
            return render_template("error.html", message=message), 400
        id_claims = dict(token["userinfo"])
        # OIDC Core §5.3.2: UserInfo must be about the subject of the ID token.
        if userinfo.get("sub") != id_claims["sub"]:
            return render_template("error.html", message="پاسخ پنجره ملی معتبر نبود."), 400
        session.clear()
        session["citizen"] = {"id_token": id_claims, "userinfo": dict(userinfo)}
        session["id_token"] = token["id_token"]
        return redirect(url_for("home"))

    @app.get("/logout")
    def logout():
        id_token = session.get("id_token")
        session.clear()
        if not id_token:
            return redirect(url_for("home"))
        return provider.logout_redirect(post_logout_redirect_uri=base_url + "/",
                                        id_token_hint=id_token)

    return app

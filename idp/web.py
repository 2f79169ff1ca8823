"""What every page shares: language, security headers and friendly error pages (SPEC §7)."""

import logging

from flask import Flask, render_template, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from idp.registries import RegistryUnavailable
from idp.store import StoreUnavailable

log = logging.getLogger(__name__)
LOCALES = ("fa", "en")
API_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.revoke", "oidc.introspect", "oidc.jwks",
                 "oidc.discovery"}

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def select_locale() -> str:
    """The language chosen with ui_locales or the language menu holds for the whole session."""
    locale = session.get("locale")
    return locale if locale in LOCALES else "fa"


babel = Babel()


def init_web(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _globals() -> dict:
        return {"current_locale": select_locale()}

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if request.is_secure or app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response

    def page(message: str, status: int, title: str | None = None):
        if request.endpoint in API_ENDPOINTS:
            # Token, UserInfo and the other API endpoints answer in JSON (RFC 6749 §5.2).
            code = "slow_down" if status == 429 else "temporarily_unavailable" \
                if status == 503 else "server_error"
            return {"error": code, "error_description": message}, status
        return render_template("error.html", title=title or _("خطا"), message=message,
                               restart_url=None), status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code == 429:
            return page(_("تعداد درخواست‌های شما بیش از حد مجاز است. لطفا چند دقیقه دیگر "
                          "دوباره تلاش کنید."), 429)
        if error.code == 404:
            return page(_("صفحه مورد نظر یافت نشد."), 404)
        if error.code == 400 and "CSRF" in (error.description or ""):
            return page(_("اعتبار فرم به پایان رسیده است. لطفا صفحه را دوباره باز کنید."), 400)
        return page(_("درخواست قابل انجام نیست."), error.code or 500)

    @app.errorhandler(RegistryUnavailable)
    @app.errorhandler(StoreUnavailable)
    def _unavailable(error: Exception):
        log.warning("dependency unavailable", extra={"error": type(error).__name__})
        return page(_("در حال حاضر امکان پاسخگویی وجود ندارد. لطفا چند دقیقه دیگر دوباره "
                      "تلاش کنید."), 503, _("خطای موقت"))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        return page(_("خطای غیرمنتظره‌ای رخ داد. لطفا دوباره تلاش کنید."), 500)

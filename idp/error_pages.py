"""Friendly error pages in the citizen's language; JSON errors from the API endpoints."""

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from idp.registries import RegistryUnavailable
from idp.store import StoreUnavailable

# The name these log lines have always carried (operators' filters may match it).
log = logging.getLogger("idp.web")
API_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.revoke", "oidc.introspect", "oidc.jwks",
                 "oidc.discovery"}


def page(message: str, status: int, title: str | None = None):
    if request.endpoint in API_ENDPOINTS:
        # Token, UserInfo and the other API endpoints answer in JSON (RFC 6749 §5.2).
        code = "slow_down" if status == 429 else "temporarily_unavailable" \
            if status == 503 else "server_error"
        return {"error": code, "error_description": message}, status
    return render_template("error.html", title=title or _("خطا"), message=message,
                           restart_url=None), status


def init_app(app: Flask) -> None:
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

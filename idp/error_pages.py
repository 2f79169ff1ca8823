"""Friendly error pages in the citizen's language; JSON errors from the API endpoints."""

import logging

import sqlalchemy.exc
from flask import Flask, render_template, request
from flask_babel import gettext as _
from limits.errors import StorageError
from werkzeug.exceptions import HTTPException

from idp.registries import RegistryUnavailable
from idp.store import StoreUnavailable

# The name these log lines have always carried (operators' filters may match it).
log = logging.getLogger("idp.web")
API_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.revoke", "oidc.introspect", "oidc.jwks",
                 "oidc.discovery"}

# What an outage of something the provider stands on looks like when it reaches a view: each is
# a "try again later" (503), never a 500, and the operator's log line names only the dependency
# and the error class (a database error's text quotes the statement and its parameters).
OUTAGES: dict[type[Exception], str] = {
    StoreUnavailable: "redis",
    # The rate limiter's counters live in the same Redis (idp.ratelimit).
    StorageError: "redis",
    RegistryUnavailable: "registry",
    # Connection refused, lost or timed out, a full pool: not a wrong query.
    sqlalchemy.exc.OperationalError: "database",
    sqlalchemy.exc.InterfaceError: "database",
    sqlalchemy.exc.DisconnectionError: "database",
    sqlalchemy.exc.TimeoutError: "database",
}


def page(message: str, status: int, title: str | None = None):
    if request.endpoint in API_ENDPOINTS:
        # Token, UserInfo and the other API endpoints answer in JSON (RFC 6749 §5.2).
        code = "slow_down" if status == 429 else "temporarily_unavailable" \
            if status == 503 else "server_error"
        return {"error": code, "error_description": message}, status
    return render_template("error.html", title=title or _("خطا"), message=message,
                           restart_url=None), status


def unavailable_page():
    """The page (or JSON error) of an outage: the citizen tries again later."""
    return page(_("در حال حاضر امکان پاسخگویی وجود ندارد. لطفا چند دقیقه دیگر دوباره "
                  "تلاش کنید."), 503, _("خطای موقت"))


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

    def _unavailable(error: Exception):
        dependency = next(name for kind, name in OUTAGES.items() if isinstance(error, kind))
        cause = getattr(error, "orig", None) or error.__cause__ or error
        log.warning("dependency unavailable", extra={
            "dependency": dependency, "error": type(error).__name__,
            "cause": type(cause).__name__, "endpoint": request.endpoint})
        return unavailable_page()

    for kind in OUTAGES:
        app.register_error_handler(kind, _unavailable)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        return page(_("خطای غیرمنتظره‌ای رخ داد. لطفا دوباره تلاش کنید."), 500)

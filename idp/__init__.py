"""The national single-sign-on provider: the Flask app factory.

Everything slow happens here, once: settings, keys (imported once), the registry index, the
discovery document, the database upgrade of an empty database. Requests only read them.
"""

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import idp.account_tabs
import idp.companies  # noqa: F401  (the account page's «حقوقی» tab)
from flows import bp as login_bp
from flows.start import Journeys
from idp import (
    account_page,
    dev,
    devices,
    error_pages,
    languages,
    layout,
    menu,
    ops,
    security_headers,
)
from idp.db import Database
from idp.devices.api import JSON_VIEWS as DEVICE_API_VIEWS
from idp.interaction import Interaction
from idp.keys import KeyRing
from idp.logs import configure_logging
from idp.messaging import build_mailer, build_sms_sender
from idp.metrics import CountedSender, timed_registries
from idp.migrations import upgrade
from idp.oidc import build_server
from idp.oidc.views import bp as oidc_bp
from idp.oidc.views import discovery_document
from idp.ratelimit import STORAGE_OPTIONS, limiter
from idp.registration import sync_config_clients
from idp.registries import build_registries
from idp.request_id import RequestIdMiddleware
from idp.services import Services
from idp.sessions import login_manager
from idp.settings import PACKAGE_DIR, Settings, load_settings
from idp.store import Store
from idp.trust_framework import bp as trust_framework_bp

csrf = CSRFProtect()


def _secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and kept (0600) in the instance folder."""
    if settings.server.secret_key:
        return settings.server.secret_key
    path = settings.instance_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(settings: Settings | None = None) -> Flask:

    configure_logging()

    settings = settings or load_settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    settings.server.secret_key = _secret_key(settings)
    secure = settings.server.issuer.startswith("https://")

    app = Flask("idp", root_path=str(PACKAGE_DIR),
                template_folder=str(Path(PACKAGE_DIR).parent / "templates"),
                instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.server.secret_key,
        SESSION_COOKIE_NAME="__Host-idp" if secure else "idp_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
        WTF_CSRF_TIME_LIMIT=settings.journey.lifetime_seconds + 600,
        BABEL_DEFAULT_LOCALE="fa",
        BABEL_TRANSLATION_DIRECTORIES=str(PACKAGE_DIR / "translations"),
        RATELIMIT_ENABLED=settings.ratelimit.enabled,
        RATELIMIT_STORAGE_URI=settings.redis.url or "memory://",
        RATELIMIT_KEY_PREFIX="idp-limit",
        RATELIMIT_STORAGE_OPTIONS=STORAGE_OPTIONS,
    )
    if settings.server.proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.server.proxy_count,
                                x_proto=settings.server.proxy_count,
                                x_host=settings.server.proxy_count)

    svc = build_services(settings, interaction=Journeys())
    svc.db.init_app(app)
    app.extensions["idp"] = svc

    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    for part in (languages, layout, security_headers, error_pages):
        part.init_app(app)
    ops.Metrics().init_app(app)

    csrf.exempt(oidc_bp)  # token, revocation, introspection and RP logout are not forms
    for view in DEVICE_API_VIEWS:  # the phone app's JSON API: bearer tokens, not cookies
        csrf.exempt(view)
    for blueprint in (oidc_bp, login_bp, account_page.bp, menu.bp, ops.bp, devices.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(trust_framework_bp)
    if settings.server.demo:
        app.register_blueprint(dev.bp)
    # Outermost, after the published documents' fast path is in place: it answers them too.
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)

    with app.app_context():
        sync_config_clients(svc.db.session, settings.clients)
        svc.db.session.commit()
    return app


def build_services(settings: Settings, interaction: Interaction) -> Services:
    """The long-lived collaborators, each built from its own settings section."""
    upgrade(settings.database_url)
    keys = KeyRing.from_settings(settings)
    keys.ensure()
    return Services(
        settings=settings, db=Database(settings.database_url),
        store=Store.from_url(settings.redis.url), keys=keys,
        registries=timed_registries(build_registries(settings.registries, settings.base_dir)),
        sms=CountedSender(build_sms_sender(settings.sms, settings.base_dir),
                          gateway=settings.sms.backend, channel="sms"),
        mailer=CountedSender(build_mailer(settings.email, settings.base_dir),
                             gateway=settings.email.backend, channel="email"),
        oauth_server=build_server(settings), interaction=interaction,
        discovery=discovery_document(settings))

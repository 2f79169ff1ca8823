"""The ``idp`` command: serve, demo, database, keys, clients and the audit trail."""

import json
import os
import secrets
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import click
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from clients.demo import DEMO_APPS, DEMO_GATEWAY
from idp import audit, create_app, production, startup
from idp.db import Database
from idp.keys import KeyRing
from idp.migrations import upgrade
from idp.registration import list_clients, register_client, remove_client
from idp.settings import ConfigurationError, Settings, load_settings

# The phone app (clients/phone, ``idp-phone``): a public first-party client with the phone
# scopes (issue 7), redirecting to the loopback address the app listens on.
PHONE_CLIENT_ID = "phone-demo"
PHONE_REDIRECT_URI = "http://127.0.0.1/idp-phone/callback"
PHONE_SCOPE = "openid profile national_id offline_access device:register qr:approve"


class Context:
    def __init__(self, config: str | None) -> None:
        self.config = config

    def settings(self) -> Settings:
        return load_settings(self.config)

    def database(self) -> Database:
        settings = self.settings()
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        return Database(settings.database_url)

    def keys(self) -> KeyRing:
        return KeyRing.from_settings(self.settings())


class Commands(click.Group):
    """The ``idp`` group: a configuration that cannot work ends any command with one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigurationError as error:
            startup.refuse(error)


@click.group(cls=Commands)
@click.option("--config", envvar="IDP_CONFIG", type=click.Path(dir_okay=False),
              help="TOML settings file (default: $IDP_CONFIG, else built-in defaults).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """National single-sign-on provider (پنجره ملی خدمات دولت هوشمند)."""
    ctx.obj = Context(config)


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Logs each request's method, path and status, never its query string.

    Query strings carry ID tokens (id_token_hint), login hints (mobiles) and codes, which are
    never logged (SPEC §7).
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        line = f"{self.command} {path} {self.request_version}".translate(
            self._control_char_table)
        self.log("info", '"%s" %s %s', line, code, size)

    def log_error(self, format: str, *args) -> None:
        # The standard message quotes the raw request line, query string included.
        self.log("error", "request refused: %s", args[0] if args else "-")


def _server(app, host: str, port: int) -> BaseWSGIServer:
    """The development server (werkzeug), logging paths only."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)


def _run(app, host: str, port: int) -> threading.Thread:
    server = _server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run the production server (granian) with N worker processes.")
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int | None) -> None:
    """Run the provider alone (development server; with --workers, the production server)."""
    if workers is not None:
        _serve_production(obj.settings(), host, port, workers)
        return
    app = create_app(obj.settings())
    click.echo(f"provider: {app.extensions['idp'].settings.server.issuer}")
    _run(app, host, port).join()


def _serve_production(settings: Settings, host: str, port: int, workers: int) -> None:
    if workers > 1 and not settings.redis.url:
        raise click.ClickException("--workers above 1 needs a [redis] url: the in-process "
                                   "store is one process's own.")
    # Check and migrate, and create the keys, once, before the workers start: a configuration
    # that cannot work is told here, not by every worker granian would start again and again.
    startup.check(settings)
    KeyRing.from_settings(settings).ensure()
    click.echo(f"provider: {settings.server.issuer} ({workers} worker"
               f"{'s' if workers > 1 else ''})")
    production.serve(settings, host, port, workers)


def _demo_app_ports(command):
    """One ``--NAME-port`` option per demo relying party (the table in clients/demo.py)."""
    for app in reversed(DEMO_APPS):
        command = click.option(f"--{app.port_option}", f"port_{app.name}", type=int,
                               default=app.default_port, show_default=True,
                               help=f"Port of the {app.name} relying party.")(command)
    return click.option(f"--{DEMO_GATEWAY.port_option}", "port_paygate", type=int,
                        default=DEMO_GATEWAY.default_port, show_default=True,
                        help="Port of the sandbox payment gateway.")(command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5002, show_default=True, type=int)
@click.pass_obj
def events(obj: Context, host: str, port: int) -> None:
    """Serve the QR login page's event streams with gevent (route /login/qr/events here)."""
    if obj.config:
        os.environ["IDP_CONFIG"] = str(Path(obj.config).resolve())
    # A fresh interpreter: gevent must patch the standard library before anything uses it.
    from idp.events_server import BOOTSTRAP

    os.execv(sys.executable, [sys.executable, "-c", BOOTSTRAP, "--host", host,
                              "--port", str(port)])


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@_demo_app_ports
@click.pass_obj
def demo(obj: Context, host: str, port: int, port_paygate: int, **app_ports: int) -> None:
    """Run the provider, every demo relying party and the payment gateway on embedded
    defaults."""
    settings = obj.settings()
    settings.server.demo = True
    settings.server.issuer = f"http://{host}:{port}"
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    urls = {app.name: f"http://{host}:{app_ports[f'port_{app.name}']}" for app in DEMO_APPS}
    # A fresh secret each run: the registration below is updated to match it.
    secrets_ = {app.name: secrets.token_urlsafe(24) for app in DEMO_APPS}
    names = {app.name for app in DEMO_APPS}
    settings.clients = [entry for entry in settings.clients
                        if entry.get("client_id") not in names | {PHONE_CLIENT_ID}]
    settings.clients += [app.registration(urls[app.name], secrets_[app.name])
                         for app in DEMO_APPS]
    settings.clients.append({
        "client_id": PHONE_CLIENT_ID, "name": "دولت همراه", "public": True,
        "first_party": True, "redirect_uris": [PHONE_REDIRECT_URI], "scope": PHONE_SCOPE})
    _run(create_app(settings), host, port)
    # The municipal app pays its dues through the gateway, with a secret made for this run.
    gateway = DEMO_GATEWAY.settings(f"http://{host}:{port_paygate}")
    os.environ.update(DEMO_GATEWAY.environment(gateway))
    _run(DEMO_GATEWAY.create(gateway), host, port_paygate)
    threads = [_run(app.create(settings.server.issuer, secrets_[app.name], urls[app.name],
                               f"sqlite:///{settings.instance_dir / (app.name + '.sqlite')}"),
                    host, app_ports[f"port_{app.name}"])
               for app in DEMO_APPS]
    click.echo(f"پنجره ملی / provider: {settings.server.issuer}/")
    for app in DEMO_APPS:
        click.echo(f"{app.title} / {app.name}: {urls[app.name]}/ — log in as {app.log_in_as}")
    click.echo(f"{DEMO_GATEWAY.title} / paygate: {gateway.gateway_url}/ — the municipal "
               "dues are paid there (renovation code 10-123-456-7 owes dues, 10-123-456-8 "
               "owes none)")
    click.echo(
        f"پیامک‌های ارسالی / SMS outbox (one-time codes): {settings.server.issuer}/dev/outbox\n"
        "(captcha: read it from the image; stop with Ctrl+C)\n"
        "ورود با کد QR / QR login with the phone app:\n"
        f"  idp-phone pair --issuer {settings.server.issuer} --client-id {PHONE_CLIENT_ID} "
        f"--mobile 09120000001 --outbox {settings.path(settings.sms.outbox_path)}\n"
        "  then choose «ورود با کد QR» on the login page, screenshot the code, and\n"
        "  idp-phone scan SCREENSHOT.png     (or the code's URL)")
    for thread in threads:
        thread.join()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Apply every migration (a no-op on an up-to-date database).

    The whole configuration is checked first: one that could not serve is not migrated for.
    """
    startup.check(obj.settings())
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """Signing keys."""


@keys.command("list")
@click.pass_obj
def keys_list(obj: Context) -> None:
    """One JSON line per published key."""
    ring = obj.keys()
    ring.ensure()
    for item in ring.describe():
        click.echo(json.dumps(item))


@keys.command("rotate")
@click.pass_obj
def keys_rotate(obj: Context) -> None:
    """Publish a next key per algorithm; it signs after [keys] publish_ahead_seconds, when
    every instance and every cached JWKS has it. Retired keys stay published until their
    tokens expire."""
    ring = obj.keys()
    ring.ensure()
    click.echo(json.dumps({"next": ring.rotate()}))


@main.group()
def clients() -> None:
    """Relying parties."""


@clients.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="Where citizens come back (authorization_code); repeat for several.")
@click.option("--public", is_flag=True, help="No secret; PKCE required.")
@click.option("--first-party", is_flag=True, help="No consent page.")
@click.option("--scope", default=None, help='Space-separated, e.g. "openid profile".')
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri", default=None)
@click.option("--auth-method", default=None,
              type=click.Choice(["client_secret_basic", "client_secret_post",
                                 "private_key_jwt", "none"]))
@click.option("--id-token-alg", default="RS256", type=click.Choice(["RS256", "ES256"]))
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--jwks-uri", default=None)
@click.option("--resource", "resources", multiple=True,
              help="A resource (RFC 8707) the client may name as its tokens' audience.")
@click.option("--legal-entity", is_flag=True,
              help="Every login is a company login by its CEO (tokens carry `company`).")
@click.option("--grant", "grants", multiple=True,
              type=click.Choice(["authorization_code", "client_credentials"]),
              help="A grant the client may use (default authorization_code, which brings "
                   "refresh_token); client_credentials alone makes a service client.")
@click.pass_obj
def clients_add(obj: Context, name, redirect_uris, public, first_party, scope, post_logout,
                backchannel_logout_uri, auth_method, id_token_alg, jwks_file, jwks_uri,
                resources, legal_entity, grants) -> None:
    """Register a client; prints {"client_id", "client_secret"} as JSON (secret shown once)."""
    database = obj.database()
    jwks = json.loads(Path(jwks_file).read_text()) if jwks_file else None
    with database.sessionmaker() as session:
        try:
            client, secret = register_client(
                session, name=name, redirect_uris=redirect_uris, public=public,
                first_party=first_party, scope=scope, post_logout_redirect_uris=post_logout,
                backchannel_logout_uri=backchannel_logout_uri, auth_method=auth_method,
                id_token_alg=id_token_alg, jwks=jwks, jwks_uri=jwks_uri, resources=resources,
                legal_entity=legal_entity, grant_types=grants or None)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret,
                               "token_endpoint_auth_method": client.auth_method,
                               "scope": client.scope, "grant_types": client.grant_types}))


@clients.command("list")
@click.pass_obj
def clients_list(obj: Context) -> None:
    """Every client as JSON (no secrets)."""
    with obj.database().sessionmaker() as session:
        click.echo(json.dumps(list_clients(session), ensure_ascii=False, indent=2))


@clients.command("remove")
@click.argument("client_id")
@click.pass_obj
def clients_remove(obj: Context, client_id: str) -> None:
    """Remove a client and everything issued to it."""
    with obj.database().sessionmaker() as session:
        if not remove_client(session, client_id):
            raise click.ClickException(f"no client {client_id!r}")
        session.commit()
    click.echo(f"removed {client_id}")


def _iso_time(_ctx, _param, value: str | None):
    if value is None:
        return None
    try:
        return audit.parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc


@main.command("audit")
@click.option("--citizen", default=None, help="National code, FIDA code or account id.")
@click.option("--client", "client_id", default=None, help="A client_id.")
@click.option("--event", "events", multiple=True,
              help="An event name (login.success, token.issued, …); repeat for several.")
@click.option("--since", default=None, callback=_iso_time,
              help="ISO 8601 time (UTC unless it names a zone), inclusive.")
@click.option("--until", default=None, callback=_iso_time,
              help="ISO 8601 time (UTC unless it names a zone), exclusive.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
              help="At most this many events: the newest that match.")
@click.pass_obj
def audit_query(obj: Context, citizen, client_id, events, since, until, limit) -> None:
    """The audit trail as JSON lines, oldest first."""
    with obj.database().sessionmaker() as session:
        account_ids = None
        if citizen is not None:
            account_ids = audit.citizen_account_ids(session, citizen)
            if not account_ids:
                raise click.ClickException(f"no account for citizen {citizen!r}")
        wanted = audit.AuditQuery(account_ids=account_ids, client_id=client_id,
                                  events=tuple(events), since=since, until=until, limit=limit)
        for line in audit.query(session, wanted):
            click.echo(json.dumps(line, ensure_ascii=False))

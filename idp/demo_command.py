"""``idp demo``: the provider and every demo relying party of ``clients/demo.py``, on embedded
defaults, in one process.

A module of its own, loaded by the ``idp`` group only when this command runs (``idp.cli``): the
relying parties' apps it imports have no place in the production server's processes.
"""

import os
import secrets

import click

from clients.demo import DEMO_APPS, DEMO_GATEWAY
from idp import create_app
from idp.cli import Context, run_server

# The phone app (clients/phone, ``idp-phone``): a public first-party client with the phone
# scopes (issue 7), redirecting to the loopback address the app listens on.
PHONE_CLIENT_ID = "phone-demo"
PHONE_REDIRECT_URI = "http://127.0.0.1/idp-phone/callback"
PHONE_SCOPE = "openid profile national_id offline_access device:register qr:approve"


def _demo_app_ports(command):
    """One ``--NAME-port`` option per demo relying party (the table in clients/demo.py)."""
    for app in reversed(DEMO_APPS):
        command = click.option(f"--{app.port_option}", f"port_{app.name}", type=int,
                               default=app.default_port, show_default=True,
                               help=f"Port of the {app.name} relying party.")(command)
    return click.option(f"--{DEMO_GATEWAY.port_option}", "port_paygate", type=int,
                        default=DEMO_GATEWAY.default_port, show_default=True,
                        help="Port of the sandbox payment gateway.")(command)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@_demo_app_ports
@click.pass_obj
def command(obj: Context, host: str, port: int, port_paygate: int, **app_ports: int) -> None:
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
    run_server(create_app(settings), host, port)
    # The municipal app pays its dues through the gateway, with a secret made for this run.
    gateway = DEMO_GATEWAY.settings(f"http://{host}:{port_paygate}")
    os.environ.update(DEMO_GATEWAY.environment(gateway))
    run_server(DEMO_GATEWAY.create(gateway), host, port_paygate)
    threads = [run_server(app.create(settings.server.issuer, secrets_[app.name], urls[app.name],
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

"""What the web stack alone costs per request on one core: the floor under the provider's figures.

Usage (from the repository root, after the README's install command)::

    .venv/bin/python benchmarks/floor.py [--runs 3] [--duration 10] [--skip-reference]

It serves a small Flask app on the provider's production server (granian with the settings of
``idp/production.py``, one worker, one thread, as on the embedded default), pinned to the server
core, and loads each of its three paths with ``wrk -t1 -c32`` from the generator core (as
``benchmarks/compare.py`` does):

- ``bare``: a Flask route that answers ``ok``: Flask and granian, nothing else (the floor of
  ``/authorize``'s redirect and of ``/token``);
- ``page``: a page built the way each step of the journey is, with none of the provider's own
  work: Flask's signed session cookie read, a Flask-WTF form with its CSRF token, Flask-Babel's
  ``_()`` in a Jinja template that extends a layout;
- ``post``: that form posted: the CSRF token and the field validated, the session cookie
  rewritten, a redirect;
- ``token``: Authlib's client-credentials grant on Flask, a client in memory with its secret
  compared as is, an RS256 JWT access token signed with joserfc: the floor of a service token.

For each it prints requests/s and the server's CPU per request (ms); then what a login made of
such requests costs at least (a new citizen: ``/authorize``, ``/token`` and five steps of a page
and its POST, 12 requests; a returning one: two steps, 6) and so the most logins/s one core could
serve, beside oidc-provider 9's whole logins per second of its core's CPU on the same core in
the same run (its own login and consent forms, 8 requests; ``benchmarks/compare.py``'s
reference) and the ratio: the ceiling any provider on this stack can reach before doing any
work of its own (no database, no store, no registry, no SMS, no signature). Last, the token
floor's tokens/s beside oidc-provider's client-credentials tokens/s (RS256, the same request).
Benchmarks print numbers; no test asserts them.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import statistics
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare

FLOOR_APP = '''
import hmac
import secrets
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import Flask, abort, redirect, render_template, session
from flask_babel import Babel
from joserfc import jwt
from joserfc.jwk import RSAKey
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from wtforms import StringField
from wtforms.validators import InputRequired

LAYOUT = """<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8">
<title>{{ _("Log in") }}</title></head><body><header>{{ _("National login") }}</header>
<main>{% block main %}{% endblock %}</main><footer>{{ _("Help") }} · {{ _("Privacy") }}</footer>
</body></html>"""
STEP = """{% extends "layout.html" %}{% block main %}<h1>{{ _("Mobile number") }}</h1>
<form method="post">{{ form.csrf_token }}{{ form.mobile.label }} {{ form.mobile() }}
<button>{{ _("Continue") }}</button></form>{% endblock %}"""

app = Flask(__name__)
app.config["SECRET_KEY"] = "floor-benchmark-only"
app.jinja_loader = DictLoader({"layout.html": LAYOUT, "step.html": STEP})
Babel(app, locale_selector=lambda: "fa")


class MobileForm(FlaskForm):
    mobile = StringField("mobile", validators=[InputRequired()])


KEY = RSAKey.generate_key(2048, parameters={"kid": "floor"})


class Service(ClientMixin):
    """One service client, its secret compared in constant time (no hash, no database)."""

    def get_client_id(self):
        return "service"

    def check_client_secret(self, secret):
        return hmac.compare_digest(secret, "floor-secret")

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_basic"

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope):
        return ""


def access_token(client, grant_type, user, scope):
    now = int(time.time())
    claims = {"iss": "http://floor", "sub": client.get_client_id(), "aud": "https://api.example",
              "client_id": client.get_client_id(), "iat": now, "exp": now + 300,
              "jti": secrets.token_urlsafe(16)}
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "floor"}, claims, KEY)


SERVICE = Service()
server = AuthorizationServer(app, query_client=lambda client_id: SERVICE
                             if client_id == "service" else None,
                             save_token=lambda token, request: None)
server.register_grant(ClientCredentialsGrant)
server.register_token_generator("default", BearerTokenGenerator(access_token))


@app.post("/token")
def token():
    return server.create_token_response()


@app.get("/bare")
def bare():
    return "ok"


@app.get("/page")
def page():
    session.setdefault("journey", "j1")
    return render_template("step.html", form=MobileForm())


@app.post("/post")
def post():
    form = MobileForm()
    if not form.validate_on_submit():
        abort(400)
    session["mobile"] = form.mobile.data
    return redirect("/page")
'''

SERVE = '''
import sys
from granian import Granian
from idp.production import EMBEDDED_THREADS, SERVER_SETTINGS

Granian("floorapp:app", address="127.0.0.1", port=int(sys.argv[1]), workers=1,
        blocking_threads=EMBEDDED_THREADS, **SERVER_SETTINGS).serve()
'''

WRK_SCRIPT = """wrk.headers["Cookie"] = "{cookie}"
wrk.method = "{method}"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""
# A login's requests by kind (benchmarks/compare.py's walk): /authorize and /token, then a page
# and its form's POST for each step (mobile, code, identity, postal, consent; returning: two).
LOGINS = {"new citizen": {"bare": 2, "page": 5, "post": 5},
          "returning citizen": {"bare": 2, "page": 2, "post": 2}}


def wrk_script(origin: str, path: str) -> str:
    """The load's request: with the session cookie a first visit to the page sets and, for the
    POST, the form's CSRF token from that page."""
    with urllib.request.urlopen(origin + "/page", timeout=5) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          response.read().decode()).group(1)
    if path == "token":
        return compare.WRK_TOKEN_SCRIPT.format(
            body="grant_type=client_credentials",
            authorization="Basic " + base64.b64encode(b"service:floor-secret").decode())
    body = f"csrf_token={token}&mobile=09120000000" if path == "post" else ""
    return WRK_SCRIPT.format(cookie=cookie, method="POST" if path == "post" else "GET",
                             body=body)


def measure(folder: Path, name: str, args) -> list[tuple[float, float]]:
    """(requests/s, server CPU ms per request) of each run of one app's path."""
    port = compare.free_port()
    command = [*compare.PRIORITY, "taskset", "-c", str(compare.SERVER_CORE), sys.executable,
               str(folder / "serve.py"), str(port)]
    server = compare.Server(f"floor {name}", command, {"PYTHONPATH": str(folder)},
                            folder / f"{name}.log", cwd=folder)
    origin = f"http://127.0.0.1:{port}"
    url = f"{origin}/{name}"
    try:
        server.wait_ready(origin + "/bare")
        script = folder / f"{name}.lua"
        script.write_text(wrk_script(origin, name))
        compare.wrk(url, 2, str(script))  # warm-up
        runs = []
        for _ in range(args.runs):
            compare.wait_quiet()
            cpu_before = server.cpu_seconds()
            rate, problem = compare.wrk(url, args.duration, str(script))
            if problem:
                compare.loud(f"{name}: {problem}")
            cpu = server.cpu_seconds() - cpu_before
            runs.append((rate, 1000 * cpu / max(1.0, rate * args.duration)))
        return runs
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per figure")
    parser.add_argument("--skip-reference", action="store_true",
                        help="do not start oidc-provider")
    args = parser.parse_args()
    compare.QUIET_WAIT_SECONDS = 30.0
    compare.ensure_apt("wrk", "wrk")
    compare.ensure_apt("taskset", "util-linux")
    node = None if args.skip_reference else compare.ensure_node()
    os.sched_setaffinity(0, {compare.GENERATOR_CORE})
    results = {}
    with tempfile.TemporaryDirectory(prefix="idp-floor-") as name:
        folder = Path(name)
        (folder / "floorapp.py").write_text(textwrap.dedent(FLOOR_APP))
        (folder / "serve.py").write_text(textwrap.dedent(SERVE))
        for path in ("bare", "page", "post", "token"):
            compare.say(f"\n== {path}")
            results[path] = measure(folder, path, args)
    reference = tokens = None
    if node:
        args.only = ["tokens", "logins"]  # the reference's figures the floors compare with
        figures = compare.bench_reference(args, node)
        # Logins per second of the server core's CPU: steady when other work shares the core.
        reference = figures.median("login_rate") / (figures.median("login_srv_cpu") / 100)
        tokens = figures.median("client_credentials")
    cost = {}
    compare.say("\n| one server core, medians | requests/s | server CPU ms per request |")
    compare.say("|---|---|---|")
    for path, runs in results.items():
        cost[path] = statistics.median(c for _, c in runs)
        compare.say(f"| {path} | {statistics.median(r for r, _ in runs):,.0f} "
                    f"| {cost[path]:.3f} |")
    compare.say("\n| login, its requests at these floors | CPU ms | most logins/s |"
                + (" oidc-provider 9's logins per CPU-second | ratio |" if reference else ""))
    compare.say("|---|---|---|" + ("---|---|" if reference else ""))
    for login, counts in LOGINS.items():
        cpu_ms = sum(cost[path] * count for path, count in counts.items())
        most = 1000 / cpu_ms
        extra = f" {reference:,.1f} | {most / reference:.2f}× |" if reference else ""
        compare.say(f"| {login} ({sum(counts.values())}) | {cpu_ms:.1f} | {most:,.0f} |{extra}")
    token_rate = statistics.median(r for r, _ in results["token"])
    compare.say(f"\nservice tokens/s at the token floor: {token_rate:,.0f}" + (
        f"; oidc-provider 9's: {tokens:,.0f} ({token_rate / tokens:.2f}×)" if tokens else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

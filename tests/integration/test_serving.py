"""What makes requests cheap keeps behaviour: published documents, languages, headers, the
embedded database's file, and the production server behind ``idp serve --workers``."""

import json
import sqlite3
import stat

import pytest
from click.testing import CliRunner
from flask import jsonify

from idp import cli, languages


def test_discovery_and_jwks_are_what_jsonify_makes(app, client):
    svc = app.extensions["idp"]
    for path, document in (("/.well-known/openid-configuration", svc.discovery),
                           ("/jwks.json", svc.keys.public_jwks())):
        first, second = client.get(path), client.get(path)
        with app.test_request_context():
            expected = jsonify(document).get_data()
        assert first.data == second.data == expected
        assert first.headers["Content-Type"] == "application/json"
        assert first.headers["Cache-Control"] == "public, max-age=300"
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert first.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert int(first.headers["Content-Length"]) == len(expected)


def test_jwks_bytes_follow_idp_keys_rotate(app, client, settings):
    svc = app.extensions["idp"]
    before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    config = settings.base_dir / "idp.toml"
    config.write_text(f"[keys]\npath = '{settings.path(settings.keys.path)}'\n")
    result = CliRunner().invoke(cli.main, ["--config", str(config), "keys", "rotate"])
    assert result.exit_code == 0, result.output
    upcoming = {k["kid"] for k in json.loads(result.output)["next"]}
    svc.keys._checked_at = 0  # as if the reload interval had passed
    after = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    assert upcoming <= after and before <= after  # next keys are published before they sign
    assert client.get("/jwks.json").data == client.get("/jwks.json").data


@pytest.mark.empty_database
def test_sqlite_file_is_private_and_tuned(app, settings):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("embedded default only")
    path = settings.instance_dir / "idp.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    engine = app.extensions["idp"].db.engine
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_existing_sqlite_file_is_narrowed(tmp_path):
    from idp.db import protect_sqlite_file

    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    protect_sqlite_file(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    protect_sqlite_file("sqlite://")  # in memory: nothing to do
    protect_sqlite_file("postgresql+psycopg://u@h/db")


def test_wtforms_messages_loaded_once_per_locale(app):
    assert languages.wtforms_translations("fa") is languages.wtforms_translations("fa")
    with app.test_request_context():
        from flask import request

        assert request.wtforms_translations is languages.wtforms_translations("fa")


def test_security_headers_keep_a_view_s_own(app):
    @app.get("/_own_headers")
    def own():
        return "x", 200, {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "private"}

    response = app.test_client().get("/_own_headers")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Cache-Control") == ["private"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers
    secure = app.test_client().get("/faq", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert secure.headers["Cache-Control"] == "no-store"


@pytest.fixture
def serve(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli.production, "serve",
                        lambda settings, host, port, workers: calls.append(
                            (settings, host, port, workers)))

    def invoke(config: str, *args: str):
        path = tmp_path / "idp.toml"
        path.write_text("[server]\nissuer = 'http://localhost'\n" + config)
        return CliRunner().invoke(cli.main, ["--config", str(path), "serve", *args]), calls

    return invoke


def test_serve_refuses_several_workers_on_the_in_process_store(serve):
    result, calls = serve("", "--workers", "2")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "[redis] url" in result.output
    assert calls == []


def test_serve_workers_runs_the_production_server(serve, tmp_path):
    result, calls = serve("", "--workers", "1", "--port", "5123")
    assert result.exit_code == 0, result.output
    settings, host, port, workers = calls[0]
    assert (host, port, workers) == ("127.0.0.1", 5123, 1)
    assert settings.server.issuer == "http://localhost"
    assert list((tmp_path / "keys").glob("*.jwk.json"))  # keys made before the workers start
    assert (tmp_path / "instance" / "idp.sqlite3").exists()  # and the schema


def test_serve_several_workers_with_redis(serve):
    result, calls = serve("[redis]\nurl = 'redis://127.0.0.1:1/0'\n", "--workers", "3",
                          "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert calls[0][1:] == ("0.0.0.0", 5000, 3)


def test_serve_rejects_zero_workers(serve):
    result, calls = serve("", "--workers", "0")
    assert result.exit_code == 2 and calls == []


def test_production_server_settings(tmp_path):
    from granian.constants import Interfaces

    from idp import production
    from idp.settings import Settings

    assert production.SERVER_SETTINGS["interface"] == Interfaces.WSGI
    settings = Settings(base_dir=tmp_path)
    assert production.blocking_threads(settings) == production.EMBEDDED_THREADS == 1
    settings.redis.url = "redis://127.0.0.1:6379/0"
    assert production.blocking_threads(settings) == production.NETWORKED_THREADS


def test_head_revisions_are_alembic_s(tmp_path):
    from alembic.script import ScriptDirectory

    from idp.migrations import _current_revisions, alembic_config, head_revisions, upgrade

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    assert _current_revisions(url) is None
    upgrade(url)
    assert _current_revisions(url) == head_revisions()
    upgrade(url)  # already current: nothing to do


def test_published_documents_answered_in_front_of_flask_are_flask_s(app):
    from prometheus_client import generate_latest

    fresh = app.test_client()
    for path, endpoint in (("/.well-known/openid-configuration", "oidc.discovery"),
                           ("/jwks.json", "oidc.jwks")):
        through_flask = fresh.get(path)  # kept
        kept = [fresh.get(path) for _ in range(3)]
        for response in kept:
            assert response.status_code == 200
            assert response.data == through_flask.data
            # The same headers but the request id, which is each request's own.
            assert [h for h in response.headers.items() if h[0] != "X-Request-ID"] == \
                [h for h in through_flask.headers.items() if h[0] != "X-Request-ID"]
            assert response.headers["X-Request-ID"] != through_flask.headers["X-Request-ID"]
        head = fresh.head(path)
        assert head.status_code == 200 and head.data == b""
        with_cookie = app.test_client()
        with_cookie.set_cookie("idp_session", "x")
        assert with_cookie.get(path).data == through_flask.data
        metrics = generate_latest(app.extensions["idp.metrics"].registry).decode()
        assert (f'idp_http_requests_total{{endpoint="{endpoint}",method="GET",status="200"}} 5.0'
                in metrics)
    assert app.test_client().post("/jwks.json").status_code == 405
    assert app.test_client().get("/jwks.json/").status_code == 404


def test_published_jwks_follows_rotation_without_cookies(app):
    fresh = app.test_client()
    keys = app.extensions["idp"].keys
    before = fresh.get("/jwks.json").get_json()
    assert fresh.get("/jwks.json").get_json() == before
    keys.rotate()
    after = fresh.get("/jwks.json").get_json()
    assert {k["kid"] for k in before["keys"]} < {k["kid"] for k in after["keys"]}
    assert fresh.get("/jwks.json").get_json() == after


def test_published_documents_behind_a_proxy_get_hsts_from_the_forwarded_scheme(settings):
    from idp import create_app

    settings.server.proxy_count = 1
    app = create_app(settings)
    client = app.test_client()
    for _ in range(2):
        plain = client.get("/jwks.json")
        assert "Strict-Transport-Security" not in plain.headers
        forwarded = client.get("/jwks.json", headers={"X-Forwarded-Proto": "https"})
        assert forwarded.headers["Strict-Transport-Security"] == "max-age=31536000"
    app.extensions["idp"].db.engine.dispose()


def test_templates_follow_the_locale_within_a_request(app):
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ _('صفحه مورد نظر یافت نشد.') }}"
    with app.test_request_context("/"):
        persian = render_template_string(template)
        with force_locale("en"):
            english = render_template_string(template)
        again = render_template_string(template)
    assert persian == again == "صفحه مورد نظر یافت نشد."
    assert english != persian and english.isascii()


def test_idp_serve_workers_answers_http(tmp_path):
    """The real production server: granian starts, builds the app in its worker, answers."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "idp.toml"
    config.write_text(f"[server]\nissuer = 'http://127.0.0.1:{port}'\n")
    server = subprocess.Popen(
        [sys.executable, "-c", "from idp.cli import main; main()", "--config", str(config),
         "serve", "--port", str(port), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/.well-known/openid-configuration") as answer:
                    discovery = json.loads(answer.read())
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the production server did not answer")
        assert discovery["issuer"] == base
        with urllib.request.urlopen(f"{base}/jwks.json") as answer:
            assert {k["alg"] for k in json.loads(answer.read())["keys"]} == {"RS256", "ES256"}
            assert answer.headers["X-Frame-Options"] == "DENY"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

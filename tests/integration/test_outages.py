"""Outages of Redis and PostgreSQL under a running provider (issue 9, faults).

The provider talks to the real PostgreSQL and Redis through a TCP proxy each (tests/live.py),
which the test takes down and brings back: the machine's shared servers are never stopped.
Every outage must be a Persian 503 page for people and ``temporarily_unavailable`` (503) for
clients, with one log line and no traceback, and the provider must recover by itself.
"""

import base64
import logging
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from conftest import REDIS_URL, _reset_services, make_settings
from flow import (
    authorize_url,
    exchange,
    follow,
    get,
    login,
    outbox_codes,
    pkce,
    post_form,
    redirect_params,
    submit_identity,
    submit_mobile,
    submit_otp,
)
from live import TcpProxy, proxied

import idp.db
from idp import create_app
from idp.audit import AuditQuery, query

PERSIAN_TRY_LATER = "لطفا چند دقیقه دیگر دوباره تلاش کنید"
NEWCOMER = {"mobile": "09120000001", "national_code": "0499370899", "birth": (1360, 1, 1)}
SERVICE = {"client_id": "tax-backend", "client_secret": "tax-backend-secret",
           "name": "سامانه مالیات (سرور)", "grant_types": ["client_credentials"],
           "resources": ["https://api.tax.example/"]}


@dataclass
class Provider:
    app: object
    database: TcpProxy
    redis: TcpProxy


@pytest.fixture
def provider(tmp_path, key_folder, services_database):
    """A provider on PostgreSQL and Redis (each behind a proxy), rate limits on, not in
    testing mode: an error goes through the same handlers as in production."""
    if not REDIS_URL:
        pytest.skip("IDP_TEST_REDIS_URL is not set")
    _reset_services(services_database)
    with proxied(services_database) as (database, database_url), \
            proxied(REDIS_URL) as (redis, redis_url):
        settings = make_settings(tmp_path, key_folder, database_url=database_url,
                                 redis_url=redis_url)
        settings.ratelimit.enabled = True
        settings.clients = [*settings.clients, SERVICE]
        app = create_app(settings)
        yield Provider(app, database, redis)
        app.extensions["idp"].db.engine.dispose()


@contextmanager
def one_log_line(caplog, dependency: str):
    """The block logs exactly one line, "dependency unavailable" naming ``dependency``, with
    no traceback."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        yield
    lines = [(r.name, r.getMessage(), getattr(r, "dependency", None), r.exc_info)
             for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [("idp.web", "dependency unavailable", dependency, None)]


def person_page(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert 'dir="rtl"' in html and PERSIAN_TRY_LATER in html
    assert "Traceback" not in html and "Internal Server Error" not in html


def client_error(response) -> None:
    assert response.status_code == 503
    assert response.is_json
    assert response.json["error"] == "temporarily_unavailable"


def basic() -> dict:
    return {"Authorization": "Basic " + base64.b64encode(b"test-rp:test-rp-secret").decode()}


def tokens(app) -> dict:
    """A logged-in citizen's tokens (access, refresh, ID) for ``test-rp``."""
    browser = app.test_client()
    verifier, challenge = pkce()
    url = authorize_url(scope="openid profile offline_access", code_challenge=challenge,
                        code_challenge_method="S256")
    code = redirect_params(login(browser, app, url))["code"]
    response = exchange(browser, code, verifier=verifier)
    assert response.status_code == 200, response.json
    return response.json


def at_identity_step(app):
    """A browser whose journey waits at the identity step (a first login of this mobile)."""
    browser = app.test_client()
    follow(browser, get(browser, authorize_url()))
    follow(browser, submit_mobile(browser, app, NEWCOMER["mobile"]))
    response = follow(browser, submit_otp(browser, app,
                                          outbox_codes(app, NEWCOMER["mobile"])[-1]))
    assert response.request.path == "/login/identity"
    return browser


def api_calls(client, token: dict) -> dict:
    """Each API endpoint called as a relying party would."""
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    return {
        "token": lambda: client.post("/token", headers=basic(), data={
            "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}),
        "userinfo": lambda: client.get("/userinfo", headers=bearer),
        # A refresh token: the database holds it (an access token is checked without it).
        "introspect": lambda: client.post("/introspect", headers=basic(),
                                          data={"token": token["refresh_token"]}),
        "revoke": lambda: client.post("/revoke", headers=basic(),
                                      data={"token": token["refresh_token"]}),
    }


# --- Redis ---------------------------------------------------------------------------------------

def test_redis_down_at_authorize_is_the_rate_limiters_own_error_as_a_page(provider, caplog):
    # /authorize is rate limited per address: the limiter asks Redis before the view does.
    provider.redis.down()
    browser = provider.app.test_client()
    with one_log_line(caplog, "redis"):
        person_page(browser.get(authorize_url()))
    provider.redis.up()
    assert browser.get(authorize_url()).status_code == 302


def test_redis_down_at_the_mobile_form(provider, caplog):
    browser = provider.app.test_client()
    follow(browser, get(browser, authorize_url()))
    page = browser.get("/login/mobile")
    assert page.status_code == 200
    provider.redis.down()
    with one_log_line(caplog, "redis"):
        person_page(submit_mobile_from(browser, page, NEWCOMER["mobile"]))
    provider.redis.up()
    response = submit_mobile_from(browser, page, NEWCOMER["mobile"])
    assert response.status_code == 302 and outbox_codes(provider.app, NEWCOMER["mobile"])


def submit_mobile_from(browser, page, mobile: str):
    return post_form(browser, "/login/mobile", page.get_data(as_text=True), {"mobile": mobile})


@pytest.mark.parametrize("endpoint", ["token", "userinfo", "introspect", "revoke"])
def test_redis_down_at_the_api_endpoints(provider, caplog, endpoint):
    token = tokens(provider.app)
    call = api_calls(provider.app.test_client(), token)[endpoint]
    provider.redis.down()
    with one_log_line(caplog, "redis"):
        client_error(call())
    provider.redis.up()
    assert call().status_code == 200


def test_redis_down_at_the_code_exchange(provider, caplog):
    app = provider.app
    browser = app.test_client()
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    code = redirect_params(login(browser, app, url))["code"]
    provider.redis.down()
    with one_log_line(caplog, "redis"):
        client_error(exchange(browser, code, verifier=verifier))
    provider.redis.up()
    # Nothing was used up: the code still works once.
    assert exchange(browser, code, verifier=verifier).status_code == 200


# --- PostgreSQL ----------------------------------------------------------------------------------

def test_database_down_at_the_identity_step(provider, caplog):
    browser = at_identity_step(provider.app)
    provider.database.down()
    with one_log_line(caplog, "database"):
        person_page(submit_identity(browser, NEWCOMER["national_code"], NEWCOMER["birth"]))
    provider.database.up()
    # Reconnected without a restart, and nothing was half-done: the same step goes on.
    response = follow(browser, submit_identity(browser, NEWCOMER["national_code"],
                                               NEWCOMER["birth"]))
    assert response.request.path == "/login/postal"


def test_database_restarted_between_two_steps_is_not_seen(provider, caplog):
    """The pool's connections lost their server while idle (a restart): the next step finds
    out before using one and connects again, with no error page and no log line."""
    browser = at_identity_step(provider.app)
    provider.database.down()
    provider.database.up()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        response = follow(browser, submit_identity(browser, NEWCOMER["national_code"],
                                                   NEWCOMER["birth"]))
    assert response.request.path == "/login/postal"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_only_a_connection_idle_long_enough_is_pinged(provider, monkeypatch):
    """A connection back from the pool within ``IDLE_PING_SECONDS`` is used without the
    ``SELECT 1`` round trip; one idle longer is pinged first."""
    dialect = provider.app.extensions["idp"].db.engine.dialect
    pings = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    client = provider.app.test_client()
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    assert pings == []
    monkeypatch.setattr(idp.db, "IDLE_PING_SECONDS", 0.0)
    assert client.get("/readyz").status_code == 200
    assert len(pings) == 1


@pytest.mark.parametrize("endpoint", ["token", "userinfo", "introspect", "revoke"])
def test_database_down_at_the_api_endpoints(provider, caplog, endpoint):
    token = tokens(provider.app)
    call = api_calls(provider.app.test_client(), token)[endpoint]
    provider.database.down()
    with one_log_line(caplog, "database"):
        client_error(call())
    provider.database.up()
    assert call().status_code == 200


def test_database_down_at_a_known_services_token(provider, caplog):
    """A cached service client's token is one autocommitted INSERT (its audit row): with the
    database gone the client gets temporarily_unavailable, never a token without its row."""
    client = provider.app.test_client()
    secret = base64.b64encode(b"tax-backend:tax-backend-secret").decode()

    def service_token():
        return client.post("/token", headers={"Authorization": f"Basic {secret}"},
                           data={"grant_type": "client_credentials"})

    assert service_token().status_code == 200  # the client is read and cached
    provider.database.down()
    with one_log_line(caplog, "database"):
        client_error(service_token())
    provider.database.up()
    assert service_token().status_code == 200
    with provider.app.app_context():
        trail = list(query(provider.app.extensions["idp"].db.session,
                           AuditQuery(client_id="tax-backend", events=("token.issued",))))
    assert len(trail) == 2


def test_readiness_names_what_is_down(provider):
    client = provider.app.test_client()
    assert client.get("/readyz").status_code == 200
    provider.database.down()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["database"] is False
    provider.database.up()
    provider.redis.down()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["redis"] is False
    provider.redis.up()
    assert client.get("/readyz").status_code == 200

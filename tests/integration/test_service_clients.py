"""Service clients: the client_credentials grant for relying parties' back-end services, with
audience-restricted RFC 9068 access tokens (RFC 8707 ``resource``), audited."""

import base64
import json

import jwt as pyjwt
import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from idp import create_app
from idp.cli import main
from idp.models import AuditEvent

API = "https://api.tax.example/"
FILES = "https://files.tax.example/"
SERVICE = {"client_id": "tax-backend", "client_secret": "tax-backend-secret",
           "name": "سامانه مالیات (سرور)", "grant_types": ["client_credentials"],
           "resources": [API]}
TWO_RESOURCES = {"client_id": "post-backend", "client_secret": "post-backend-secret",
                 "name": "پست (سرور)", "grant_types": ["client_credentials"],
                 "resources": [API, FILES], "auth_method": "client_secret_post"}


@pytest.fixture
def service_app(settings):
    settings.clients = [*settings.clients, SERVICE, TWO_RESOURCES]
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["idp"].db.engine.dispose()


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
            .decode()}


def service_token(http, data: dict | None = None, client_id="tax-backend",
                  secret="tax-backend-secret"):
    return http.post("/token", data={"grant_type": "client_credentials", **(data or {})},
                     headers=basic(client_id, secret))


def verify(http, token: str, audience: str) -> dict:
    """Checked with PyJWT against the published JWKS, not with the signer's library."""
    jwks = pyjwt.PyJWKSet.from_dict(http.get("/jwks.json").get_json())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return pyjwt.decode(token, key.key, algorithms=["RS256"], audience=audience,
                        issuer="http://localhost")


def test_a_service_gets_an_audience_restricted_token_and_it_is_audited(service_app):
    http = service_app.test_client()
    response = service_token(http)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert "refresh_token" not in body and "id_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert pyjwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = verify(http, body["access_token"], API)
    assert claims["aud"] == API
    assert claims["sub"] == claims["client_id"] == "tax-backend"  # RFC 9068 §2.2
    assert not {"gid", "sid", "auth_time", "acr", "amr"} & set(claims)
    assert claims["scope"] == ""
    with service_app.app_context():
        rows = service_app.extensions["idp"].db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "token.issued")).all()
    assert [(r.client_id, r.account_id, r.detail) for r in rows] == [
        ("tax-backend", None, {"grant_type": "client_credentials", "resource": [API]})]


def test_a_known_clients_token_is_one_autocommitted_insert_and_every_token_has_its_row(
        service_app):
    """Once the client is cached, a token's only statement is its audit row, sent without
    BEGIN and COMMIT (one round trip on PostgreSQL) and committed before the token leaves;
    the pooled connection goes back to transactions for the next request."""
    http = service_app.test_client()
    assert service_token(http).status_code == 200  # the client is read (a transaction)
    db = service_app.extensions["idp"].db
    sent: list[tuple[str, str | None]] = []

    def seen(conn, _cursor, statement, *_args) -> None:
        sent.append((statement.split()[0], conn.get_execution_options().get("isolation_level")))
        assert "RETURNING" not in statement  # the row's id is not read back

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for _ in range(2):
            assert service_token(http).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sent == [("INSERT", "AUTOCOMMIT")] * 2
    issued = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event == "token.issued")
    with db.engine.connect() as other:  # not the request's connection
        assert other.scalar(issued) == 3
    with service_app.app_context():
        session = db.session
        session.add(AuditEvent(event="token.issued", detail={}))
        session.flush()
        session.rollback()
        assert session.scalar(issued) == 3


def test_the_named_resource_is_the_audience_and_must_be_registered(service_app):
    http = service_app.test_client()
    post = {"client_id": "post-backend", "client_secret": "post-backend-secret"}
    unnamed = http.post("/token", data={"grant_type": "client_credentials", **post})
    assert unnamed.status_code == 400 and unnamed.get_json()["error"] == "invalid_target"
    named = http.post("/token", data={"grant_type": "client_credentials", "resource": FILES,
                                      **post})
    assert verify(http, named.get_json()["access_token"], FILES)["aud"] == FILES
    foreign = service_token(http, {"resource": "https://other.example/"})
    assert foreign.status_code == 400 and foreign.get_json()["error"] == "invalid_target"


def test_the_client_is_authenticated_and_may_use_only_its_grants(service_app):
    http = service_app.test_client()
    wrong = service_token(http, secret="not-the-secret")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    anonymous = http.post("/token", data={"grant_type": "client_credentials",
                                          "client_id": "tax-backend"})
    assert anonymous.status_code == 401
    login_client = service_token(http, client_id="test-rp", secret="test-rp-secret")
    assert login_client.get_json()["error"] == "unauthorized_client"
    scoped = service_token(http, {"scope": "openid profile"})
    assert scoped.status_code == 400 and scoped.get_json()["error"] == "invalid_scope"
    code = http.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                     "redirect_uri": "https://rp.example/cb"},
                     headers=basic("tax-backend", "tax-backend-secret"))
    assert code.get_json()["error"] == "unauthorized_client"
    authorize = http.get("/authorize?response_type=code&client_id=tax-backend&scope=openid"
                         "&redirect_uri=https://rp.example/cb")
    assert authorize.status_code == 400


def test_a_service_token_names_no_citizen_and_can_be_introspected_and_revoked(service_app):
    http = service_app.test_client()
    token = service_token(http).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    info = http.get("/userinfo", headers=bearer)  # RFC 6750 §3.1: it was never for UserInfo
    assert info.status_code == 403 and info.get_json()["error"] == "insufficient_scope"
    headers = basic("tax-backend", "tax-backend-secret")
    seen = http.post("/introspect", data={"token": token}, headers=headers).get_json()
    assert seen["active"] and seen["sub"] == "tax-backend" and seen["aud"] == API
    assert http.post("/revoke", data={"token": token}, headers=headers).status_code == 200
    assert not http.post("/introspect", data={"token": token}, headers=headers).get_json()[
        "active"]


def test_discovery_advertises_the_grant(client):
    assert "client_credentials" in client.get("/.well-known/openid-configuration").get_json()[
        "grant_types_supported"]


def test_cli_registers_service_clients_and_refuses_what_makes_no_sense(tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text("[server]\nissuer = 'http://localhost'\n")

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), "clients", "add", *args])

    made = run("--name", "مالیات", "--grant", "client_credentials", "--resource", API)
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["grant_types"] == ["client_credentials"] and created["client_secret"]
    both = json.loads(run("--name", "شهرداری", "--redirect-uri", "https://rp.example/cb",
                          "--grant", "authorization_code", "--grant", "client_credentials",
                          "--resource", API).output)
    assert both["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    for args, why in (
            (("--grant", "client_credentials"), "resource"),
            (("--grant", "client_credentials", "--resource", API, "--public"), "confidential"),
            (("--grant", "client_credentials", "--resource", API, "--scope", "openid"),
             "no scopes"),
            (("--grant", "client_credentials", "--resource", API, "--redirect-uri",
              "https://rp.example/cb"), "redirect"),
            ((), "redirect URI")):
        refused = run("--name", "x", *args)
        assert refused.exit_code != 0 and why in refused.output, (args, refused.output)

"""Issue 6 (hardening): each probe of the adversarial review, through the HTTP surface.

Tokens are verified with PyJWT, not with the provider's own signing library.
"""

import base64
import time
import uuid
from urllib.parse import urlencode

import jwt as pyjwt
import pytest
from conftest import TEST_CLIENTS, make_settings
from cryptography.hazmat.primitives.asymmetric import rsa
from flow import (
    DEMO,
    authorize_url,
    confirm_postal,
    exchange,
    follow,
    get,
    give_consent,
    login,
    outbox_codes,
    pkce,
    redirect_params,
    submit_identity,
    submit_mobile,
    submit_otp,
)
from test_oidc_extras import code_for, jwt_exchange, verify

from idp import create_app

API = "https://api.example/"


@pytest.fixture
def rp_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwt_app(tmp_path, key_folder, rp_key):
    """The test clients plus ``jwt-rp``, which authenticates with private_key_jwt."""
    public = pyjwt.PyJWK.from_json(pyjwt.algorithms.RSAAlgorithm.to_jwk(rp_key.public_key()))
    jwk = dict(public._jwk_data, kid="rp-key", alg="RS256", use="sig")
    clients = [*TEST_CLIENTS,
               {"client_id": "jwt-rp", "name": "سامانه کلید", "auth_method": "private_key_jwt",
                "jwks": {"keys": [jwk]}, "redirect_uris": ["https://jwt.example/cb"],
                "first_party": True}]
    app = create_app(make_settings(tmp_path, key_folder, clients=clients))
    app.config["TESTING"] = True
    return app


def basic(client_id: str = "test-rp", secret: str = "test-rp-secret") -> dict:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --- Discovery and RFC 9207 -------------------------------------------------------------------

def test_discovery_names_assertion_algorithms_and_the_iss_parameter(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    for endpoint in ("introspection", "revocation"):
        assert "private_key_jwt" in doc[f"{endpoint}_endpoint_auth_methods_supported"]
        assert doc[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == ["RS256",
                                                                                 "ES256"]
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_every_authorization_response_carries_iss(client, app):
    # An error from Authlib's own validation (scope not registered) ...
    refused = redirect_params(get(client, authorize_url(scope="openid company")))
    assert refused["error"] == "invalid_scope" and refused["iss"] == "http://localhost"
    # ... an error from the journey (prompt=none without a session) ...
    none = redirect_params(get(client, authorize_url(prompt="none")))
    assert none["error"] == "login_required" and none["iss"] == "http://localhost"
    # ... a code ...
    verifier, challenge = pkce()
    success = redirect_params(login(client, app, authorize_url(
        code_challenge=challenge, code_challenge_method="S256")))
    assert success["code"] and success["iss"] == "http://localhost"
    assert exchange(client, success["code"], verifier=verifier).status_code == 200
    # ... and a refusal by the citizen, in another browser.
    app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
    other = app.test_client()
    denied = redirect_params(login(other, app, authorize_url(scope="openid email"),
                                   consent="deny"))
    assert denied["error"] == "access_denied" and denied["iss"] == "http://localhost"


# --- Defect 4: resources (RFC 8707) are registered per client ---------------------------------

@pytest.fixture
def resource_app(tmp_path, key_folder):
    clients = [{**TEST_CLIENTS[0], "resources": [API]}, *TEST_CLIENTS[1:]]
    app = create_app(make_settings(tmp_path, key_folder, clients=clients))
    app.config["TESTING"] = True
    return app


def _tokens(client, app, **token_params):
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        code_challenge=challenge, code_challenge_method="S256",
        scope="openid profile offline_access")))
    return client.post("/token", headers=basic(), data={
        "grant_type": "authorization_code", "code": params["code"],
        "redirect_uri": "https://rp.example/cb", "code_verifier": verifier, **token_params})


def test_a_registered_resource_becomes_the_audience(resource_app):
    client = resource_app.test_client()
    response = _tokens(client, resource_app, resource=API)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert verify(client, body["access_token"], API)["client_id"] == "test-rp"
    refreshed = client.post("/token", headers=basic(), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"], "resource": API})
    assert refreshed.status_code == 200, refreshed.get_json()
    assert verify(client, refreshed.get_json()["access_token"], API)["sub"]


def test_an_unregistered_resource_is_invalid_target(resource_app):
    client = resource_app.test_client()
    verifier, challenge = pkce()
    params = redirect_params(login(client, resource_app, authorize_url(
        code_challenge=challenge, code_challenge_method="S256")))
    form = {"grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": "https://rp.example/cb", "code_verifier": verifier}
    response = client.post("/token", headers=basic(),
                           data={**form, "resource": "https://anything.example/"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_target"
    # The code was not taken by the refused request.
    assert client.post("/token", headers=basic(), data=form).status_code == 200
    body = _tokens(client, resource_app).get_json()
    assert verify(client, body["access_token"], "test-rp")
    refreshed = client.post("/token", headers=basic(), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "resource": "https://anything.example/"})
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_target"
    # The refused request used nothing up: the refresh token still works, once.
    again = client.post("/token", headers=basic(), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert again.status_code == 200, again.get_json()


def test_a_resource_of_another_client_is_invalid_target(client, app):
    # test-rp has no resource registered at all (conftest): nothing may be named.
    response = _tokens(client, app, resource=API)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_target"


# --- Defect 7: private_key_jwt assertions are short-lived and single-use until exp ----------

def _signed(key, lifetime: int, *, iat: bool = True, jti: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": "jwt-rp", "sub": "jwt-rp", "aud": "http://localhost/token",
              "exp": now + lifetime, "jti": jti or uuid.uuid4().hex}
    if iat:
        claims["iat"] = now
    return pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "rp-key"})


@pytest.mark.parametrize("iat", [True, False])
def test_a_long_lived_assertion_is_refused(jwt_app, rp_key, iat):
    client = jwt_app.test_client()
    code, verifier = code_for(client, jwt_app, "jwt-rp", "https://jwt.example/cb")
    response = jwt_exchange(client, code, verifier, _signed(rp_key, 86400, iat=iat))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client"
    fresh = jwt_exchange(client, code, verifier, _signed(rp_key, 120, iat=iat))
    assert fresh.status_code == 200, fresh.get_json()


def test_an_assertion_jti_is_remembered_until_its_exp(jwt_app, rp_key):
    client = jwt_app.test_client()
    store = jwt_app.extensions["idp"].store
    code, verifier = code_for(client, jwt_app, "jwt-rp", "https://jwt.example/cb")
    jti = uuid.uuid4().hex
    signed = _signed(rp_key, 280, jti=jti)
    assert jwt_exchange(client, code, verifier, signed).status_code == 200
    _value, seconds_left = store.get_with_ttl(f"assertion-jti:jwt-rp:{jti}")
    # Remembered for the assertion's whole life (plus the clock leeway), not 600 s.
    assert 280 <= seconds_left <= 280 + 60 + 1


# --- Defect 10: crafted input is an OAuth error, never a 500 ---------------------------------

def test_an_assertion_naming_a_secret_based_client_is_invalid_client(client, rp_key):
    now = int(time.time())
    signed = pyjwt.encode({"iss": "test-rp", "sub": "test-rp", "aud": "http://localhost/token",
                           "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex},
                          rp_key, algorithm="RS256")
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": "x", "redirect_uri": "https://rp.example/cb",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed})
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("claims", [
    '{"id_token": {"acr": {"essential": true, "value": {}}}}',
    '{"id_token": {"acr": {"essential": true, "values": 5}}}',
    '{"userinfo": {"name": {"essential": "yes"}}}',
    '{"userinfo": {"name": {"values": [[1]]}}}',
    '{"a":' * 3000 + '1' + '}' * 3000,
    '[' * 3000 + ']' * 3000,
    '{"userinfo": {"name": {"value": "' + "x" * 5000 + '"}}}',
])
def test_crafted_claims_parameter_is_invalid_request(client, claims):
    response = get(client, authorize_url(claims=claims))
    params = redirect_params(response)
    assert params["error"] == "invalid_request" and params["iss"] == "http://localhost"


def test_a_max_age_of_thousands_of_digits_is_invalid_request(client):
    params = redirect_params(get(client, authorize_url(max_age="9" * 5000)))
    assert params["error"] == "invalid_request"


@pytest.mark.parametrize("field,value", [
    ("redirect_uri", 'https://rp.example/cb"'), ("redirect_uri", "https://rp.example/cb\\"),
    ("redirect_uri", "https://rp.example/\tcb"), ("response_type", 'co"de'),
    ("response_type", "code\t"), ("response_type", "co\\de"),
])
def test_quotes_backslashes_and_tabs_get_the_invalid_request_page(client, field, value):
    response = get(client, authorize_url(**{field: value}))
    assert response.status_code == 400 and "Location" not in response.headers
    assert 'dir="rtl"' in response.get_data(as_text=True)


def test_userinfo_for_a_token_of_a_removed_client_is_invalid_token(client, app):
    code, verifier = code_for(client, app)
    access = exchange(client, code, verifier=verifier).get_json()["access_token"]
    from idp.registration import remove_client

    with app.app_context():
        session = app.extensions["idp"].db.session
        assert remove_client(session, "test-rp")
        session.commit()
        app.extensions["idp"].oauth_server.forget_client("test-rp")
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]



# --- Defects 5 and 8: id_token_hint names a citizen -------------------------------------------

MARYAM = {"mobile": "09350000002", "national_code": "1214792235", "birth": (1365, 5, 20)}


def _id_token(client, app, person=None) -> str:
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        code_challenge=challenge, code_challenge_method="S256"), **(
            {"person": person} if person else {})))
    return exchange(client, params["code"], verifier=verifier).get_json()["id_token"]


def test_logout_with_someone_elses_id_token_asks_first(client, app):
    _id_token(client, app)  # the victim's session in this browser
    attacker = app.test_client()
    foreign = _id_token(attacker, app, MARYAM)
    response = client.get("/logout?" + urlencode({
        "id_token_hint": foreign, "post_logout_redirect_uri": "https://rp.example/bye"}))
    assert response.status_code == 200 and "Location" not in response.headers
    assert "csrf_token" in response.get_data(as_text=True)
    # The victim is still logged in.
    assert "code" in redirect_params(get(client, authorize_url(prompt="none")))


def test_logout_with_the_sessions_own_id_token_needs_no_confirmation(client, app):
    own = _id_token(client, app)
    response = client.get("/logout?" + urlencode({
        "id_token_hint": own, "post_logout_redirect_uri": "https://rp.example/bye",
        "state": "s1"}))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://rp.example/bye?state=s1"
    assert redirect_params(get(client, authorize_url(prompt="none")))["error"] == \
        "login_required"


def test_logout_with_an_id_token_of_an_earlier_session_asks_first(client, app):
    earlier = _id_token(client, app)
    app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        prompt="login", code_challenge=challenge, code_challenge_method="S256")))
    current = exchange(client, params["code"], verifier=verifier).get_json()["id_token"]
    sids = [pyjwt.decode(t, options={"verify_signature": False})["sid"]
            for t in (earlier, current)]
    assert sids[0] != sids[1]
    response = client.get("/logout?" + urlencode({
        "id_token_hint": earlier, "post_logout_redirect_uri": "https://rp.example/bye"}))
    assert response.status_code == 200 and "csrf_token" in response.get_data(as_text=True)
    assert "code" in redirect_params(get(client, authorize_url(prompt="none")))


def test_prompt_none_with_a_hint_for_someone_else_is_login_required(client, app):
    _id_token(client, app)
    foreign = _id_token(app.test_client(), app, MARYAM)
    params = redirect_params(get(client, authorize_url(prompt="none", id_token_hint=foreign)))
    assert params["error"] == "login_required" and params["state"]
    own_later = redirect_params(get(client, authorize_url(prompt="none")))
    assert "code" in own_later


def test_prompt_none_with_the_sessions_own_hint_returns_a_code(client, app):
    own = _id_token(client, app)
    params = redirect_params(get(client, authorize_url(prompt="none", id_token_hint=own)))
    assert "code" in params


def test_an_expired_hint_is_still_a_hint(client, app):
    own = _id_token(client, app)
    app.extensions["idp"].settings.tokens.id_token_seconds = -10
    expired = _id_token_without_login(client)
    assert pyjwt.decode(expired, options={"verify_signature": False})["exp"] < time.time()
    params = redirect_params(get(client, authorize_url(prompt="none", id_token_hint=expired)))
    assert "code" in params
    assert own


def _id_token_without_login(client) -> str:
    verifier, challenge = pkce()
    params = redirect_params(get(client, authorize_url(
        prompt="none", code_challenge=challenge, code_challenge_method="S256")))
    return exchange(client, params["code"], verifier=verifier).get_json()["id_token"]


@pytest.mark.parametrize("hint", ["garbage", "a.b.c"])
def test_an_invalid_hint_is_invalid_request(client, app, hint):
    params = redirect_params(get(client, authorize_url(prompt="none", id_token_hint=hint)))
    assert params["error"] == "invalid_request"


def test_a_hint_signed_by_someone_else_is_invalid_request(client, app, rp_key):
    now = int(time.time())
    forged = pyjwt.encode({"iss": "http://localhost", "sub": "x", "aud": "test-rp",
                           "iat": now, "exp": now + 60}, rp_key, algorithm="RS256")
    params = redirect_params(get(client, authorize_url(id_token_hint=forged)))
    assert params["error"] == "invalid_request"


def test_an_access_token_is_not_an_id_token_hint(client, app):
    code, verifier = code_for(client, app)
    access = exchange(client, code, verifier=verifier).get_json()["access_token"]
    params = redirect_params(get(client, authorize_url(prompt="none", id_token_hint=access)))
    assert params["error"] == "invalid_request"


# --- Defect 6: a browser has one provider session ---------------------------------------------

def _copy_cookie(source, app):
    copy = app.test_client()
    copy.set_cookie("idp_session", source.get_cookie("idp_session").value, domain="localhost")
    return copy


def test_a_new_login_ends_the_session_it_replaces(client, app):
    _id_token(client, app)
    first_cookie = _copy_cookie(client, app)
    assert "code" in redirect_params(get(first_cookie, authorize_url(prompt="none")))
    app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        prompt="login", code_challenge=challenge, code_challenge_method="S256")))
    id_token = exchange(client, params["code"], verifier=verifier).get_json()["id_token"]
    # The first session ended at the second login, before any logout ...
    assert redirect_params(get(first_cookie, authorize_url(prompt="none")))["error"] == \
        "login_required"
    # ... and logging out of the second leaves nothing alive.
    response = client.get("/logout?" + urlencode({"id_token_hint": id_token}))
    assert response.status_code == 200
    for browser in (client, first_cookie):
        assert redirect_params(get(browser, authorize_url(prompt="none")))["error"] == \
            "login_required"


def test_a_login_by_someone_else_ends_the_previous_citizens_session(client, app):
    first = verify(client, _id_token(client, app), "test-rp")
    first_cookie = _copy_cookie(client, app)
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        prompt="login", code_challenge=challenge, code_challenge_method="S256"), MARYAM))
    id_token = exchange(client, params["code"], verifier=verifier).get_json()["id_token"]
    assert verify(client, id_token, "test-rp")["sub"] != first["sub"]
    assert redirect_params(get(first_cookie, authorize_url(prompt="none")))["error"] == \
        "login_required"


# --- Defect 11: only the registry's confirmed postal code is released ------------------------

def _userinfo_after_postal_answer(client, app, answer: str | None) -> dict:
    verifier, challenge = pkce()
    url = authorize_url(scope="openid address", code_challenge=challenge,
                        code_challenge_method="S256")
    response = follow(client, get(client, url))
    follow(client, submit_mobile(client, app, DEMO["mobile"]))
    response = follow(client, submit_otp(client, app, outbox_codes(app, DEMO["mobile"])[-1]))
    if response.request.path == "/login/identity":
        response = follow(client, submit_identity(client, DEMO["national_code"], DEMO["birth"]))
    assert response.request.path == "/login/postal"
    response = follow(client, confirm_postal(client, answer))
    if response.status_code == 200 and response.request.path == "/login/consent":
        response = follow(client, give_consent(client))
    code = redirect_params(response)["code"]
    access = exchange(client, code, verifier=verifier).get_json()["access_token"]
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).get_json()


def test_a_typed_postal_code_is_not_released(client, app):
    info = _userinfo_after_postal_answer(client, app, "1587634561")
    assert "address" not in info
    assert "1587634561" not in str(info)


def test_the_confirmed_registry_postal_code_is_released(client, app):
    info = _userinfo_after_postal_answer(client, app, None)
    assert info["address"] == {"postal_code": "1968913141", "country": "IR"}


# --- Defect 12: the development server's logs and /metrics -----------------------------------

def test_metrics_only_for_allowed_networks(client, tmp_path, key_folder):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert outside.status_code == 403 and b"idp_http" not in outside.data
    settings = make_settings(tmp_path / "ops", key_folder)
    settings.ops.metrics_allowed = ["10.0.0.0/8"]
    scraped = create_app(settings).test_client()
    assert scraped.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert scraped.get("/metrics").status_code == 403


def test_metrics_networks_from_the_environment(tmp_path):
    from idp.settings import load_settings

    settings = load_settings(environ={"IDP_OPS_METRICS_ALLOWED": "10.0.0.0/8, ::1/128"})
    assert settings.ops.metrics_allowed == ["10.0.0.0/8", "::1/128"]
    assert load_settings(environ={}).ops.metrics_allowed == ["127.0.0.1/32", "::1/128"]


def test_the_development_server_logs_paths_without_query_strings(app, caplog):
    import threading

    import requests

    from idp.cli import _server

    server = _server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level("INFO", logger="werkzeug"):
            requests.get(f"http://127.0.0.1:{server.port}/authorize?login_hint=09120000001"
                         "&id_token_hint=eyJsecret", allow_redirects=False, timeout=5)
    finally:
        server.shutdown()
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name == "werkzeug")
    assert "GET /authorize HTTP/1.1" in logged
    assert "09120000001" not in logged and "eyJsecret" not in logged


def test_the_replaced_sessions_relying_parties_hear_of_its_end(tmp_path, key_folder):
    import http.server
    import threading

    from test_oidc_extras import Receiver

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    clients = [*TEST_CLIENTS, {**TEST_CLIENTS[1], "client_id": "bcl-rp",
                               "redirect_uris": ["https://bcl.example/cb"],
                               "backchannel_logout_uri":
                                   f"http://127.0.0.1:{server.server_port}/bcl"}]
    app = create_app(make_settings(tmp_path, key_folder, clients=clients))
    app.config["TESTING"] = True
    client = app.test_client()
    try:
        first = code_for(client, app, "bcl-rp", "https://bcl.example/cb")
        app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
        code_for(client, app, prompt="login")
    finally:
        server.shutdown()
    assert first and len(Receiver.received) == 1
    claims = verify(client, Receiver.received[0], "bcl-rp")
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]

"""More of the OIDC surface: client authentication, key rotation, logout, languages, faults."""

import http.server
import threading
import time
import typing
import uuid
from urllib.parse import parse_qs, urlencode

import jwt as pyjwt
import pytest
from conftest import TEST_CLIENTS, make_settings
from cryptography.hazmat.primitives.asymmetric import rsa
from flow import authorize_url, exchange, follow, get, login, pkce, redirect_params
from live import answer_slowly

from idp import create_app
from idp.oidc import logout


def verify(client, token: str, audience: str) -> dict:
    jwks = client.get("/jwks.json").get_json()
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                        audience=audience, issuer="http://localhost")


def code_for(client, app, client_id="test-rp", redirect_uri="https://rp.example/cb", **extra):
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        client_id=client_id, redirect_uri=redirect_uri, code_challenge=challenge,
        code_challenge_method="S256", **extra)))
    return params["code"], verifier


class Receiver(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Receiver.received.append(parse_qs(body)["logout_token"][0])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    yield f"http://127.0.0.1:{server.server_port}/bcl"
    server.shutdown()


@pytest.fixture
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def extra_app(tmp_path, key_folder, receiver, rsa_key):
    return app_for(tmp_path, key_folder, receiver, rsa_key)


def app_for(tmp_path, key_folder, receiver: str, rsa_key):
    """The test clients plus ``jwt-rp`` (private_key_jwt, ES256 ID tokens), whose back-channel
    logout URI is ``receiver``."""
    public = pyjwt.PyJWK.from_json(pyjwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk = dict(public._jwk_data, kid="rp-key", alg="RS256", use="sig")
    clients = [*TEST_CLIENTS,
               {"client_id": "jwt-rp", "name": "سامانه کلید", "auth_method": "private_key_jwt",
                "jwks": {"keys": [jwk]}, "redirect_uris": ["https://jwt.example/cb"],
                "first_party": True, "id_token_alg": "ES256",
                "backchannel_logout_uri": receiver}]
    app = create_app(make_settings(tmp_path, key_folder, clients=clients))
    app.config["TESTING"] = True
    return app


def assertion(rsa_key, audience="http://localhost/token", jti=None) -> str:
    now = int(time.time())
    return pyjwt.encode({"iss": "jwt-rp", "sub": "jwt-rp", "aud": audience, "iat": now,
                         "exp": now + 60, "jti": jti or uuid.uuid4().hex},
                        rsa_key, algorithm="RS256", headers={"kid": "rp-key"})


def jwt_exchange(client, code, verifier, signed):
    return client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": "https://jwt.example/cb", "client_id": "jwt-rp",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed})


def test_private_key_jwt_and_es256_id_tokens(extra_app, rsa_key):
    client = extra_app.test_client()
    code, verifier = code_for(client, extra_app, "jwt-rp", "https://jwt.example/cb")
    signed = assertion(rsa_key)
    response = jwt_exchange(client, code, verifier, signed)
    assert response.status_code == 200, response.get_json()
    id_token = response.get_json()["id_token"]
    assert pyjwt.get_unverified_header(id_token)["alg"] == "ES256"
    assert verify(client, id_token, "jwt-rp")["sid"]
    # The same assertion cannot be used twice (RFC 7523 §3).
    code, verifier = code_for(client, extra_app, "jwt-rp", "https://jwt.example/cb")
    replay = jwt_exchange(client, code, verifier, signed)
    # RFC 6749 §5.2: invalid_client, 401 only when the Authorization header was used.
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_client"


def test_private_key_jwt_with_someone_elses_key_fails(extra_app):
    client = extra_app.test_client()
    code, verifier = code_for(client, extra_app, "jwt-rp", "https://jwt.example/cb")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = jwt_exchange(client, code, verifier, assertion(other))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client"


def test_back_channel_logout_reaches_the_other_relying_party(extra_app):
    client = extra_app.test_client()
    code_for(client, extra_app, "jwt-rp", "https://jwt.example/cb")
    code2, verifier2 = code_for(client, extra_app)
    id_token = exchange(client, code2, verifier=verifier2).get_json()["id_token"]
    session_sid = verify(client, id_token, "test-rp")["sid"]
    response = client.get("/logout?" + urlencode({"id_token_hint": id_token}))
    assert response.status_code == 200
    assert len(Receiver.received) == 1
    token = Receiver.received[0]
    assert pyjwt.get_unverified_header(token)["typ"] == "logout+jwt"
    claims = verify(client, token, "jwt-rp")
    assert claims["sid"] == session_sid
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims


class TricklingReceiver(http.server.BaseHTTPRequestHandler):
    """Takes the logout token, then answers a byte every 50 ms (ten seconds in all)."""

    received: typing.ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        TricklingReceiver.received.append(parse_qs(body)["logout_token"][0])
        answer_slowly(self, 200, b"x" * 200, every=0.05)

    def log_message(self, *args):
        pass


def test_a_trickling_back_channel_receiver_does_not_hold_the_logout(tmp_path, key_folder,
                                                                     rsa_key, monkeypatch,
                                                                     caplog):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TricklingReceiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    TricklingReceiver.received = []
    monkeypatch.setattr(logout, "BACKCHANNEL_TIMEOUT", 0.5)
    app = app_for(tmp_path, key_folder, f"http://127.0.0.1:{server.server_port}/bcl", rsa_key)
    client = app.test_client()
    code_for(client, app, "jwt-rp", "https://jwt.example/cb")
    code, verifier = code_for(client, app)
    id_token = exchange(client, code, verifier=verifier).get_json()["id_token"]
    started = time.monotonic()
    response = client.get("/logout?" + urlencode({"id_token_hint": id_token}))
    assert time.monotonic() - started < 4
    assert response.status_code == 200 and len(TricklingReceiver.received) == 1
    assert [getattr(r, "error", None) for r in caplog.records
            if r.getMessage() == "back-channel logout failed"] == ["DeadlineExceeded"]
    server.shutdown()


def test_tokens_signed_before_rotation_still_verify(client, app):
    code, verifier = code_for(client, app)
    before = exchange(client, code, verifier=verifier).get_json()
    old_kid = pyjwt.get_unverified_header(before["id_token"])["kid"]
    keys = app.extensions["idp"].keys
    new_kids = [k["kid"] for k in keys.rotate()]
    assert old_kid not in new_kids
    # The next keys sign once they have been published for publish_ahead_seconds.
    keys.clock = lambda: time.time() + keys.publish_ahead_seconds
    assert verify(client, before["id_token"], "test-rp")
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {before['access_token']}"})
    assert info.status_code == 200
    app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
    code, verifier = code_for(client, app, prompt="login")
    after = exchange(client, code, verifier=verifier).get_json()
    assert pyjwt.get_unverified_header(after["id_token"])["kid"] in new_kids


def test_logout_without_hint_asks_first_and_never_redirects(client, app):
    code_for(client, app)
    page = client.get("/logout?post_logout_redirect_uri=https://rp.example/bye")
    assert page.status_code == 200 and "csrf_token" in page.get_data(as_text=True)
    from flow import csrf

    response = client.post("/logout", data={"csrf_token": csrf(page.get_data(as_text=True)),
                                            "confirm": "yes"})
    assert response.status_code == 200
    assert redirect_params(get(client, authorize_url(prompt="none")))["error"] == "login_required"


def test_unregistered_post_logout_uri_is_not_followed(client, app):
    code, verifier = code_for(client, app)
    id_token = exchange(client, code, verifier=verifier).get_json()["id_token"]
    response = client.get("/logout?" + urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"}))
    assert response.status_code == 200 and "Location" not in response.headers


def test_ui_locales_holds_for_the_session(client, app):
    page = follow(client, get(client, authorize_url(ui_locales="en")))
    html = page.get_data(as_text=True)
    assert 'lang="en"' in html and 'dir="ltr"' in html
    assert 'lang="en"' in client.get("/faq").get_data(as_text=True)
    client.get("/language/fa")
    assert 'dir="rtl"' in client.get("/login/mobile").get_data(as_text=True)


def test_the_layout_follows_the_language_the_page_and_the_mount_point(client):
    """The layout's fixed parts are rendered once and kept (idp/layout.py): for each language,
    page and mount point its own, never one kept for another."""
    faq = client.get("/faq").get_data(as_text=True)
    assert 'href="/faq" aria-current="page"' in faq and "سوالات متداول" in faq
    contact = client.get("/contact").get_data(as_text=True)
    assert 'href="/contact" aria-current="page"' in contact
    assert 'href="/faq" aria-current' not in contact
    client.get("/language/en")
    english = client.get("/contact").get_data(as_text=True)
    assert 'href="/contact" aria-current="page"' in english and "سوالات متداول" not in english
    mounted = client.get("/contact", base_url="http://localhost/sso").get_data(as_text=True)
    assert 'href="/sso/static/css/app.css"' in mounted and 'href="/sso/faq"' in mounted
    assert 'href="/static/css/app.css"' not in mounted


def test_language_switch_refuses_open_redirects(client):
    response = client.get("/language/en?next=//evil.example/")
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_redis_down_gives_a_page_not_a_trace(tmp_path, key_folder):
    settings = make_settings(tmp_path, key_folder, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    response = app.test_client().get(authorize_url())
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)
    assert 'dir="rtl"' in response.get_data(as_text=True)


def test_claims_parameter_releases_a_single_claim(client, app):
    claims = '{"userinfo": {"phone_number": null}}'
    code, verifier = code_for(client, app, scope="openid", claims=claims)
    body = exchange(client, code, verifier=verifier).get_json()
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.get_json()["phone_number"] == "+989120000001"
    assert "national_code" not in info.get_json()


def test_security_headers(client):
    response = client.get("/faq")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = get(client, authorize_url()).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_health_and_metrics(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").get_json()["status"] == "ready"
    assert b"idp_http_requests_total" in client.get("/metrics").data


def test_claims_parameter_puts_a_claim_in_the_id_token(client, app):
    claims = '{"id_token": {"national_code": {"essential": true}}}'
    code, verifier = code_for(client, app, claims=claims)
    id_token = exchange(client, code, verifier=verifier).get_json()["id_token"]
    assert verify(client, id_token, "test-rp")["national_code"] == "0499370899"

"""QR-code login from a paired phone app (issue 7), through the HTTP surface.

The design's §4 test cases are the checklist; each test names the cases it covers. The phone is
tests/phone.py (signing with PyJWT); ID tokens are checked with PyJWT. Runs on embedded
defaults and, when configured, on PostgreSQL + Redis.
"""

import base64
import json
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from conftest import TEST_CLIENTS, dead_redis
from flow import DEMO, PROVIDER, authorize_url, exchange, login, pkce, redirect_params
from phone import Phone, hs256, qid_of
from sqlalchemy import update
from walker import read_forms

from idp.devices import qrlogin
from idp.devices.models import Device
from idp.models import Account, AuditEvent, Grant
from idp.registration import register_client

PHONE_CLIENT = {"client_id": "test-phone", "name": "دولت همراه", "public": True,
                "first_party": True, "redirect_uris": ["https://phone.example/cb"],
                "scope": "openid profile national_id offline_access device:register qr:approve"}
PHONE_SCOPE = PHONE_CLIENT["scope"]
QR_URL = re.compile(r"^http://localhost/q/1/[A-Za-z0-9_-]{22}$")


@pytest.fixture
def app(request, settings):
    from idp import create_app

    settings.clients = [*TEST_CLIENTS, PHONE_CLIENT]
    # Tests marked ``ratelimit`` run with the [ratelimit] limits on (Flask-Limiter reads the
    # switch once, when the app is made).
    settings.ratelimit.enabled = request.node.get_closest_marker("ratelimit") is not None
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["idp"].db.engine.dispose()


def http_of(test_client):
    def http(method, path, body, token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = test_client.open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(silent=True)

    return http


# A second citizen of the sandbox registry (idp/registries/sandbox_demo.toml).
OTHER_PERSON = {"mobile": "09120000003", "national_code": "2607114462", "birth": (1348, 11, 3)}


def no_cooldown(app, person: dict = DEMO) -> None:
    """Each test device logs in anew; the one-time code's re-send cool-down is not under test."""
    app.extensions["idp"].store.delete(f"otp-cooldown:+98{person['mobile'][1:]}")


def phone_tokens(app, person: dict = DEMO) -> dict:
    """The phone app's login: PKCE S256 through the one-time-code journey (design §2.1)."""
    no_cooldown(app, person)
    browser = app.test_client()
    verifier, challenge = pkce()
    url = authorize_url(client_id="test-phone", redirect_uri="https://phone.example/cb",
                        scope=PHONE_SCOPE, code_challenge=challenge,
                        code_challenge_method="S256")
    params = redirect_params(login(browser, app, url, person))
    response = exchange(browser, params["code"], client_id="test-phone", secret=None,
                        redirect_uri="https://phone.example/cb", verifier=verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def new_phone(app, *, pair: bool = True, person: dict = DEMO) -> Phone:
    tokens = phone_tokens(app, person)
    sub = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]
    phone = Phone(http_of(app.test_client()), PROVIDER, token=tokens["access_token"], sub=sub)
    phone.refresh_token = tokens.get("refresh_token")
    if pair:
        phone.pair()
    return phone


@pytest.fixture
def phone(app) -> Phone:
    return new_phone(app)


def verify_id_token(client, token: str, audience: str = "test-rp") -> dict:
    jwks = client.get("/jwks.json").get_json()
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                        audience=audience, issuer="http://localhost")


def start_qr(browser, url: str | None = None) -> str:
    """Open the login page of ``url`` and choose the QR tab; returns the code's URL."""
    page = browser.get(url or authorize_url(), follow_redirects=True)
    form = next(f for f in read_forms(page.get_data(as_text=True))
                if urlsplit(f["action"]).path == "/login/qr/start")
    response = browser.post(form["action"], data=form["fields"])
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return qr_url_of(browser.get(response.headers["Location"]))


def qr_url_of(response) -> str:
    found = re.search(r'id="qr-code"[^>]*data-url="([^"]+)"', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return found.group(1)


def audit(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        db = app.extensions["idp"].db.session
        rows = db.query(AuditEvent).filter(AuditEvent.event == event).all()
        db.expunge_all()
        return rows


def walk_qr(client, app, phone: Phone, url: str, dec: str = "approve"):
    return login(client, app, url, qr=lambda code: phone.approve(code, dec))


# --- registration and pairing -------------------------------------------------------------------

def test_the_phone_scopes_are_given_only_to_public_first_party_clients_by_name(app):
    with app.app_context():
        db = app.extensions["idp"].db.session
        for public, first_party in ((False, True), (True, False), (False, False)):
            with pytest.raises(ValueError, match="public first-party"):
                register_client(db, name="x", redirect_uris=["https://x.example/cb"],
                                public=public, first_party=first_party,
                                scope="openid qr:approve")
        plain, _ = register_client(db, name="x", redirect_uris=["https://x.example/cb"],
                                   public=True, first_party=True)
        assert "device:register" not in plain.scope and "qr:approve" not in plain.scope
    discovery = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert {"device:register", "qr:approve"} <= set(discovery["scopes_supported"])


def test_pairing_stores_the_key_sends_a_notice_and_lists_the_device(app, phone):
    """Case 1: pairing happy path."""
    with app.app_context():
        device = app.extensions["idp"].db.session.get(Device, phone.device_id)
        assert device.kid == phone.kid and device.pairing_amr == ["otp", "sms"]
        assert device.key_protection == "unknown" and device.alg == "ES256"
        assert "d" not in device.public_jwk
    assert audit(app, "device.paired") and audit(app, "device.pair.challenge")
    settings = app.extensions["idp"].settings
    outbox = settings.path(settings.sms.outbox_path).read_text(encoding="utf-8").splitlines()
    notice = [json.loads(line) for line in outbox if '"device_paired"' in line]
    assert notice and "گوشی آزمایشی" in notice[-1]["text"] and notice[-1]["code"] is None
    status, body = phone.http("GET", "/api/devices", None, phone.token)
    assert status == 200
    assert [d["device_id"] for d in body["devices"]] == [phone.device_id]
    assert set(body["devices"][0]) == {"device_id", "display_name", "platform", "created_at",
                                       "last_used_at"}


def test_pairing_refuses_bad_proofs_and_reused_nonces(app):
    """Case 2: bad signature, reused or unknown nonce, another algorithm, wrong jkt or aud."""
    phone = new_phone(app, pair=False)
    other = Phone(phone.http, PROVIDER)
    nonce = phone.challenge()
    forged = pyjwt.encode({"nonce": nonce, "jkt": phone.kid, "iat": int(time.time()),
                           "aud": f"{PROVIDER}/api/devices"}, other.key, algorithm="ES256",
                          headers={"typ": "device-proof+jwt"})
    confused = hs256({"typ": "device-proof+jwt"},
                     {"nonce": phone.challenge(), "jkt": phone.kid, "iat": int(time.time()),
                      "aud": f"{PROVIDER}/api/devices"}, json.dumps(phone.jwk))
    for proof in (forged, confused, phone.proof("unknown-nonce"),
                  phone.proof(phone.challenge(), jkt=other.kid),
                  phone.proof(phone.challenge(), aud="https://elsewhere.example/api/devices"),
                  phone.proof(phone.challenge(), iat=int(time.time()) - 3600)):
        status, body = phone.register(proof)
        assert (status, body["error"]) == (400, "invalid_proof"), body
    used = phone.challenge()
    assert phone.register(phone.proof(used))[0] == 201
    # The nonce was used, and the key is known now; and one login pairs one device.
    assert phone.register(phone.proof(used))[1]["error"] == "invalid_proof"
    status, body = phone.register()
    assert status == 400
    assert "rejected" in {e.event.split(".")[-1] for e in audit(app, "device.pair.rejected")}
    # A private key is never accepted as the device's public key.
    second = new_phone(app, pair=False)
    status, body = second.register(public_jwk={**second.jwk, "d": "AAAA"})
    assert (status, body["error"]) == (400, "invalid_proof")


def test_the_interface_answers_bearer_errors(app, phone):
    status, body = phone.http("GET", "/api/devices", None, None)
    assert (status, body["error"]) == (401, "invalid_token")
    response = app.test_client().get("/api/devices")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert phone.http("GET", "/api/devices", None, "not-a-token")[0] == 401
    # A token of a client that was not registered with the scopes: 403 insufficient_scope.
    browser = app.test_client()
    verifier, challenge = pkce()
    no_cooldown(app)
    params = redirect_params(login(browser, app, authorize_url(
        client_id="test-public", redirect_uri="https://app.example/cb", scope="openid",
        code_challenge=challenge, code_challenge_method="S256")))
    token = exchange(browser, params["code"], client_id="test-public", secret=None,
                     redirect_uri="https://app.example/cb", verifier=verifier).get_json()
    response = app.test_client().post(
        "/api/qr/scan", json={"qid": "x", "device_id": "y"},
        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_the_phone_app_login_needs_pkce_s256(client):
    """Case 2: the phone app is a public client: no PKCE, or plain, is refused."""
    for extra in ({}, {"code_challenge": "a" * 43, "code_challenge_method": "plain"}):
        response = client.get(authorize_url(client_id="test-phone",
                                            redirect_uri="https://phone.example/cb",
                                            scope=PHONE_SCOPE, **extra))
        assert response.status_code == 302
        assert "error=invalid_request" in response.headers["Location"]


def test_a_citizen_has_at_most_max_devices(app, settings):
    """Case 54: a further device is refused with 409 too_many_devices."""
    app.extensions["idp"].settings.qr.max_devices = 2
    new_phone(app)
    new_phone(app)
    third = new_phone(app, pair=False)
    status, body = third.register()
    assert (status, body["error"]) == (409, "too_many_devices")


# --- the login ----------------------------------------------------------------------------------

def test_qr_login_reaches_the_relying_party_with_swk_and_the_otp_level(app, client, phone):
    """Cases 6, 7, 8, 53: the whole way, ID token checked with PyJWT."""
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    before = int(time.time())
    params = redirect_params(walk_qr(client, app, phone, url))
    tokens = exchange(client, params["code"], verifier=verifier).get_json()
    claims = verify_id_token(client, tokens["id_token"])
    assert claims["amr"] == ["swk"] and "otp" not in claims["amr"]
    assert claims["acr"] == "urn:idp:loa:2"
    assert before <= claims["auth_time"] <= int(time.time())
    assert claims["nonce"] in url and claims["sub"] == phone.sub
    redeemed = audit(app, "qr.redeemed")
    assert redeemed and redeemed[0].detail["amr"] == "swk"
    with app.app_context():
        assert app.extensions["idp"].db.session.get(Device, phone.device_id).last_used_at
    # The session it started gives single sign-on like any other.
    again = client.get(authorize_url(client_id="test-first",
                                     redirect_uri="https://first.example/cb"))
    assert again.headers["Location"].startswith("https://first.example/cb?")
    assert "code=" in again.headers["Location"]


def test_the_qr_page_and_code_carry_nothing_secret(app, client):
    """Cases 3, 5, 36: the payload, the binding cookie, the page."""
    url = start_qr(client)
    assert QR_URL.match(url)
    cookie = client.get_cookie("idp_qrb")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    page = client.get("/login/qr", follow_redirects=True).get_data(as_text=True)
    assert cookie.value not in page and cookie.value not in url
    assert "<svg" in page and "ورود با کد QR" in page
    assert "test-rp" not in url and "rp.example" not in url
    status = client.get("/login/qr/status").get_json()
    assert status["state"] == "pending" and status["expires_in"] <= 60
    assert set(status) == {"state", "interval", "expires_in", "qr_url", "svg", "rotations_left"}


def test_a_leaked_code_is_useless_to_another_browser(app, client, phone):
    """Cases 18, 19, 35: binding, single use, the journey and session ids renewed."""
    url = start_qr(client)
    thief = app.test_client()
    for path in ("/login/qr/status", "/login/qr/events"):
        assert thief.get(path).status_code == 403
    phone.approve(url)
    assert thief.get("/login/qr/status").status_code == 403
    assert thief.post("/login/qr/complete").status_code in (400, 403, 410)
    # The victim's browser still completes, once, with a new journey id.
    with client.session_transaction() as session:
        journeys_before = list(session["journeys"])
    status = client.get("/login/qr/status").get_json()
    assert status["state"] == "approved" and set(status) == {"state", "interval"}
    page = client.get("/login/qr")
    assert page.status_code == 302 and "/login/consent" in page.headers["Location"]
    with client.session_transaction() as session:
        assert not set(session["journeys"]) & set(journeys_before)
    assert audit(app, "qr.binding.rejected")


def test_a_denial_ends_the_code_and_the_browser_gets_no_code(app, client, phone):
    """Case 9."""
    url = start_qr(client)
    phone.approve(url, dec="deny")
    page = client.get("/login/qr")
    assert page.status_code == 200 and 'id="qr-denied"' in page.get_data(as_text=True)
    assert client.get("/login/qr/status").get_json()["state"] == "denied"
    assert phone.scan(url)[0] == 404
    assert audit(app, "qr.denied")


def test_tampered_approvals_are_refused_and_the_right_one_still_works(app, client, phone):
    """Cases 20–25, 27: every failed check is 400 invalid_approval and changes nothing."""
    url = start_qr(client)
    qid = qid_of(url)
    assert phone.scan(url)[0] == 200
    other = new_phone(app)  # the same demo citizen's second device
    now = int(time.time())
    stranger_key = Phone(phone.http, PROVIDER).key
    tampered = [
        phone.approval(qid, headers={"typ": "JWT"}),
        phone.approval(qid, aud="http://localhost/other"),
        phone.approval(qid, iat=now - 600, exp=now + 10),
        phone.approval(qid, exp=now - 1),
        phone.approval(qid, iat=now, exp=now + 120),
        phone.approval(qid, chal="A" * 43),
        phone.approval(qid, ctx="A" * 43),
        phone.approval(qid, iss=other.device_id),
        phone.approval(qid, sub="someone-else"),
        phone.approval(qid, dec="maybe"),
        phone.approval(qid, key=stranger_key),
        phone.approval(qid, headers={"kid": other.kid}),
        phone.approval(qid, algorithm="HS256"),
        pyjwt.encode({"qid": qid}, None, algorithm="none",
                     headers={"kid": phone.kid, "typ": "qr-approval+jwt"}),
        "not.a.jws",
    ]
    for jws in tampered:
        status, body = phone.post_approval(jws)
        assert (status, body["error"]) == (400, "invalid_approval"), (jws, body)
    assert client.get("/login/qr/status").get_json()["state"] == "scanned"
    good = phone.approval(qid)
    assert phone.post_approval(good) == (200, {"status": "approved"})
    # Replayed: refused (case 20).
    status, body = phone.post_approval(good)
    assert status == 400 and "already" in body["error_description"]
    reasons = {e.detail["reason"] for e in audit(app, "qr.approval.rejected")}
    assert {"typ", "aud", "time", "chal", "ctx", "device_mismatch", "sub", "bad_sig",
            "jti_replay"} <= reasons


def test_a_second_device_cannot_take_a_scanned_code(app, client, phone):
    """Case 26, and 25: the first scanner wins; the other device cannot approve it."""
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    other = new_phone(app)
    status, body = other.scan(url)
    assert (status, body["error"]) == (409, "already_scanned")
    other.scans[qid_of(url)] = phone.scans[qid_of(url)]
    status, body = other.post_approval(other.approval(qid_of(url)))
    assert (status, body["error"]) == (400, "invalid_approval")
    assert phone.post_approval(phone.approval(qid_of(url)))[0] == 200


def test_unknown_codes_and_devices_are_refused(app, client, phone):
    """Cases 28, 31: unknown qids 404; another's or a missing device 403."""
    assert phone.scan("http://localhost/q/1/" + "A" * 22)[1]["error"] == "unknown_qr"
    assert phone.scan("http://localhost/q/1/short")[0] == 404
    url = start_qr(client)
    status, body = phone.http("POST", "/api/qr/scan", {"qid": qid_of(url),
                                                       "device_id": "nope"}, phone.token)
    assert (status, body["error"]) == (403, "invalid_device")


def test_revoking_a_device_revokes_its_tokens_and_its_approvals(app, client, phone):
    """Case 17 and 28, from the account page's «دستگاه‌ها» tab."""
    other = new_phone(app)
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    status, _ = phone.http("DELETE", f"/api/devices/{phone.device_id}", None, other.token)
    assert status == 204
    assert phone.http("GET", "/api/devices", None, phone.token)[0] == 401
    with app.app_context():
        db = app.extensions["idp"].db.session
        device = db.get(Device, phone.device_id)
        assert device.status == "revoked"
        assert db.get(Grant, device.grant_id).revoked_at is not None
    refreshed = app.test_client().post("/token", data={
        "grant_type": "refresh_token", "refresh_token": phone.refresh_token,
        "client_id": "test-phone"})
    assert refreshed.status_code == 400
    # Its approval is refused even with a valid token of the citizen's other device.
    phone.token = other.token
    status, body = phone.post_approval(phone.approval(qid_of(url)))
    assert (status, body["error"]) == (400, "invalid_approval")
    status, body = phone.http("POST", "/api/qr/scan", {"qid": qid_of(url),
                                                       "device_id": phone.device_id},
                              other.token)
    assert (status, body["error"]) == (403, "invalid_device")
    assert other.http("DELETE", f"/api/devices/{phone.device_id}", None, other.token)[0] == 204


def test_another_citizens_device_cannot_be_deleted(app, phone):
    status, body = phone.http("DELETE", "/api/devices/unknown", None, phone.token)
    assert (status, body["error"]) == (404, "not_found")


def test_short_poll_goes_pending_scanned_approved_and_says_slow_down(app, client, phone):
    """Case 11."""
    url = start_qr(client)
    app.extensions["idp"].settings.ratelimit.enabled = True
    assert client.get("/login/qr/status").get_json()["state"] == "pending"
    fast = client.get("/login/qr/status")
    assert fast.status_code == 400 and fast.get_json()["error"] == "slow_down"
    app.extensions["idp"].settings.ratelimit.enabled = False
    assert phone.scan(url)[0] == 200
    assert client.get("/login/qr/status").get_json()["state"] == "scanned"
    assert 'id="qr-scanned"' in client.get("/login/qr").get_data(as_text=True)
    assert phone.post_approval(phone.approval(qid_of(url)))[0] == 200
    assert client.get("/login/qr/status").get_json()["state"] == "approved"


def test_codes_rotate_up_to_the_limit_then_the_page_offers_a_new_one(app, client, phone,
                                                                     monkeypatch):
    """Cases 10, 44: a new code after 60 s; the old one scans within its grace only."""
    first = start_qr(client)
    real = time.time
    offset = {"s": 0}
    monkeypatch.setattr(qrlogin.time, "time", lambda: real() + offset["s"])
    offset["s"] = 61
    second = client.get("/login/qr/status").get_json()
    assert second["state"] == "pending" and second["qr_url"] != first
    assert second["rotations_left"] == 4
    offset["s"] = 61 + 10
    assert phone.scan(first)[0] == 404  # past its end and grace
    for rotation in range(4):
        offset["s"] = 61 * (rotation + 2)
        assert client.get("/login/qr/status").get_json()["state"] == "pending"
    offset["s"] = 61 * 6 + 1
    assert client.get("/login/qr/status").get_json()["state"] == "expired"
    page = client.get("/login/qr").get_data(as_text=True)
    assert "دریافت کد جدید" in page and 'id="qr-expired"' in page


def test_a_scan_within_the_grace_is_accepted(app, client, phone, monkeypatch):
    """Case 44: exp + 3 s still scans."""
    url = start_qr(client)
    real = time.time
    monkeypatch.setattr(qrlogin.time, "time", lambda: real() + 63)
    assert phone.scan(url)[0] == 200


def test_the_ticket_is_redeemed_once(app, client, phone):
    """Cases 19, 47: two tabs of the same browser: one login."""
    url = start_qr(client)
    page = client.get("/login/qr")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    journey = urlsplit(page.request.url).query
    phone.approve(url)
    first = client.post(f"/login/qr/complete?{journey}", data={"csrf_token": token})
    assert first.status_code == 302 and "/login/consent" in first.headers["Location"]
    # The same journey's page again (another tab): the journey has moved on, no second login.
    second = client.post(f"/login/qr/complete?{journey}", data={"csrf_token": token})
    assert second.status_code in (302, 409, 410)
    assert "/login/consent" not in second.headers.get("Location", "/login/consent?") or \
        second.status_code == 302
    assert len(audit(app, "qr.redeemed")) == 1


def test_cross_origin_start_is_refused(app, client):
    """Case 33."""
    page = client.get(authorize_url(), follow_redirects=True).get_data(as_text=True)
    form = next(f for f in read_forms(page) if f["action"].startswith("/login/qr/start"))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(form["action"], data=form["fields"], headers=headers)
        assert response.status_code == 403
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_disabled_qr_has_no_tab_and_its_endpoints_404(app, client, phone):
    app.extensions["idp"].settings.qr.enabled = False
    page = client.get(authorize_url(), follow_redirects=True).get_data(as_text=True)
    assert "/login/qr/start" not in page
    assert phone.scan("x")[0] == 404
    assert phone.post_approval("a.b.c")[0] == 404
    assert client.get("/login/qr").status_code in (302, 404)


def test_the_stream_tells_the_approval_even_when_it_came_first(app, client, phone):
    """Cases 12 (one instance), 13, 36: subscribe first, then read; no identity in events."""
    url = start_qr(client)
    stream = client.get("/login/qr/events", buffered=False)
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-store"
    chunks = iter(stream.response)
    assert next(chunks).decode().startswith("retry: 2000")
    assert '"state": "pending"' in next(chunks).decode()
    phone.approve(url)
    rest = b"".join(chunks).decode()
    assert '"state": "approved"' in rest
    assert phone.sub not in rest and phone.token not in rest
    stream.close()
    # A stream opened after the approval starts with it (case 13).
    again = client.get("/login/qr/events").get_data(as_text=True)
    assert '"state": "approved"' in again


def test_audit_rows_and_logs_hold_no_code_token_or_signature(app, client, phone, caplog):
    """Case 38."""
    caplog.set_level("INFO")
    url = start_qr(client)
    phone.approve(url)
    client.get("/login/qr")
    with app.app_context():
        rows = app.extensions["idp"].db.session.query(AuditEvent).all()
        text = " ".join(json.dumps(r.detail, ensure_ascii=False) for r in rows) + caplog.text
    assert qid_of(url) not in text and phone.token not in text
    assert client.get_cookie("idp_qrb") is None or client.get_cookie("idp_qrb").value not in text


def test_redis_down_at_start_and_at_approve(app, client, phone, monkeypatch):
    """Case 39: start → 503 with the OTP hint; approve → 503 and nothing half-written."""
    store = app.extensions["idp"].store
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    good = phone.approval(qid_of(url))
    page = client.get("/login/qr").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    monkeypatch.setattr(store, "redis", dead_redis())
    status, body = phone.post_approval(good)
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    start = client.post("/login/qr/start", data={"csrf_token": token})
    assert start.status_code == 503
    monkeypatch.undo()
    assert phone.post_approval(good) == (200, {"status": "approved"})


def test_approve_and_deny_race_one_wins(app, client, phone):
    """Case 46: the decision is one SET NX."""
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    yes, no = phone.approval(qid_of(url)), phone.approval(qid_of(url), dec="deny")
    results = [phone.post_approval(no)[0], phone.post_approval(yes)[0]]
    assert results == [200, 400]
    assert client.get("/login/qr/status").get_json()["state"] == "denied"


@pytest.mark.ratelimit
def test_unknown_codes_block_the_device_by_the_sixth(app, phone):
    """Case 31: enumeration trips the per-device limit."""
    statuses = [phone.scan("http://localhost/q/1/" + secrets.token_urlsafe(16))[0]
                for _ in range(6)]
    assert statuses == [404] * 5 + [429]
    assert audit(app, "qr.ratelimit.hit")


@pytest.mark.ratelimit
def test_a_flood_of_new_codes_from_one_address_is_limited(app, client):
    """Case 32: /login/qr/start, 10 per minute per address."""
    page = client.get(authorize_url(), follow_redirects=True).get_data(as_text=True)
    form = next(f for f in read_forms(page) if f["action"].startswith("/login/qr/start"))
    statuses = [client.post(form["action"], data=form["fields"]).status_code for _ in range(11)]
    assert statuses[:10] == [302] * 10 and statuses[10] == 429


@pytest.mark.ratelimit
def test_three_denials_cool_the_citizen_down(app, client, phone):
    """design §2.10: three denials in ten minutes, then scans wait."""
    for _ in range(3):
        phone.approve(start_qr(client), dec="deny")
    status, body = phone.scan(start_qr(client))
    assert (status, body["error"]) == (429, "slow_down")


def test_the_postal_code_step_follows_when_the_registry_changed(app, client, phone):
    """The journey goes on with the steps still needed (issue 7)."""
    with app.app_context():
        db = app.extensions["idp"].db.session
        account = db.get(Device, phone.device_id).account_id
        db.execute(update(Account).where(Account.id == account)
                   .values(reviewed_registry_postal_code="1111111111"))
        db.commit()
    seen = []
    walk = login(client, app, authorize_url(), qr=lambda code: (seen.append(code),
                                                               phone.approve(code)))
    assert redirect_params(walk)["code"] and seen
    assert audit(app, "postal.confirmed")


def test_prompt_login_and_max_age_are_met_by_a_fresh_approval(app, client, phone):
    """Case 16: a session exists, prompt=login asks again; the QR approval is fresh."""
    redirect_params(walk_qr(client, app, phone, authorize_url()))
    verifier, challenge = pkce()
    url = authorize_url(prompt="login", max_age="0", code_challenge=challenge,
                        code_challenge_method="S256")
    before = int(time.time())
    params = redirect_params(walk_qr(client, app, phone, url))
    claims = verify_id_token(client, exchange(client, params["code"],
                                              verifier=verifier).get_json()["id_token"])
    assert claims["auth_time"] >= before and claims["amr"] == ["swk"]


def test_the_account_page_lists_and_revokes_devices_after_a_qr_login(app, client, phone):
    """The «دستگاه‌ها» tab; logging in to the provider itself by QR (no relying party)."""
    welcome = client.get("/account").get_data(as_text=True)
    form = next(f for f in read_forms(welcome) if f["action"] == "/account")
    started = client.post("/account", data=form["fields"])
    landed = login(client, app, started.headers["Location"],
                   qr=lambda code: phone.approve(code))
    assert landed.status_code == 200 and "/account" in landed.request.path
    page = client.get("/account/devices")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "گوشی آزمایشی" in html and "دستگاه‌ها" in html
    revoke = next(f for f in read_forms(html) if "/revoke" in f["action"])
    assert client.post(revoke["action"], data=revoke["fields"]).status_code == 302
    assert "گوشی آزمایشی" not in client.get("/account/devices").get_data(as_text=True)
    assert phone.http("GET", "/api/devices", None, phone.token)[0] == 401
    assert [e.detail["by"] for e in audit(app, "device.revoked")] == ["citizen"]


def test_two_tabs_of_one_browser_have_flows_of_their_own(app, client, phone):
    """Case 14: one binding cookie for the browser, one flow per pending login."""
    first = start_qr(client)
    with client.session_transaction() as session:
        first_journey = session["journeys"][-1]
    second = start_qr(client)
    assert first != second
    phone.approve(second)
    assert client.get(f"/login/qr/status?j={first_journey}").get_json()["state"] == "pending"
    assert client.get("/login/qr/status").get_json()["state"] == "approved"


def test_one_stream_per_flow_the_newest_wins(app, client):
    """Cases 40, 41 and §2.10: a reloaded page's stream takes over; the older one ends."""
    start_qr(client)
    first = client.get("/login/qr/events", buffered=False)
    chunks = iter(first.response)
    next(chunks), next(chunks)
    seen, opened, done = [], threading.Event(), threading.Event()

    def reload_the_page() -> None:
        # Another thread: each stream's request context is its own (as on a server).
        second = client.get("/login/qr/events", buffered=False)
        later = iter(second.response)
        seen.extend([second.status_code, next(later), next(later)])
        opened.set()
        done.wait(timeout=30)
        second.close()

    thread = threading.Thread(target=reload_the_page)
    thread.start()
    assert opened.wait(timeout=30)
    assert seen[0] == 200 and seen[1].startswith(b"retry:") and b'"pending"' in seen[2]
    assert b"".join(chunks) == b""  # the first stream ended without another event
    first.close()
    done.set()
    thread.join(timeout=30)
    assert app.extensions["idp"].store.get(f"qrstream:{_flow_id(client)}") is None


def _flow_id(browser) -> str:
    with browser.session_transaction() as session:
        journey = session["journeys"][-1]
    return browser.application.extensions["idp"].store.get(f"journey:{journey}")["qr_flow"]


def test_the_stream_ends_with_the_flow(app, client, monkeypatch):
    """Case 42: at the pending login's end the stream says expired and closes."""
    start_qr(client)
    stream = client.get("/login/qr/events", buffered=False)
    chunks = iter(stream.response)
    next(chunks), next(chunks)
    real = time.time
    monkeypatch.setattr(qrlogin.time, "time", lambda: real() + 599)
    rest = b"".join(chunks).decode()
    assert '"state": "expired"' in rest


def test_clock_skew_of_the_phone(app, client, phone):
    """Case 43: +50 s is accepted, +5 min is refused with a reason the app can show."""
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    now = int(time.time())
    approve_by = phone.scans[qid_of(url)]["approve_by"]
    status, body = phone.post_approval(phone.approval(qid_of(url), iat=now + 300,
                                                      exp=now + 310))
    assert status == 400 and "clock" in body["error_description"]
    assert phone.post_approval(phone.approval(qid_of(url), iat=now + 50,
                                              exp=approve_by))[0] == 200


def test_an_approval_after_the_window_is_refused_and_the_browser_told(app, client, phone,
                                                                       monkeypatch):
    """Case 45."""
    url = start_qr(client)
    assert phone.scan(url)[0] == 200
    late = phone.approval(qid_of(url))
    real = time.time
    monkeypatch.setattr(qrlogin.time, "time", lambda: real() + 61)
    assert client.get("/login/qr/status").get_json()["state"] == "expired"
    status, body = phone.post_approval(late)
    assert (status, body["error"]) == (400, "invalid_approval")


def test_the_pending_login_ending_ends_the_flow(app, client, phone, monkeypatch):
    """Case 48: /complete after the journey's end is the expired page, which restarts."""
    url = start_qr(client)
    phone.approve(url)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 601)
    page = client.get("/login/qr")
    assert page.status_code == 410


def test_the_production_server_sends_streams_elsewhere(app, settings):
    """Case 49: under granian (few threads) the stream endpoint answers 503 at once."""
    from idp import production

    served = production._load_app(settings, "idp.wsgi:app")
    served.config["TESTING"] = True
    browser = served.test_client()
    start_qr(browser)
    assert browser.get("/login/qr/events").status_code == 503
    assert browser.get("/login/qr/status").status_code == 200
    served.extensions["idp"].db.engine.dispose()


def test_a_forwarded_for_header_does_not_move_the_phone(app, client, phone):
    """Case 37: without a trusted proxy, X-Forwarded-For is ignored for proximity."""
    url = start_qr(client)
    response = app.test_client().post(
        "/api/qr/scan", json={"qid": qid_of(url), "device_id": phone.device_id},
        headers={"Authorization": f"Bearer {phone.token}", "X-Forwarded-For": "203.0.113.9"})
    blob = response.get_json()["ctx_blob"]
    context = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    assert context["proximity"] == "same-network"
    assert context["client_name"] == "سامانه آزمایشی" and context["nm_required"] is False
    assert {"client_name", "browser", "created_at"} <= set(context)


def test_a_qr_login_sends_the_citizen_a_notice(app, client, phone):
    """design §2.8: the post-login notice, with where to revoke."""
    redirect_params(walk_qr(client, app, phone, authorize_url()))
    settings = app.extensions["idp"].settings
    lines = settings.path(settings.sms.outbox_path).read_text(encoding="utf-8").splitlines()
    notices = [json.loads(line) for line in lines if '"qr_login_notice"' in line]
    assert notices and "سامانه آزمایشی" in notices[-1]["text"]
    assert "/account/devices" in notices[-1]["text"] and notices[-1]["code"] is None

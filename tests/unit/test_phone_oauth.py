"""The pairing login's checks as a client (PKCE S256, state, RFC 9207 iss, the ID token, the
granted scopes), against a minimal authorization server that can be made to misbehave."""

import base64
import hashlib
import json
import time
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import jsonify, redirect, request
from live import free_port, serve
from phone_double import PhoneApiDouble

from clients.phone.app import DEFAULT_SCOPE, Phone
from clients.phone.messages import Exit, PhoneError

SUB = "citizen-7"


def _key(kid: str):
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return key, {**public, "kid": kid, "alg": "ES256", "use": "sig"}


@pytest.fixture
def server():
    """``(issuer, double, tweaks)``: set a key of ``tweaks`` to change one answer."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    double = PhoneApiDouble(issuer)
    app = double.app()
    signing, public = _key("k1")
    stranger, _ = _key("k1")
    tweaks: dict = {}
    pending: dict = {}

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify({"issuer": tweaks.get("discovery_issuer", issuer),
                        "authorization_endpoint": f"{issuer}/authorize",
                        "token_endpoint": f"{issuer}/oauth/token",
                        "jwks_uri": f"{issuer}/jwks",
                        "authorization_response_iss_parameter_supported": True})

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [public]})

    @app.get("/authorize")
    def authorize():
        args = request.args
        assert args["code_challenge_method"] == "S256" and args["response_type"] == "code"
        pending["code"] = {"challenge": args["code_challenge"], "nonce": args["nonce"],
                           "client_id": args["client_id"], "scope": args["scope"],
                           "redirect_uri": args["redirect_uri"]}
        answer = {"code": "code", "state": tweaks.get("state", args["state"]),
                  "iss": tweaks.get("iss", issuer)}
        return redirect(args["redirect_uri"] + "?" + urlencode(
            {k: v for k, v in answer.items() if v is not None}))

    @app.post("/oauth/token")
    def token():
        grant = pending.pop(request.form["code"], None)
        verifier = request.form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if grant is None or digest.rstrip(b"=").decode() != grant["challenge"] or \
                request.form["redirect_uri"] != grant["redirect_uri"]:
            return jsonify({"error": "invalid_grant"}), 400
        scope = tweaks.get("scope", grant["scope"])
        access = double.token_for(SUB, scope)
        now = int(time.time())
        claims = {"iss": issuer, "sub": SUB, "aud": grant["client_id"], "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"], **tweaks.get("claims", {})}
        id_token = jwt.encode(claims, stranger if tweaks.get("forged") else signing,
                              algorithm="ES256", headers={"kid": "k1"})
        return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                        "refresh_token": double.refresh_token_for(access), "scope": scope,
                        "id_token": id_token})

    with serve(app, port):
        yield issuer, double, tweaks


def _pair(issuer, tmp_path):
    return Phone(tmp_path / "state.json").pair(issuer, "phone-app", display_name="گوشی")


def test_a_well_behaved_provider_pairs(server, tmp_path):
    issuer, double, _ = server
    device = _pair(issuer, tmp_path)
    assert double.devices[device.device_id]["sub"] == SUB
    state = Phone(tmp_path / "state.json").state
    assert state.sub == SUB and state.tokens.scope == DEFAULT_SCOPE


@pytest.mark.parametrize(("tweak", "key"), [
    ({"state": "someone-elses"}, "login.state_mismatch"),
    ({"iss": "http://evil.example"}, "login.iss_mismatch"),
    ({"iss": None}, "login.iss_mismatch"),
    ({"claims": {"nonce": "replayed"}}, "login.bad_id_token"),
    ({"claims": {"aud": "another-client"}}, "login.bad_id_token"),
    ({"claims": {"iss": "http://evil.example"}}, "login.bad_id_token"),
    ({"claims": {"exp": 1_000_000_000}}, "login.bad_id_token"),
    ({"forged": True}, "login.bad_id_token"),
])
def test_a_login_answer_that_fails_a_check_pairs_nothing(server, tmp_path, tweak, key):
    issuer, double, tweaks = server
    tweaks.update(tweak)
    with pytest.raises(PhoneError) as caught:
        _pair(issuer, tmp_path)
    assert caught.value.key == key and caught.value.exit_code == Exit.LOGIN_FAILED
    assert not double.devices and not (tmp_path / "state.json").exists()


def test_a_login_without_the_phone_scopes_keeps_the_tokens_only(server, tmp_path):
    issuer, double, tweaks = server
    tweaks["scope"] = "openid device:register"
    with pytest.raises(PhoneError) as caught:
        _pair(issuer, tmp_path)
    assert caught.value.key == "login.scope_missing" and "qr:approve" in str(caught.value)
    assert not double.devices
    assert Phone(tmp_path / "state.json").state.device is None


def test_a_provider_naming_another_issuer_is_not_trusted(server, tmp_path):
    issuer, _, tweaks = server
    tweaks["discovery_issuer"] = "http://127.0.0.1:1"
    with pytest.raises(PhoneError) as caught:
        _pair(issuer, tmp_path)
    assert caught.value.key == "net.issuer_mismatch" and caught.value.exit_code == Exit.NETWORK


def test_a_sixth_device_is_refused_and_the_login_can_unpair_another(server, tmp_path):
    issuer, double, _ = server
    others = [double.add_device(SUB) for _ in range(5)]
    phone = Phone(tmp_path / "state.json")
    with pytest.raises(PhoneError) as caught:
        phone.pair(issuer, "phone-app")
    assert caught.value.error == "too_many_devices" and caught.value.exit_code == Exit.REFUSED
    assert phone.unpair(others[0]) is False
    assert len(phone.devices()) == 4
    # The same login then registers this device (`idp-phone pair` would log in again).
    device = phone.register_device("گوشی", "ios")
    assert len(phone.devices()) == 5 and phone.state.device == device

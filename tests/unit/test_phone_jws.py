"""The phone app's signatures, checked with PyJWT (not joserfc, which the app signs with): the
device proof and the QR approval carry exactly the headers and claims issue 7 writes."""

import base64
import hashlib
import json
import time

import jwt
import pytest
from live import free_port, serve
from phone_double import PhoneApiDouble, paired_phone, thumbprint

from clients.phone.app import Scan
from clients.phone.messages import Exit, PhoneError


@pytest.fixture
def double():
    port = free_port()
    double = PhoneApiDouble(f"http://127.0.0.1:{port}")
    with serve(double.app(), port):
        yield double


@pytest.fixture
def phone(double, tmp_path):
    return paired_phone(double, tmp_path / "state.json")


def test_device_proof_is_exactly_the_interface(double, phone):
    (header, payload), = double.proofs
    assert header == {"alg": "ES256", "typ": "device-proof+jwt"}
    device = phone.state.device
    public = next(iter(double.devices.values()))["jwk"]
    assert set(public) == {"kty", "crv", "x", "y"} and public["crv"] == "P-256"
    assert "d" not in public
    assert payload["jkt"] == thumbprint(public) == device.kid
    assert payload["aud"] == f"{double.issuer}/api/devices"
    assert set(payload) == {"nonce", "jkt", "iat", "aud"}
    assert abs(payload["iat"] - time.time()) < 10
    assert not double.nonces  # the nonce was used up
    registered = next(iter(double.devices.values()))
    assert registered["attestation"] == {"fmt": "none"} and registered["platform"] == "cli"


def _scan(double, phone, **context) -> Scan:
    return phone.scan(phone.read_code(f"{double.issuer}/q/1/{double.new_qr(**context)}"))


def test_approval_is_exactly_the_interface(double, phone):
    scan = _scan(double, phone, client_name="سامانه تامین اجتماعی")
    token = phone.approval(scan, "approve")
    device = phone.state.device
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "typ": "qr-approval+jwt", "kid": device.kid}
    public = jwt.PyJWK(next(iter(double.devices.values()))["jwk"]).key
    claims = jwt.decode(token, public, algorithms=["ES256"],
                        audience=f"{double.issuer}/login/qr")
    assert set(claims) == {"iss", "sub", "aud", "qid", "chal", "ctx", "dec", "iat", "exp",
                           "jti"}
    assert claims["iss"] == device.device_id and claims["sub"] == "citizen-1"
    assert claims["qid"] == scan.qid and claims["chal"] == scan.chal
    assert claims["dec"] == "approve"
    assert 0 < claims["exp"] - claims["iat"] <= 60 and claims["exp"] <= scan.approve_by
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) == 16
    # The hash of the exact bytes the provider sent (Persian, not re-serialised): case 51.
    qr = double.qrs[scan.qid]
    assert claims["ctx"] == base64.urlsafe_b64encode(
        hashlib.sha256(qr.ctx_blob).digest()).rstrip(b"=").decode()
    assert scan.ctx_blob == qr.ctx_blob and scan.context["client_name"] == "سامانه تامین اجتماعی"
    assert phone.decide(scan, approve=True) == "approved"


def test_each_approval_has_its_own_jti(double, phone):
    scan = _scan(double, phone)
    first, second = (jwt.decode(phone.approval(scan, "deny"), options={"verify_signature": False})
                     for _ in range(2))
    assert first["jti"] != second["jti"] and first["dec"] == "deny"


def test_deny_is_signed_and_sent(double, phone):
    scan = _scan(double, phone)
    assert phone.decide(scan, approve=False) == "denied"
    assert double.approvals[-1][1]["dec"] == "deny"


def test_expiry_never_passes_approve_by(double, phone):
    scan = _scan(double, phone)
    now = scan.approve_by - 10
    claims = jwt.decode(phone.approval(scan, "approve", now=now),
                        options={"verify_signature": False})
    assert claims["iat"] == now and claims["exp"] == scan.approve_by


def test_too_late_to_decide_signs_nothing(double, phone):
    scan = _scan(double, phone)
    with pytest.raises(PhoneError) as caught:
        phone.approval(scan, "approve", now=scan.approve_by)
    assert caught.value.exit_code == Exit.EXPIRED


def test_a_tampered_approval_is_refused_and_the_right_one_still_works(double, phone):
    scan = _scan(double, phone)
    forged = Scan(scan.qid, scan.chal, scan.ctx_blob + b" ", scan.context, scan.approve_by)
    with pytest.raises(PhoneError) as caught:
        phone.decide(forged, approve=True)
    assert caught.value.error == "invalid_approval" and "ctx" in caught.value.description
    assert caught.value.exit_code == Exit.REFUSED
    assert phone.decide(scan, approve=True) == "approved"


def test_the_private_key_is_kept_only_in_the_state_file(double, phone, tmp_path):
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["device"]["private_jwk"]["d"]
    assert "d" not in next(iter(double.devices.values()))["jwk"]

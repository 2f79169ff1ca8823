"""The QR login's pure rules: the code's size, the context's bytes, browser and proximity."""

import base64
import hashlib
import json

import pytest
import segno

from idp.devices import qrlogin
from idp.devices.signatures import SignatureRefused, import_public_key


def test_the_code_for_a_national_issuer_fits_version_4_at_level_m():
    """design §4 case 4: ``https://my.gov.ir/q/1/<22>`` is version ≤ 4 at error level M."""
    url = "https://my.gov.ir/q/1/" + "A" * 22
    assert segno.make(url, error="m", micro=False, boost_error=False).version <= 4


def test_the_context_is_hashed_as_the_exact_bytes_shown():
    """Case 51: Persian text, no re-serialisation: the hash is of the decoded blob."""
    flow = qrlogin.Flow(id="f", journey_id="j", bind_h="h", client_id="c",
                        client_name="سامانه حساب شهروندی", ip="10.0.0.1",
                        ua="Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36",
                        created=1_700_000_000, qid="q", qid_exp=0, rotations=0, ends=0)
    blob = qrlogin.context_blob(flow, "same-network", "urn:idp:loa:2")
    raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    context = json.loads(raw.decode("utf-8"))
    assert context["client_name"] == "سامانه حساب شهروندی"
    assert context["browser"] == "Chrome / Windows" and context["created_at"] == 1_700_000_000
    assert "سامانه".encode() in raw  # UTF-8, not \\u escapes
    assert qrlogin.b64url(hashlib.sha256(raw).digest()) == qrlogin.b64url(
        hashlib.sha256(qrlogin.b64url_decode(blob)).digest())


def test_proximity_is_the_same_network_or_unknown():
    """design §2.8 and case 50: no GeoIP database, so never a guess at the country."""
    assert qrlogin.proximity("192.0.2.10", "192.0.2.200") == "same-network"
    assert qrlogin.proximity("192.0.2.10", "198.51.100.1") == "unknown"
    assert qrlogin.proximity("2001:db8::1", "2001:db8:0:ff::2") == "same-network"
    assert qrlogin.proximity("192.0.2.10", None) == "unknown"
    assert qrlogin.proximity("not an ip", "192.0.2.1") == "unknown"


def test_browsers_are_named_for_the_citizen():
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64) Chrome/120.0 Safari/537.36 Edg/120.0"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
    assert qrlogin.describe_browser(edge) == "Edge / Windows"
    assert qrlogin.describe_browser(iphone) == "Safari / iOS"
    assert qrlogin.describe_browser("") == "unknown"


def test_qids_are_22_base64url_characters():
    assert qrlogin.QID.match("A" * 22) and not qrlogin.QID.match("A" * 23)
    assert not qrlogin.QID.match("A" * 21 + "=") and not qrlogin.QID.match("۱" * 22)


def test_only_ec_p256_public_keys_are_device_keys():
    for bad in ({"kty": "RSA", "n": "x", "e": "AQAB"}, {"kty": "EC", "crv": "P-384"},
                {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "not a key", None):
        with pytest.raises(SignatureRefused) as refused:
            import_public_key(bad)
        assert refused.value.reason == "key"

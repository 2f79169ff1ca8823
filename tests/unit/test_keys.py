"""Signing keys: created once, private files 0600, rotation keeps old keys published."""

import stat
import time

from idp.keys import KeyRing


def test_first_start_creates_one_key_per_algorithm(tmp_path):
    ring = KeyRing(tmp_path, retention_seconds=600)
    ring.ensure()
    algs = sorted(k["alg"] for k in ring.public_jwks()["keys"])
    assert algs == ["ES256", "RS256"]
    for path in tmp_path.glob("*.jwk.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all("d" not in key for key in ring.public_jwks()["keys"])
    ring.ensure()
    assert len(list(tmp_path.glob("*.jwk.json"))) == 2


def test_rotation_keeps_retired_keys_until_their_tokens_expire(tmp_path):
    ring = KeyRing(tmp_path, retention_seconds=600)
    ring.ensure()
    old = ring.signing_kid("RS256")
    new = dict(zip(("RS256", "ES256"), ring.rotate(), strict=True))
    assert new["RS256"] != old
    assert ring.signing_kid("RS256") == new["RS256"]
    published = {k["kid"] for k in ring.public_jwks()["keys"]}
    assert old in published and new["RS256"] in published
    statuses = {k["kid"]: k["status"] for k in ring.describe()}
    assert statuses[old] == "retired"


def test_retired_keys_leave_after_retention(tmp_path):
    ring = KeyRing(tmp_path, retention_seconds=0)
    ring.ensure()
    old = ring.signing_kid("RS256")
    time.sleep(1.1)
    ring.rotate()
    time.sleep(1.1)
    ring.rotate()
    assert old not in {k["kid"] for k in ring.public_jwks()["keys"]}


def test_another_process_rotation_is_seen(tmp_path):
    first = KeyRing(tmp_path, retention_seconds=600)
    first.ensure()
    second = KeyRing(tmp_path, retention_seconds=600)
    second.ensure()
    second.rotate()
    first.reload(force=True)
    assert first.signing_kid("RS256") == second.signing_kid("RS256")

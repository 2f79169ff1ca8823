"""Signing keys: created once, private files 0600, a rotation publishes a next key ahead of
signing with it, and a retired key stays published until its tokens have expired."""

import json
import stat

import pytest
from joserfc.jwk import ECKey, RSAKey

from idp.keys import MIN_PUBLISH_AHEAD_SECONDS, KeyRing


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ring_at(folder, clock, retention_seconds=600, publish_ahead_seconds=600) -> KeyRing:
    return KeyRing(folder, retention_seconds=retention_seconds,
                   publish_ahead_seconds=publish_ahead_seconds, clock=clock)


def published(ring: KeyRing) -> set[str]:
    return {k["kid"] for k in ring.public_jwks()["keys"]}


def test_first_start_creates_one_key_per_algorithm(tmp_path):
    ring = ring_at(tmp_path, Clock())
    ring.ensure()
    algs = sorted(k["alg"] for k in ring.public_jwks()["keys"])
    assert algs == ["ES256", "RS256"]
    for path in tmp_path.glob("*.jwk.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all("d" not in key for key in ring.public_jwks()["keys"])
    assert {k["status"] for k in ring.describe()} == {"current"}
    ring.ensure()
    assert len(list(tmp_path.glob("*.jwk.json"))) == 2


def test_rotation_publishes_a_next_key_before_it_signs(tmp_path):
    clock = Clock()
    ring = ring_at(tmp_path, clock)
    ring.ensure()
    old = ring.signing_kid("RS256")
    upcoming = {k["alg"]: k for k in ring.rotate()}
    new = upcoming["RS256"]["kid"]
    assert new != old and upcoming["RS256"]["activates_at"] == clock.now + 600
    assert {old, new} <= published(ring)
    assert ring.signing_kid("RS256") == old
    assert {k["kid"]: k["status"] for k in ring.describe()}[new] == "next"
    clock.advance(599)
    assert ring.signing_kid("RS256") == old
    clock.advance(1)
    assert ring.signing_kid("RS256") == new
    assert ring.signing_kid("ES256") == upcoming["ES256"]["kid"]
    statuses = {k["kid"]: k for k in ring.describe()}
    assert statuses[old]["status"] == "retired" and statuses[old]["retired_at"] == clock.now


def test_rotating_again_keeps_the_waiting_key(tmp_path):
    clock = Clock()
    ring = ring_at(tmp_path, clock)
    ring.ensure()
    first = ring.rotate()
    clock.advance(100)
    assert ring.rotate() == first
    assert len(list(tmp_path.glob("*.jwk.json"))) == 4


def test_retired_keys_stay_published_until_their_tokens_expire(tmp_path):
    clock = Clock()
    ring = ring_at(tmp_path, clock, retention_seconds=900)
    ring.ensure()
    old = ring.signing_kid("RS256")
    ring.rotate()
    clock.advance(600)  # the next key signs; the old one retires now
    assert ring.signing_kid("RS256") != old
    version = ring.version
    clock.advance(900)
    assert old in published(ring)
    clock.advance(1)
    assert old not in published(ring)
    assert ring.version > version  # the JWKS bytes are rebuilt
    ring.rotate()
    assert not list(tmp_path.glob(f"*-{old}.jwk.json"))  # its file goes at the next rotation


def test_every_instance_picks_the_same_signer_whenever_it_read_the_folder(tmp_path):
    clock = Clock()
    operator = ring_at(tmp_path, clock)
    operator.ensure()
    early, late = ring_at(tmp_path, clock), ring_at(tmp_path, clock)
    early.ensure()
    upcoming = {k["alg"]: k["kid"] for k in operator.rotate()}
    early.reload(force=True)  # reads the next key at once; `late` only after activation
    clock.advance(600)
    late.ensure()
    for alg, kid in upcoming.items():
        assert early.signing_kid(alg) == late.signing_kid(alg) == operator.signing_kid(alg) == kid


def test_files_written_before_next_keys_sign_from_creation(tmp_path):
    clock = Clock()
    ring = ring_at(tmp_path, clock)
    ring.ensure()
    for path in tmp_path.glob("*.jwk.json"):
        data = json.loads(path.read_text())
        del data["activates_at"]
        data["retired_at"] = None
        path.write_text(json.dumps(data))
    again = ring_at(tmp_path, clock)
    again.ensure()
    assert again.signing_kid("RS256") == ring.signing_kid("RS256")


def counted_imports(monkeypatch) -> list[str]:
    """The kids of the keys imported from now on (RSA and EC)."""
    imported: list[str] = []
    for kind in (RSAKey, ECKey):
        def counted(value, *args, _import=kind.import_key, **kwargs):
            imported.append(value["kid"])
            return _import(value, *args, **kwargs)
        monkeypatch.setattr(kind, "import_key", counted)
    return imported


def test_a_reread_imports_only_the_files_that_changed(tmp_path, monkeypatch):
    clock = Clock()
    ring = ring_at(tmp_path, clock)
    ring.ensure()
    imported = counted_imports(monkeypatch)
    ring.reload(force=True)
    ring_at(tmp_path, clock).ensure()  # another instance on the same folder
    assert imported == []

    upcoming = {k["kid"] for k in ring.rotate()}
    assert set(imported) == upcoming and len(imported) == 2  # only the new files
    imported.clear()
    path = next(tmp_path.glob("*-ES256-*.jwk.json"))
    data = json.loads(path.read_text())
    data["activates_at"] += 1
    path.write_text(json.dumps(data))
    ring.reload(force=True)
    assert imported == [data["jwk"]["kid"]]
    assert next(k for k in ring.describe() if k["kid"] == data["jwk"]["kid"])[
        "activates_at"] == data["activates_at"]


def test_publish_ahead_shorter_than_the_jwks_cache_is_refused(tmp_path):
    with pytest.raises(ValueError, match="publish_ahead_seconds"):
        ring_at(tmp_path, Clock(), publish_ahead_seconds=MIN_PUBLISH_AHEAD_SECONDS - 1)

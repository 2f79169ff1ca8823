"""The provider's signing keys: created on first start, rotated by ``idp keys rotate``.

Each key is a private JWK in its own file (mode 0600) with when it was created and retired.
The current key of each algorithm signs; a retired key stays in the published JWKS until every
token signed with it has expired. Keys are imported once and handed to Authlib as a KeySet:
handing it a dict makes it re-import the RSA key for every token (SPEC §6).
"""

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.settings import Settings

ALGORITHMS = ("RS256", "ES256")
# How often a running instance looks at the key folder for a rotation made elsewhere.
RELOAD_SECONDS = 30


@dataclass(frozen=True)
class StoredKey:
    kid: str
    alg: str
    created_at: int
    retired_at: int | None
    key: RSAKey | ECKey


def _generate(alg: str) -> RSAKey | ECKey:
    parameters = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)
    return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)


def _write_private(path: Path, data: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


class KeyRing:
    """Loads, creates, rotates and publishes the signing keys in one folder."""

    def __init__(self, folder: Path, retention_seconds: int) -> None:
        self.folder = folder
        self.retention_seconds = retention_seconds
        self._loaded_mtime = -1.0
        self._checked_at = 0.0
        self._keys: list[StoredKey] = []
        self._signing: dict[str, KeySet] = {}
        self._published: KeySet = KeySet([])
        self._public_jwks: dict = {"keys": []}
        # Goes up each time the published keys are re-read, so that what is built from them
        # (the JWKS response's bytes) is rebuilt once per change, not per request.
        self.version = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "KeyRing":
        """The key folder ``[keys] path``; a retired key stays published as long as a token
        it signed may live."""
        return cls(settings.path(settings.keys.path),
                   retention_seconds=max(settings.tokens.access_token_seconds,
                                         settings.tokens.id_token_seconds))

    # -- files ---------------------------------------------------------------------------
    def _lock(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / ".lock", "w")  # noqa: SIM115 - held until released
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _read_all(self) -> list[StoredKey]:
        keys = []
        for path in sorted(self.folder.glob("*.jwk.json")):
            data = json.loads(path.read_text())
            jwk = data["jwk"]
            key = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
            keys.append(StoredKey(kid=jwk["kid"], alg=jwk["alg"], created_at=data["created_at"],
                                  retired_at=data.get("retired_at"), key=key))
        return sorted(keys, key=lambda k: k.created_at)

    def _add_key(self, alg: str, now: int) -> None:
        key = _generate(alg)
        data = {"jwk": key.as_dict(private=True), "created_at": now, "retired_at": None}
        _write_private(self.folder / f"{now}-{alg}-{key.kid}.jwk.json", data)

    def _retire(self, stored: StoredKey, now: int) -> None:
        for path in self.folder.glob(f"*-{stored.alg}-{stored.kid}.jwk.json"):
            data = json.loads(path.read_text())
            data["retired_at"] = now
            tmp = path.with_suffix(".tmp")
            _write_private(tmp, data)
            os.replace(tmp, path)

    def ensure(self) -> None:
        """Create a key for every algorithm that has none (first start), then load."""
        handle = self._lock()
        try:
            current = {k.alg for k in self._read_all() if k.retired_at is None}
            now = int(time.time())
            for alg in ALGORITHMS:
                if alg not in current:
                    self._add_key(alg, now)
        finally:
            handle.close()
        self.reload(force=True)

    def rotate(self) -> list[str]:
        """Add a new current key for every algorithm; the old ones retire, still published."""
        handle = self._lock()
        try:
            now = int(time.time())
            for stored in self._read_all():
                if stored.retired_at is None:
                    self._retire(stored, now)
            for alg in ALGORITHMS:
                self._add_key(alg, now)
            self._prune(now)
        finally:
            handle.close()
        self.reload(force=True)
        return [self.signing_kid(alg) for alg in ALGORITHMS]

    def _prune(self, now: int) -> None:
        """Delete retired keys whose every token has expired."""
        for stored in self._read_all():
            if stored.retired_at and stored.retired_at + self.retention_seconds < now:
                for path in self.folder.glob(f"*-{stored.alg}-{stored.kid}.jwk.json"):
                    path.unlink()

    # -- in memory -----------------------------------------------------------------------
    def reload(self, force: bool = False) -> None:
        """Re-read the folder if it changed; cheap enough to call on any request."""
        now = time.monotonic()
        if not force and now - self._checked_at < RELOAD_SECONDS:
            return
        self._checked_at = now
        mtime = self.folder.stat().st_mtime
        if not force and mtime == self._loaded_mtime:
            return
        self._loaded_mtime = mtime
        keys = self._read_all()
        wall = int(time.time())
        published = [k for k in keys
                     if k.retired_at is None or k.retired_at + self.retention_seconds >= wall]
        self._keys = published
        self._signing = {}
        for alg in ALGORITHMS:
            current = [k for k in published if k.alg == alg and k.retired_at is None]
            if current:
                self._signing[alg] = KeySet([current[-1].key])
        self._published = KeySet([k.key for k in published])
        self._public_jwks = self._published.as_dict(private=False)
        self.version += 1

    def signing_keys(self, alg: str) -> KeySet:
        """The KeySet holding only the current key of ``alg`` (Authlib writes its ``kid``)."""
        self.reload()
        return self._signing[alg]

    def signing_kid(self, alg: str) -> str:
        return self.signing_keys(alg).keys[0].kid

    def verification_keys(self) -> KeySet:
        """Every published key: tokens signed before a rotation still verify."""
        self.reload()
        return self._published

    def public_jwks(self) -> dict:
        self.reload()
        return self._public_jwks

    def describe(self) -> list[dict]:
        """One line per key for ``idp keys list``."""
        self.reload(force=True)
        return [{"kid": k.kid, "alg": k.alg, "created_at": k.created_at,
                 "retired_at": k.retired_at,
                 "status": "current" if k.retired_at is None else "retired"}
                for k in self._keys]

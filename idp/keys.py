"""The provider's signing keys: created on first start, rotated by ``idp keys rotate``.

Each key is a private JWK in its own file (mode 0600) holding when it was created and when it
begins to sign. Everything else follows from those timestamps and the clock, so every instance
sharing the folder agrees on the signer whenever it happened to re-read the folder:

- a key is published (in the JWKS) from the moment its file exists;
- it signs from its ``activates_at``, which ``idp keys rotate`` puts ``publish_ahead_seconds``
  in the future: longer than any instance takes to see the file plus the JWKS's ``max-age``,
  so no relying party meets a token signed by a key its cached JWKS lacks (a "next" key);
- it retires when the next key of its algorithm activates, and stays published until every
  token it signed has expired; then the next rotation deletes its file.

Keys are imported once and handed to Authlib as a KeySet: handing it a dict makes it re-import
the RSA key for every token (SPEC §6). A file is imported once per content too: importing an
RSA key checks it (tens of milliseconds), so a re-read of the folder imports only what changed.
"""

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.settings import Settings

ALGORITHMS = ("RS256", "ES256")
# How often a running instance looks at the key folder for a rotation made elsewhere.
RELOAD_SECONDS = 30
# How long relying parties (and proxies) may cache the JWKS (its Cache-Control max-age).
JWKS_MAX_AGE_SECONDS = 300
# The shortest publish-ahead that keeps the promise above: every instance has re-read the
# folder (RELOAD_SECONDS) and every cached copy of an older JWKS has expired.
MIN_PUBLISH_AHEAD_SECONDS = RELOAD_SECONDS + JWKS_MAX_AGE_SECONDS


@dataclass(frozen=True)
class StoredKey:
    kid: str
    alg: str
    created_at: int
    activates_at: int
    key: RSAKey | ECKey


@dataclass(frozen=True)
class KeyState:
    """What one moment makes of the stored keys: the signer per algorithm and the published."""

    signing: dict[str, KeySet]
    published: list[StoredKey]
    retired_at: dict[str, int]
    # The span in which the answer holds: it changes at ``valid_until`` without any file
    # changing, and a clock set back before ``valid_from`` asks again.
    valid_from: float
    valid_until: float


def _generate(alg: str) -> RSAKey | ECKey:
    parameters = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)
    return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)


def _write_private(path: Path, data: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


@lru_cache(maxsize=32)
def _parse(text: str) -> StoredKey:
    """One key file's contents, imported once per process: a folder holds at most a current,
    a next and a retired key per algorithm, far fewer than the cache keeps."""
    data = json.loads(text)
    jwk = data["jwk"]
    key = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
    # Files from before "next" keys existed signed from their creation.
    return StoredKey(kid=jwk["kid"], alg=jwk["alg"], created_at=data["created_at"],
                     activates_at=data.get("activates_at", data["created_at"]), key=key)


def key_state(keys: list[StoredKey], now: float, retention_seconds: int) -> KeyState:
    """The signer and the published keys at ``now``, from the keys' own timestamps alone."""
    signing: dict[str, KeySet] = {}
    published: list[StoredKey] = []
    retired_at: dict[str, int] = {}
    boundaries: list[float] = []
    for alg in ALGORITHMS:
        # Ties (two keys activating the same second) are broken by kid, the same everywhere.
        ordered = sorted((k for k in keys if k.alg == alg), key=lambda k: (k.activates_at, k.kid))
        for index, stored in enumerate(ordered):
            successor = next((k for k in ordered[index + 1:]
                              if k.activates_at > stored.activates_at), None)
            if stored.activates_at > now:
                published.append(stored)  # the next key: published, not yet signing
                boundaries.append(stored.activates_at)
                continue
            if successor is None or successor.activates_at > now:
                signing[alg] = KeySet([stored.key])
                published.append(stored)
                continue
            retired_at[stored.kid] = successor.activates_at
            leaves_at = successor.activates_at + retention_seconds
            if leaves_at >= now:
                published.append(stored)
                boundaries.append(leaves_at + 1)
    return KeyState(signing=signing, published=published, retired_at=retired_at,
                    valid_from=now, valid_until=min(boundaries, default=float("inf")))


class KeyRing:
    """Loads, creates, rotates and publishes the signing keys in one folder."""

    def __init__(self, folder: Path, retention_seconds: int,
                 publish_ahead_seconds: int = MIN_PUBLISH_AHEAD_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        if publish_ahead_seconds < MIN_PUBLISH_AHEAD_SECONDS:
            raise ValueError(f"[keys] publish_ahead_seconds must be at least "
                             f"{MIN_PUBLISH_AHEAD_SECONDS} (the folder's re-read interval plus "
                             f"the JWKS max-age)")
        self.folder = folder
        self.retention_seconds = retention_seconds
        self.publish_ahead_seconds = publish_ahead_seconds
        # Wall-clock time: the keys' timestamps are compared across instances. Tests set it.
        self.clock = clock
        self._loaded_mtime = -1.0
        self._checked_at = float("-inf")
        self._keys: list[StoredKey] = []
        self._state = KeyState({}, [], {}, float("inf"), float("-inf"))
        self._published_kids: tuple[str, ...] = ()
        self._published: KeySet = KeySet([])
        self._public_jwks: dict = {"keys": []}
        # Goes up each time the published keys change, so that what is built from them (the
        # JWKS response's bytes) is rebuilt once per change, not per request.
        self.version = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "KeyRing":
        """The key folder ``[keys] path``; a retired key stays published as long as a token
        it signed may live."""
        return cls(settings.path(settings.keys.path),
                   retention_seconds=max(settings.tokens.access_token_seconds,
                                         settings.tokens.id_token_seconds),
                   publish_ahead_seconds=settings.keys.publish_ahead_seconds)

    # -- files ---------------------------------------------------------------------------
    def _lock(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / ".lock", "w")  # noqa: SIM115 - held until released
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _read_all(self) -> list[StoredKey]:
        keys = [_parse(path.read_text()) for path in self.folder.glob("*.jwk.json")]
        return sorted(keys, key=lambda k: (k.activates_at, k.kid))

    def _add_key(self, alg: str, now: int, activates_at: int) -> StoredKey:
        key = _generate(alg)
        data = {"jwk": key.as_dict(private=True), "created_at": now,
                "activates_at": activates_at}
        _write_private(self.folder / f"{now}-{alg}-{key.kid}.jwk.json", data)
        return StoredKey(kid=key.kid, alg=alg, created_at=now, activates_at=activates_at,
                         key=key)

    def ensure(self) -> None:
        """Create a key for every algorithm that has none, then load.

        On an empty folder (first start) the keys sign at once: nobody has a JWKS yet. A key
        for an algorithm added later is published ahead like any rotation.
        """
        handle = self._lock()
        try:
            stored = self._read_all()
            present = {k.alg for k in stored}
            now = int(self.clock())
            activates_at = now + self.publish_ahead_seconds if stored else now
            for alg in ALGORITHMS:
                if alg not in present:
                    self._add_key(alg, now, activates_at)
        finally:
            handle.close()
        self.reload(force=True)

    def rotate(self) -> list[dict]:
        """Publish a next key per algorithm, signing ``publish_ahead_seconds`` from now.

        An algorithm that already has a next key keeps it (rotating twice does not push the
        change further away). Keys whose every token has expired are deleted.
        """
        handle = self._lock()
        try:
            now = int(self.clock())
            stored = self._read_all()
            upcoming = []
            for alg in ALGORITHMS:
                waiting = [k for k in stored if k.alg == alg and k.activates_at > now]
                upcoming.append(waiting[-1] if waiting else
                                self._add_key(alg, now, now + self.publish_ahead_seconds))
            self._prune(stored, now)
        finally:
            handle.close()
        self.reload(force=True)
        return [{"kid": k.kid, "alg": k.alg, "activates_at": k.activates_at} for k in upcoming]

    def _prune(self, stored: list[StoredKey], now: int) -> None:
        """Delete retired keys whose every token has expired."""
        state = key_state(stored, now, self.retention_seconds)
        kept = {k.kid for k in state.published}
        for key in stored:
            if key.kid not in kept:
                for path in self.folder.glob(f"*-{key.alg}-{key.kid}.jwk.json"):
                    path.unlink()

    # -- in memory -----------------------------------------------------------------------
    def reload(self, force: bool = False) -> None:
        """Re-read the folder if it changed (looked at every RELOAD_SECONDS), and work out
        the signer again when the clock passes a key's activation or a retired key's end;
        cheap enough to call on any request."""
        now = self.clock()
        if force or not 0 <= now - self._checked_at < RELOAD_SECONDS:
            self._checked_at = now
            mtime = self.folder.stat().st_mtime
            if force or mtime != self._loaded_mtime:
                self._loaded_mtime = mtime
                self._keys = self._read_all()
                self._state = KeyState({}, [], {}, float("inf"), float("-inf"))
        if not self._state.valid_from <= now < self._state.valid_until:
            self._recompute(now)

    def _recompute(self, now: float) -> None:
        state = key_state(self._keys, now, self.retention_seconds)
        self._state = state
        kids = tuple(k.kid for k in state.published)
        if kids != self._published_kids:
            self._published_kids = kids
            self._published = KeySet([k.key for k in state.published])
            self._public_jwks = self._published.as_dict(private=False)
            self.version += 1

    def signing_keys(self, alg: str) -> KeySet:
        """The KeySet holding only the current key of ``alg`` (Authlib writes its ``kid``)."""
        self.reload()
        return self._state.signing[alg]

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
        """One line per published key for ``idp keys list``: next, current or retired."""
        self.reload(force=True)
        state = self._state
        now = self.clock()
        current = {keys.keys[0].kid for keys in state.signing.values()}
        lines = []
        for k in state.published:
            status = ("current" if k.kid in current else
                      "next" if k.activates_at > now else "retired")
            lines.append({"kid": k.kid, "alg": k.alg, "created_at": k.created_at,
                          "activates_at": k.activates_at,
                          "retired_at": state.retired_at.get(k.kid), "status": status})
        return lines

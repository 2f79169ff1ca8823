"""The app's own file: the paired issuer, the device key and id, and the tokens.

It holds a private key and a refresh token, so it is created with mode 0600 inside a 0700
folder, replaced atomically (a crash never leaves half a file), and refused when others can read
it — the way ssh treats its keys.
"""

import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1


def default_path() -> Path:
    """``$XDG_CONFIG_HOME/idp-phone/state.json`` (XDG Base Directory; ``~/.config`` unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "idp-phone" / "state.json"


@dataclass
class Device:
    device_id: str
    kid: str                        # RFC 7638 thumbprint of the public key
    private_jwk: dict
    display_name: str
    platform: str
    paired_at: int


@dataclass
class Tokens:
    access_token: str
    expires_at: int
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str = ""


@dataclass
class State:
    issuer: str
    client_id: str
    redirect_uri: str
    sub: str
    tokens: Tokens | None = None
    device: Device | None = None
    endpoints: dict = field(default_factory=dict)   # from discovery: token_endpoint

    def to_json(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> "State":
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        tokens, device = data.get("tokens"), data.get("device")
        return cls(issuer=data["issuer"], client_id=data["client_id"],
                   redirect_uri=data["redirect_uri"], sub=data["sub"],
                   tokens=Tokens(**tokens) if tokens else None,
                   device=Device(**device) if device else None,
                   endpoints=dict(data.get("endpoints") or {}))


class StateFileError(Exception):
    """The file cannot be used: ``kind`` is ``open_mode``, ``unreadable`` or ``unwritable``."""

    def __init__(self, kind: str, path: Path, reason: str = "", mode: str = "") -> None:
        super().__init__(f"{kind}: {path}: {reason or mode}")
        self.kind, self.path, self.reason, self.mode = kind, path, reason, mode


def load(path: Path) -> State | None:
    """The state in ``path``, or None when there is none yet."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError("unreadable", path, exc.strerror or str(exc)) from exc
    with handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o077:
            raise StateFileError("open_mode", path, mode=f"{mode:o}")
        try:
            return State.from_json(json.loads(handle.read().decode("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateFileError("unreadable", path, str(exc)) from exc


def save(path: Path, state: State) -> None:
    """Write ``state`` to ``path`` atomically, readable by its owner only."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 before anything is written to it.
        descriptor, temporary = tempfile.mkstemp(prefix=".state-", dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(json.dumps(state.to_json(), ensure_ascii=False,
                                        indent=2).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StateFileError("unwritable", path, exc.strerror or str(exc)) from exc


def forget(path: Path) -> bool:
    """Remove the file (the key goes with it); False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateFileError("unwritable", path, exc.strerror or str(exc)) from exc
    return True

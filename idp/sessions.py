"""The provider's own single-sign-on session, as Flask-Login's session user.

The browser's cookie holds only a random session id (Flask-Login's "alternative token"); the
session itself lives in the store, so logging out anywhere ends it everywhere, and every login
gets a new id (SPEC §7: session id rotated at login). Each account's sessions are also listed in
a set, so the citizen can see them on the account page (browser, address, started, last seen)
and end any of them (issue 12).
"""

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from flask import has_request_context, request
from flask_login import LoginManager, UserMixin

from idp.authn import Authentication
from idp.models import Account
from idp.oidc.grants import AuthenticatedUser
from idp.services import services

login_manager = LoginManager()
login_manager.session_protection = None  # the session id itself is the secret
# "Last seen" is written at most this often, not on every request.
SEEN_EVERY_SECONDS = 60


@dataclass
class SessionUser(UserMixin):
    sid: str
    account: Account
    authn: Authentication
    clients: list[str] = field(default_factory=list)
    user_agent: str = ""
    ip: str | None = None
    started: int = 0
    seen: int = 0

    @property
    def public_id(self) -> str:
        """How the account page names this session (the id itself stays in the cookie)."""
        return public_sid(self.sid)

    def get_id(self) -> str:
        return self.sid

    def grant_user(self, company: dict | None = None, **details) -> AuthenticatedUser:
        """The citizen of this session as a code or token will carry them, on behalf of
        ``company`` when this login is a company login (issue 8)."""
        return AuthenticatedUser(account=self.account, authn=self.authn.for_company(company),
                                 sid=public_sid(self.sid), **details)


def _lifetime() -> int:
    return services().settings.server.session_hours * 3600


def start_session(account: Account, authn: Authentication,
                  client_id: str | None = None) -> SessionUser:
    """A new session, already naming the relying party it was started for (if any)."""
    now = int(time.time())
    user = SessionUser(sid=secrets.token_urlsafe(24), account=account, authn=authn,
                       clients=[client_id] if client_id else [], started=now, seen=now)
    if has_request_context():
        user.user_agent = request.user_agent.string[:300]
        user.ip = request.remote_addr
    services().store.batch().put(f"sso:{user.sid}", _record(user), _seconds_left(user)) \
        .add_member(f"sso-of:{account.id}", user.sid, _lifetime()).execute()
    return user


def _record(user: SessionUser) -> dict:
    return {"account_id": user.account.id, "authn": user.authn.to_dict(),
            "clients": user.clients, "ua": user.user_agent, "ip": user.ip,
            "started": user.started}


def _seconds_left(user: SessionUser) -> int:
    # The session lives for its hours from the proof, not from its last use.
    return _lifetime() - (int(time.time()) - user.authn.auth_time)


def _save(user: SessionUser) -> None:
    services().store.put(f"sso:{user.sid}", _record(user), _seconds_left(user))


def _session_user(sid: str, data: dict, account: Account, seen: dict | None) -> SessionUser:
    started = data.get("started") or 0
    return SessionUser(sid=sid, account=account, authn=Authentication.from_dict(data["authn"]),
                       clients=data["clients"], user_agent=data.get("ua") or "",
                       ip=(seen or {}).get("ip") or data.get("ip"), started=started,
                       seen=(seen or {}).get("at") or started)


@login_manager.user_loader
def load_session(sid: str) -> SessionUser | None:
    svc = services()
    data, seen = svc.store.batch().get(f"sso:{sid}").get(f"sso-seen:{sid}").execute()
    if data is None:
        return None
    account = svc.db.session.get(Account, data["account_id"])
    if account is None:
        return None
    user = _session_user(sid, data, account, seen)
    now = int(time.time())
    if now - user.seen >= SEEN_EVERY_SECONDS:
        # Kept apart from the session record, so this write never races a change to it.
        user.seen = now
        user.ip = request.remote_addr if has_request_context() else user.ip
        svc.store.put(f"sso-seen:{sid}", {"at": now, "ip": user.ip}, _seconds_left(user))
    return user


def sessions_of(account: Account) -> list[SessionUser]:
    """The account's live sessions, most recently seen first; ended ones leave the list."""
    store = services().store
    sids = sorted(store.members(f"sso-of:{account.id}"))
    keys = [key for sid in sids for key in (f"sso:{sid}", f"sso-seen:{sid}")]
    values = store.get_many(keys)
    found, ended = [], []
    for at, sid in enumerate(sids):
        data, seen = values[2 * at], values[2 * at + 1]
        if data is None or data["account_id"] != account.id:
            ended.append(sid)
        else:
            found.append(_session_user(sid, data, account, seen))
    store.remove_members(f"sso-of:{account.id}", *ended)
    return sorted(found, key=lambda user: user.seen, reverse=True)


def find_session(account: Account, public_id: str) -> SessionUser | None:
    """The account's live session of this public id; None for anyone else's or an ended one."""
    return next((user for user in sessions_of(account) if user.public_id == public_id), None)


def save_clients(user: SessionUser) -> None:
    """Store a changed list of the session's relying parties (it lives on as before)."""
    services().store.put_keep_ttl(f"sso:{user.sid}", _record(user))


def remember_client(user: SessionUser, client_id: str) -> None:
    """The relying parties of this session, for back-channel logout."""
    if client_id not in user.clients:
        user.clients.append(client_id)
        _save(user)


def end_session(sid: str) -> None:
    services().store.delete(f"sso:{sid}", f"sso-seen:{sid}")


def public_sid(sid: str) -> str:
    """The ``sid`` claim: names the session to relying parties without revealing its id."""
    return hashlib.sha256(sid.encode()).hexdigest()[:32]

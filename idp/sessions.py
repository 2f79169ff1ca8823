"""The provider's own single-sign-on session, as Flask-Login's session user.

The browser's cookie holds only a random session id (Flask-Login's "alternative token"); the
session itself lives in the store, so logging out anywhere ends it everywhere, and every login
gets a new id (SPEC §7: session id rotated at login).
"""

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from flask_login import LoginManager, UserMixin

from idp.authn import Authentication
from idp.models import Account
from idp.oidc.grants import AuthenticatedUser
from idp.services import services

login_manager = LoginManager()
login_manager.session_protection = None  # the session id itself is the secret


@dataclass
class SessionUser(UserMixin):
    sid: str
    account: Account
    authn: Authentication
    clients: list[str] = field(default_factory=list)

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
    user = SessionUser(sid=secrets.token_urlsafe(24), account=account, authn=authn,
                       clients=[client_id] if client_id else [])
    _save(user)
    return user


def _save(user: SessionUser) -> None:
    # The session lives for its hours from the proof, not from its last use.
    services().store.put(f"sso:{user.sid}", {"account_id": user.account.id,
                                             "authn": user.authn.to_dict(),
                                             "clients": user.clients},
                         _lifetime() - (int(time.time()) - user.authn.auth_time))


@login_manager.user_loader
def load_session(sid: str) -> SessionUser | None:
    svc = services()
    data = svc.store.get(f"sso:{sid}")
    if data is None:
        return None
    account = svc.db.session.get(Account, data["account_id"])
    if account is None:
        return None
    return SessionUser(sid=sid, account=account, authn=Authentication.from_dict(data["authn"]),
                       clients=data["clients"])


def remember_client(user: SessionUser, client_id: str) -> None:
    """The relying parties of this session, for back-channel logout."""
    if client_id not in user.clients:
        user.clients.append(client_id)
        _save(user)


def end_session(sid: str) -> None:
    services().store.delete(f"sso:{sid}")


def public_sid(sid: str) -> str:
    """The ``sid`` claim: names the session to relying parties without revealing its id."""
    return hashlib.sha256(sid.encode()).hexdigest()[:32]

"""The shared relying-party base of the apps in ``clients/``.

Each app (municipal, insurance, and the employer portal to come) is an ordinary Flask app that
logs citizens in through the national single sign-on with Authlib's client, exactly as a
third-party developer would: the discovery document is all it knows of the provider, and nothing
here imports ``idp`` or ``flows``. What every such app needs lives here once: the OIDC login and
logout, server-side sessions that a back-channel logout can end, its own small database, the
Persian-first page layout with its own Vazirmatn, and the language switch.
"""

from clients.common.app import RelyingParty, RPConfig
from clients.common.db import Database
from clients.common.sessions import LoginSessionMixin, SeenLogoutTokenMixin

__all__ = ["Database", "LoginSessionMixin", "RPConfig", "RelyingParty", "SeenLogoutTokenMixin"]

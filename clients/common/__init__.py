"""The shared relying-party base of the apps in ``clients/``.

Each app (municipal, insurance, and the employer portal to come) is an ordinary Flask app that
logs citizens in through the national single sign-on with Authlib's client, exactly as a
third-party developer would: the discovery document is all it knows of the provider, and nothing
here imports ``idp`` or ``flows``. What every such app needs lives here once: the OIDC login and
logout, server-side sessions that a back-channel logout can end, its own small database, the
Persian-first page layout with its own Vazirmatn, and the language switch.

An app on it (see clients/insurance/ for a small one):

1. ``models.py``: its own ``DeclarativeBase`` with ``class LoginSession(LoginSessionMixin, Base)``
   and ``class SeenLogoutToken(SeenLogoutTokenMixin, Base)`` beside its own tables.
2. ``create_app(issuer, client_id, client_secret, base_url, database_url=None)``: a Flask app,
   ``RelyingParty(app, RPConfig(...), name=..., database=Database(url, Base.metadata), ...)``,
   then its own blueprint. The base adds ``/login``, ``/callback``, ``/logout`` (POST),
   ``/logged-out``, ``/backchannel-logout`` and ``/lang/<fa|en>``; views read the login with
   ``current_login()`` (its ``claims``) and fresh claims with ``current_rp().userinfo(row)``.
3. ``templates/layout.html`` extends ``common/layout.html`` (blocks ``site_name``, ``site_owner``,
   ``stylesheets``, ``footer``); pages extend ``layout.html``; strings go through ``_()`` into
   the shared catalogue (clients/babel.cfg).
4. One ``DemoApp`` entry in clients/demo.py: ``idp demo`` then starts and registers it, with its
   ``--NAME-port`` option, and the tests' ``running_services`` (tests/relying_parties.py) too.
"""

from clients.common.app import RelyingParty, RPConfig
from clients.common.db import Database
from clients.common.sessions import LoginSessionMixin, SeenLogoutTokenMixin

__all__ = ["Database", "LoginSessionMixin", "RPConfig", "RelyingParty", "SeenLogoutTokenMixin"]

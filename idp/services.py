"""The app's long-lived collaborators, built once at start and shared by every request."""

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from idp.db import Database
from idp.keys import KeyRing
from idp.messaging import Mailer, SmsSender
from idp.registries import Registries
from idp.settings import Settings
from idp.store import Store


@dataclass
class Services:
    settings: Settings
    db: Database
    store: Store
    keys: KeyRing
    registries: Registries
    sms: SmsSender
    mailer: Mailer
    # The Authlib authorization server, set when the OIDC blueprint is wired.
    oauth_server: Any = None
    # The discovery document, computed once at start.
    discovery: dict = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["idp"]

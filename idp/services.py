"""The app's long-lived collaborators, built once at start and shared by every request."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from idp.db import Database
from idp.keys import KeyRing
from idp.messaging import Mailer, SmsSender
from idp.registries import Registries
from idp.settings import Settings
from idp.store import Store

if TYPE_CHECKING:
    from idp.interaction import Interaction
    from idp.oidc.server import AuthorizationServer


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    store: Store
    keys: KeyRing
    registries: Registries
    sms: SmsSender
    mailer: Mailer
    oauth_server: "AuthorizationServer"
    # The login journey, which the provider hands each validated /authorize request.
    interaction: "Interaction"
    # The discovery document, computed once at start.
    discovery: dict


def services() -> Services:
    return current_app.extensions["idp"]

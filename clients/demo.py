"""The demo relying parties as a table: what ``idp demo`` and the tests start beside the provider.

One entry per app; a new app (the employer portal) is one more entry, and ``idp demo`` gains its
``--NAME-port`` option from it.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from clients.employer import create_app as create_employer
from clients.insurance import create_app as create_insurance
from clients.municipal import create_app as create_municipal
from clients.paygate import create_app as create_paygate
from clients.paygate.settings import GatewaySettings


@dataclass(frozen=True)
class DemoApp:
    name: str  # also its client_id at the provider and its database file's name
    port_option: str  # the ``idp demo`` option that sets its port
    default_port: int
    title: str  # how the provider names it to the citizen
    scope: str
    log_in_as: str  # the demo line's "whom to log in as"
    factory: Callable[..., Flask]  # (issuer, client_id, client_secret, base_url, database_url)
    # Issue 8: every login to it is a company login by the company's CEO.
    legal_entity: bool = False

    def registration(self, base_url: str, client_secret: str) -> dict:
        """Its ``[[clients]]`` entry: first-party (single sign-on between the services shows
        no page), with the URIs of the shared base (clients/common/app.py)."""
        return {"client_id": self.name, "client_secret": client_secret, "name": self.title,
                "redirect_uris": [f"{base_url}/callback"],
                "post_logout_redirect_uris": [f"{base_url}/logged-out"],
                "backchannel_logout_uri": f"{base_url}/backchannel-logout",
                "scope": self.scope, "first_party": True, "legal_entity": self.legal_entity}

    def create(self, issuer: str, client_secret: str, base_url: str, database_url: str) -> Flask:
        return self.factory(issuer, self.name, client_secret, base_url, database_url)


DEMO_APPS: tuple[DemoApp, ...] = (
    DemoApp(name="municipal", port_option="client-port", default_port=5001,
            title="سامانه حساب شهروندی شهرداری تهران",
            scope="openid profile email phone address national_id offline_access",
            log_in_as="any sandbox citizen, e.g. کد ملی 0499370899، تاریخ تولد 1360/01/01، "
                      "موبایل 09120000001",
            factory=create_municipal),
    DemoApp(name="insurance", port_option="insurance-port", default_port=5002,
            title="سامانه خدمات غیرحضوری سازمان تأمین اجتماعی",
            scope="openid profile phone address national_id offline_access",
            log_in_as="0499370899 or 1214792235 (insured), 2607114462 (insured in the past), "
                      "7849881354 (no record); or single sign-on after the municipal service",
            factory=create_insurance),
    DemoApp(name="employer", port_option="employer-port", default_port=5003,
            title="سامانه کارفرمایان سازمان تأمین اجتماعی",
            scope="openid profile national_id offline_access",
            log_in_as="0499370899 as CEO of company 10408552260 or 10173048674 (10085761056 "
                      "and 10623012386 refuse him: not their CEO)",
            factory=create_employer, legal_entity=True),
)


@dataclass(frozen=True)
class DemoGateway:
    """The sandbox payment gateway the municipal app sends citizens to for their dues
    (issue 10): ``idp demo`` starts it beside the apps, with a secret made for the run."""

    port_option: str = "paygate-port"
    default_port: int = 5090
    title: str = "درگاه پرداخت اینترنتی (آزمایشی)"
    merchant_id: str = "municipal-tehran"

    def settings(self, url: str) -> GatewaySettings:
        return GatewaySettings(gateway_url=url, merchant_id=self.merchant_id,
                               secret=secrets.token_urlsafe(32))

    def environment(self, settings: GatewaySettings) -> dict[str, str]:
        """The municipal app's ``[payment]`` overrides that point it at this gateway."""
        return {"MUNICIPAL_PAYMENT_GATEWAY_URL": settings.gateway_url,
                "MUNICIPAL_PAYMENT_MERCHANT_ID": settings.merchant_id,
                "MUNICIPAL_PAYMENT_SECRET": settings.secret}

    def create(self, settings: GatewaySettings) -> Flask:
        return create_paygate(settings)


DEMO_GATEWAY = DemoGateway()

"""The provider and the relying parties of ``clients/`` running together, each on its own port,
registered as ``idp demo`` registers them (clients/demo.py): shared by the integration and
browser tests of the services."""

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from conftest import run_keys, seed_provider
from live import demo_person, free_port, serve, walk_login, write_config
from sqlalchemy import text

from clients.demo import DEMO_APPS


@dataclass
class Sites:
    issuer: str
    outbox: Path
    urls: dict[str, str] = field(default_factory=dict)
    apps: dict = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    provider: object = None

    def __getitem__(self, name: str) -> str:
        return self.urls[name]


@contextmanager
def services_on(request, tmp_path: Path, **options) -> Iterator[Sites]:
    """:func:`running_services` on the backend a test is parametrized with (``embedded`` or
    ``services``); on PostgreSQL, the run's scratch database (tests/conftest.py), not the shared
    one."""
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with running_services(tmp_path, database_url=database_url, **options) as running:
        yield running


@contextmanager
def running_services(tmp_path: Path, *, database_url: str | None = None,
                     names: tuple[str, ...] | None = None,
                     registered: dict[str, dict] | None = None,
                     apps_database: str | None = None) -> Iterator[Sites]:
    """The provider (embedded, or with ``database_url`` on that PostgreSQL database and the
    tests' Redis) and the named demo apps (all by default), each with its own SQLite database
    under ``tmp_path`` or, with ``apps_database``, on that database; ``registered`` changes an
    app's registration at the provider (``{"employer": {"legal_entity": False}}``)."""
    from idp import create_app
    from idp.settings import load_settings

    chosen = [app for app in DEMO_APPS if names is None or app.name in names]
    provider_port = free_port()
    ports = {app.name: free_port() for app in chosen}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    secrets_ = {app.name: secrets.token_urlsafe(24) for app in chosen}
    # The same citizen logs in more than once a minute: no SMS cool-down between logins.
    extra: dict = {"otp": {"resend_cooldown_seconds": 0}}
    if database_url:
        extra["database"] = {"url": database_url}
        # The tests' Redis database: earlier tests' cool-downs and journeys must not leak in.
        redis.Redis.from_url(os.environ["IDP_TEST_REDIS_URL"]).flushdb()
    config = write_config(tmp_path, port=provider_port, services=bool(database_url), extra=extra,
                          clients=[{**app.registration(urls[app.name], secrets_[app.name]),
                                    **(registered or {}).get(app.name, {})}
                                   for app in chosen])
    seed_provider(tmp_path, keys=run_keys(), embedded=not database_url)
    settings = load_settings(config, environ={})
    provider = create_app(settings)
    sites = Sites(issuer=settings.server.issuer, outbox=settings.path(settings.sms.outbox_path),
                  urls=urls, provider=provider, secrets=secrets_)
    with ExitStack() as stack:
        stack.enter_context(serve(provider, provider_port))
        for app in chosen:
            rp = app.create(sites.issuer, secrets_[app.name], urls[app.name],
                            apps_database or f"sqlite:///{tmp_path / (app.name + '.sqlite')}")
            sites.apps[app.name] = rp
            stack.enter_context(serve(rp, ports[app.name]))
        try:
            yield sites
        finally:
            provider.extensions["idp"].db.engine.dispose()


PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# More sandbox people (idp/registries/sandbox_demo.toml), as the walker's answers take them:
# Maryam's booklet is being issued, Mohammadreza was insured only in the past, and the insurer
# has no record of Fatemeh (clients/insurance/demo_data.py).
MARYAM = {"mobile": "09350000002", "national_code": "1214792235", "birth": (1365, 5, 20),
          "given_name": "مریم", "family_name": "احمدی آزمایشی", "postal_code": "8739637110"}
MOHAMMADREZA = {"mobile": "09120000003", "national_code": "2607114462", "birth": (1348, 11, 3),
                "given_name": "محمدرضا", "family_name": "کریمی آزمایشی",
                "postal_code": "9818875593"}
FATEMEH = {"mobile": "09120000006", "national_code": "7849881354", "birth": (1385, 12, 29),
           "given_name": "فاطمه", "family_name": "موسوی آزمایشی", "postal_code": "9915974895"}


def fa(value: str) -> str:
    return value.translate(PERSIAN)


def csrf_of(page: requests.Response) -> str:
    return CSRF.search(page.text).group(1)


def log_in(http: requests.Session, sites, app: str = "municipal",
           person: dict = demo_person) -> requests.Response:
    """From the service's «ورود با پنجره ملی» through the provider's journey back to the
    service; returns the service's answer to the callback (not followed)."""
    start = http.get(sites[app] + "/login", allow_redirects=False, timeout=10)
    assert start.status_code == 302
    location = walk_login(http, start.headers["Location"], redirect_uri=sites[app] + "/callback",
                          outbox=sites.outbox, person=person)
    return http.get(location, allow_redirects=False, timeout=10)


def give_email(http: requests.Session, sites, address: str = "ali@example.ir") -> None:
    page = http.get(sites["municipal"] + "/email", timeout=10)
    answer = http.post(sites["municipal"] + "/email", timeout=10, allow_redirects=False,
                       data={"csrf_token": csrf_of(page), "email": address})
    assert answer.status_code == 302


def sessions_in(sites, app: str = "municipal") -> int:
    engine = sites.apps[app].extensions["rp"].db.engine
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM login_sessions")).scalar_one()


def log_out(http: requests.Session, sites, app: str = "municipal") -> requests.Response:
    """Log out at the service; the provider ends its session and comes back to the service."""
    page = http.get(sites[app] + "/", timeout=10)
    answer = http.post(sites[app] + "/logout", data={"csrf_token": csrf_of(page)}, timeout=10)
    assert answer.url.rstrip("/") == sites[app], answer.url
    return answer


def single_sign_on(http: requests.Session, sites, app: str) -> list[str]:
    """Open ``app``'s login with a provider session already there; returns every URL passed
    on the way, asserting that each was a redirect (no page shown) up to the service."""
    url, seen = sites[app] + "/login", []
    while True:
        response = http.get(url, allow_redirects=False, timeout=10)
        seen.append(url)
        if response.status_code != 302:
            assert response.status_code == 200 and url.startswith(sites[app]), seen
            return seen
        url = requests.compat.urljoin(url, response.headers["Location"])

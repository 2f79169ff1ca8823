"""The provider and the relying parties of ``clients/`` running together, each on its own port,
registered as ``idp demo`` registers them (clients/demo.py): shared by the integration and
browser tests of the services."""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from live import free_port, serve, write_config

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
def running_services(tmp_path: Path, *, services: bool = False,
                     names: tuple[str, ...] | None = None) -> Iterator[Sites]:
    """The provider (embedded, or on PostgreSQL + Redis with ``services``) and the named demo
    apps (all by default), each with its own SQLite database under ``tmp_path``."""
    from idp import create_app
    from idp.settings import load_settings

    chosen = [app for app in DEMO_APPS if names is None or app.name in names]
    provider_port = free_port()
    ports = {app.name: free_port() for app in chosen}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    secrets_ = {app.name: secrets.token_urlsafe(24) for app in chosen}
    # The same citizen logs in more than once a minute: no SMS cool-down between logins.
    config = write_config(tmp_path, port=provider_port, services=services,
                          extra={"otp": {"resend_cooldown_seconds": 0}},
                          clients=[app.registration(urls[app.name], secrets_[app.name])
                                   for app in chosen])
    settings = load_settings(config, environ={})
    provider = create_app(settings)
    sites = Sites(issuer=settings.server.issuer, outbox=settings.path(settings.sms.outbox_path),
                  urls=urls, provider=provider, secrets=secrets_)
    with ExitStack() as stack:
        stack.enter_context(serve(provider, provider_port))
        for app in chosen:
            rp = app.create(sites.issuer, secrets_[app.name], urls[app.name],
                            f"sqlite:///{tmp_path / (app.name + '.sqlite')}")
            sites.apps[app.name] = rp
            stack.enter_context(serve(rp, ports[app.name]))
        try:
            yield sites
        finally:
            provider.extensions["idp"].db.engine.dispose()

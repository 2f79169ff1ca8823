"""Adapters to the outside registries (SPEC §5): a sandbox file or a real HTTP API."""

from pathlib import Path

from idp.registries.base import (
    CivilRegistry,
    Company,
    CompanyRegistry,
    ForeignersRegistry,
    MobileOwnership,
    Person,
    Registries,
    RegistryUnavailable,
)
from idp.registries.http import http_registries
from idp.registries.sandbox import load_sandbox
from idp.settings import DEMO_SANDBOX, ConfigurationError, RegistrySettings

__all__ = [
    "CivilRegistry",
    "Company",
    "CompanyRegistry",
    "ForeignersRegistry",
    "MobileOwnership",
    "Person",
    "Registries",
    "RegistryUnavailable",
    "build_registries",
]


def build_registries(registries: RegistrySettings, base_dir: Path) -> Registries:
    """The registries named by ``[registries] backend``: ``sandbox`` or ``http``."""
    if registries.backend == "sandbox":
        # Without a path: the demo file of fictional people shipped with the provider.
        path = (base_dir / registries.sandbox_path).resolve() if registries.sandbox_path \
            else DEMO_SANDBOX
        return load_sandbox(path)
    if registries.backend == "http":
        return http_registries(registries.http_base_url, registries.http_token,
                               registries.http_timeout_seconds,
                               retries=registries.http_retries,
                               breaker_failures=registries.http_breaker_failures,
                               breaker_seconds=registries.http_breaker_seconds)
    raise ConfigurationError(
        f"registries: unknown backend {registries.backend!r} (sandbox or http)")

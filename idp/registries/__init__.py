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


def build_registries(backend: str, *, sandbox_path: Path, http_base_url: str, http_token: str,
                     http_timeout: float) -> Registries:
    """The registries named by ``[registries] backend``: ``sandbox`` or ``http``."""
    if backend == "sandbox":
        return load_sandbox(Path(sandbox_path))
    if backend == "http":
        return http_registries(http_base_url, http_token, http_timeout)
    raise ValueError(f"registries: unknown backend {backend!r} (sandbox or http)")

"""The municipal app's settings: a TOML file (``--config FILE``), then ``MUNICIPAL_<SECTION>_<KEY>``
environment overrides, then the defaults below. Every key is documented in
``clients/municipal/config.example.toml``; an unknown section or key is refused, so that a typo
cannot silently leave a default in force.
"""

import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from limits.errors import ConfigurationError
from limits.storage import SCHEMES, Storage, storage_from_string

ENV_PREFIX = "MUNICIPAL_"
HOUR = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", re.ASCII)


# A signing key of at least 256 bits' worth of URL-safe text.
MIN_SECRET_KEY = 43


class SettingsError(ValueError):
    """A settings file or override the app cannot run with (one line, for the console)."""


@dataclass
class MunicipalSection:
    # SQLAlchemy URL of the app's own database; empty: a SQLite file in the instance folder.
    database_url: str = ""
    # Where uploaded documents are kept (outside static/); empty: instance/uploads.
    upload_dir: str = ""
    # The property registry (TOML); empty: the sandbox registry shipped with the app.
    registry_path: str = ""
    # The development SMS outbox (JSON lines); empty: instance/sms_outbox.jsonl.
    sms_outbox_path: str = ""
    # National codes of the municipality's staff («کارتابل شهرداری»).
    staff: list[str] = field(default_factory=list)
    # The number citizens are told to call when a check fails (seed 003).
    support_phone: str = "137"
    # Where the rate limits and SMS-code send limits count (a ``limits`` storage URI): shared
    # by every worker when it is Redis (issue 10); ``memory://`` is one process's own.
    ratelimit_storage_uri: str = "memory://"
    # The key that signs the session cookie, form tokens and SMS-code digests: every worker and
    # instance of one deployment must share it. Empty: a random key per process (one process).
    secret_key: str = ""


@dataclass
class VisitsSection:
    capacity: int = 3  # visits an expert can make in one hour
    hours: list[str] = field(default_factory=lambda: ["09:00", "10:00", "11:00", "12:00",
                                                      "13:00", "14:00"])
    days_ahead: int = 14
    holidays: list[str] = field(default_factory=list)  # ISO dates
    code_lifetime_seconds: int = 120


@dataclass
class UploadsSection:
    max_bytes: int = 5 * 1024 * 1024
    max_files: int = 10


@dataclass
class PaymentSection:
    gateway_url: str = "http://127.0.0.1:5090"
    merchant_id: str = "municipal-tehran"
    secret: str = ""


@dataclass
class MunicipalSettings:
    municipal: MunicipalSection = field(default_factory=MunicipalSection)
    visits: VisitsSection = field(default_factory=VisitsSection)
    uploads: UploadsSection = field(default_factory=UploadsSection)
    payment: PaymentSection = field(default_factory=PaymentSection)
    # Relative paths in the file are relative to the file's folder.
    base_dir: Path = field(default_factory=Path.cwd)

    def path(self, value: str) -> Path:
        return (self.base_dir / value).resolve()

    def holiday_dates(self) -> set[date]:
        return {date.fromisoformat(day) for day in self.visits.holidays}

    def ratelimit_storage(self) -> Storage:
        """The storage of the app's counters, as the ``limits`` library builds it from its URI;
        a storage whose client library is missing is refused like a bad setting. Its outages
        arrive as ``limits.errors.StorageError`` (a Persian 503, not a 500)."""
        try:
            return storage_from_string(self.municipal.ratelimit_storage_uri,
                                       wrap_exceptions=True)
        except ConfigurationError as error:
            raise SettingsError(f"municipal.ratelimit_storage_uri: {error}") from None


SECTIONS = ("municipal", "visits", "uploads", "payment")


def _coerce(value: object, kind: type, name: str) -> object:
    """A TOML or environment value as the key's declared type."""
    if typing.get_origin(kind) is list:
        if isinstance(value, list):
            items = value
        elif isinstance(value, str):
            items = value.split(",")  # an environment value: comma-separated
        else:
            raise SettingsError(f"{name}: expected a list, got {value!r}")
        return [str(item).strip() for item in items if str(item).strip()]
    if kind is int:
        if isinstance(value, (bool, float)):
            raise SettingsError(f"{name}: expected a whole number, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise SettingsError(f"{name}: expected a whole number, got {value!r}") from None
    if not isinstance(value, str):
        raise SettingsError(f"{name}: expected text, got {value!r}")
    return value


def _check(settings: MunicipalSettings) -> None:
    visits, uploads = settings.visits, settings.uploads
    for name, number in (("visits.capacity", visits.capacity),
                         ("visits.days_ahead", visits.days_ahead),
                         ("visits.code_lifetime_seconds", visits.code_lifetime_seconds),
                         ("uploads.max_bytes", uploads.max_bytes),
                         ("uploads.max_files", uploads.max_files)):
        if number < 1:
            raise SettingsError(f"{name}: must be at least 1, got {number}")
    if not visits.hours:
        raise SettingsError("visits.hours: at least one hour is needed")
    for hour in visits.hours:
        if not HOUR.match(hour):
            raise SettingsError(f"visits.hours: {hour!r} is not an hour like \"09:00\"")
    for day in visits.holidays:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise SettingsError(
                f"visits.holidays: {day!r} is not an ISO date like \"2026-03-21\"") from None
    uri = settings.municipal.ratelimit_storage_uri
    # The counters are counted synchronously: the ``async+`` storages do not fit them.
    if urlsplit(uri).scheme not in SCHEMES or uri.startswith("async+"):
        raise SettingsError(f"municipal.ratelimit_storage_uri: {uri!r} is not a storage URI "
                            "of the limits library, like \"memory://\" or "
                            "\"redis://host:6379/0\"")
    if settings.municipal.secret_key and len(settings.municipal.secret_key) < MIN_SECRET_KEY:
        raise SettingsError(f"municipal.secret_key: at least {MIN_SECRET_KEY} characters are "
                            "needed (secrets.token_urlsafe(48) makes one)")
    for code in settings.municipal.staff:
        if not (len(code) == 10 and code.isascii() and code.isdigit()):
            raise SettingsError(f"municipal.staff: {code!r} is not a 10-digit national code")


def load_settings(path: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None) -> MunicipalSettings:
    """Read ``path`` (if any), apply ``MUNICIPAL_<SECTION>_<KEY>`` overrides, check the result."""
    environ = os.environ if environ is None else environ
    data: dict = {}
    base_dir = Path.cwd()
    if path:
        config_file = Path(path).resolve()
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except OSError as error:
            raise SettingsError(f"{path}: cannot be read ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{path}: not valid TOML ({error})") from None
        base_dir = config_file.parent
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise SettingsError(f"unknown sections {sorted(unknown)}")
    settings = MunicipalSettings(base_dir=base_dir)
    hints = typing.get_type_hints(MunicipalSettings)
    for name in SECTIONS:
        section = getattr(settings, name)
        given = data.get(name, {})
        if not isinstance(given, dict):
            raise SettingsError(f"[{name}] must be a table")
        keys = {f.name for f in dataclasses.fields(section)}
        if set(given) - keys:
            raise SettingsError(f"[{name}]: unknown keys {sorted(set(given) - keys)}")
        section_hints = typing.get_type_hints(hints[name])
        for key in keys:
            raw = environ.get(f"{ENV_PREFIX}{name.upper()}_{key.upper()}", given.get(key))
            if raw is not None:
                setattr(section, key, _coerce(raw, section_hints[key], f"{name}.{key}"))
    _check(settings)
    return settings

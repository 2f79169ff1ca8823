"""Settings: one TOML file plus ``IDP_<SECTION>_<KEY>`` environment overrides.

Every default lives here, so ``config.example.toml`` documents exactly these fields. Relative
paths are resolved against the config file's folder (or the working directory without a file),
so a config can be moved together with its data.
"""

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_SANDBOX = PACKAGE_DIR / "registries" / "sandbox_demo.toml"
# The keys a ``[[clients]]`` table may have (idp.registration reads them).
CLIENT_KEYS = frozenset({
    "client_id", "client_secret", "name", "redirect_uris", "post_logout_redirect_uris",
    "backchannel_logout_uri", "scope", "public", "first_party", "auth_method", "id_token_alg",
    "jwks", "jwks_uri", "resources", "legal_entity", "grant_types"})


class ConfigurationError(ValueError):
    """The provider cannot start as configured: a wrong setting, or one naming something that
    is missing or unreachable. Its message is one line that says which and why; the entry
    points print it instead of a traceback (idp.startup)."""


@dataclass
class ServerSettings:
    issuer: str = "http://127.0.0.1:5000"
    # Empty: a random key is generated once and kept in the instance folder.
    secret_key: str = ""
    instance_path: str = "instance"
    # Lifetime of the provider's own (single sign-on) session.
    session_hours: int = 8
    # Number of reverse proxies whose X-Forwarded-For may be trusted.
    proxy_count: int = 0
    demo: bool = False


@dataclass
class DatabaseSettings:
    # Empty: a SQLite file in the instance folder.
    url: str = ""


@dataclass
class RedisSettings:
    # Empty: an in-process Redis (fakeredis), for one process only.
    url: str = ""


@dataclass
class KeysSettings:
    path: str = "keys"
    # How long ``idp keys rotate`` publishes a new key before any instance signs with it; at
    # least the JWKS max-age (300 s) plus the folder's re-read interval (30 s).
    publish_ahead_seconds: int = 600


@dataclass
class TokenSettings:
    access_token_seconds: int = 600
    id_token_seconds: int = 600
    refresh_token_days: int = 30
    authorization_code_seconds: int = 60


@dataclass
class SmsSettings:
    backend: str = "outbox"
    # A second gateway, used when the first one fails or is down (empty: none).
    fallback: str = ""
    outbox_path: str = "instance/outbox.jsonl"
    kavenegar_api_key: str = ""
    kavenegar_base_url: str = "https://api.kavenegar.com"
    kavenegar_template: str = "login"
    smsir_api_key: str = ""
    smsir_base_url: str = "https://api.sms.ir"
    smsir_template_id: int = 0
    smsir_code_parameter: str = "CODE"
    smsir_line_number: str = ""
    timeout_seconds: float = 5.0
    # Failed sends in a row after which a gateway is skipped, and for how long (with a fallback).
    breaker_failures: int = 3
    breaker_seconds: float = 60.0


@dataclass
class EmailSettings:
    backend: str = "outbox"
    outbox_path: str = "instance/mail.jsonl"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: bool = True
    sender: str = "no-reply@my.gov.ir"
    timeout_seconds: float = 5.0
    # How long the code and link that verify a personal e-mail stay valid.
    verification_lifetime_seconds: int = 1800


@dataclass
class CaptchaSettings:
    enabled: bool = True
    length: int = 5
    lifetime_seconds: int = 300
    # Offer the challenge spoken in Persian (needs espeak-ng; hidden without it).
    audio: bool = True


@dataclass
class OtpSettings:
    length: int = 6
    lifetime_seconds: int = 120
    max_attempts: int = 5
    resend_cooldown_seconds: int = 60
    # The code sent to the citizen's e-mail instead waits its own cool-down (issue 12).
    email_resend_cooldown_seconds: int = 60


@dataclass
class JourneySettings:
    lifetime_seconds: int = 600


@dataclass
class RateLimitSettings:
    enabled: bool = True
    # Codes actually sent to one mobile (SMS or e-mail): against SMS bombing of one citizen.
    otp_send_per_mobile: str = "5 per 10 minutes;20 per day"
    otp_send_per_ip: str = "30 per 10 minutes"
    # SMS actually sent to numbers sharing their first ``otp_send_prefix_digits`` digits (E.164,
    # without +), and to anyone: against SMS pumping (toll fraud over a number range).
    otp_send_per_prefix: str = "2000 per hour"
    otp_send_prefix_digits: int = 6
    otp_send_global: str = "30000 per hour"
    # Wrong (well-formed) codes for one mobile from one address; malformed posts and other
    # addresses do not count, so a stranger cannot lock the owner out.
    otp_verify_per_mobile: str = "15 per 10 minutes"
    otp_verify_per_ip: str = "60 per 10 minutes"
    # Every code post of one pending login, across its re-sent codes.
    otp_verify_per_journey: str = "15 per 10 minutes"
    identity_per_ip: str = "30 per 10 minutes"
    identity_per_mobile: str = "10 per 10 minutes"
    # Company national IDs asked of the company registry from one address (issue 8).
    company_per_ip: str = "30 per 10 minutes"
    captcha_per_ip: str = "120 per 10 minutes"
    token_per_ip: str = "600 per minute"
    # Each /authorize request stores a pending login: one address may not fill the store.
    authorize_per_ip: str = "120 per minute"
    # QR login (design qr-login §2.10): the browser's side, per address.
    qr_start_per_ip: str = "10 per minute;60 per hour"
    qr_complete_per_ip: str = "20 per minute"
    # Open event streams one address may hold at once (a count, not a rate).
    qr_streams_per_ip: int = 20
    # The phone's side: scans and approvals per paired device and per citizen; unknown or
    # expired codes per device (enumeration, or a citizen being phished again and again);
    # denials per citizen before a cool-down.
    qr_scan_per_device: str = "10 per minute"
    qr_scan_per_account: str = "30 per hour"
    qr_unknown_per_device: str = "5 per 15 minutes"
    qr_approve_per_device: str = "5 per minute"
    qr_approve_per_account: str = "10 per hour"
    qr_denials_per_account: str = "3 per 10 minutes"
    # Device pairings (nonces and registrations) per citizen.
    device_pair_per_account: str = "3 per day"


@dataclass
class QrSettings:
    # QR-code login from the paired phone app (issue 7); false: no QR tab, the QR endpoints 404.
    enabled: bool = True
    code_lifetime_seconds: int = 60
    max_rotations: int = 5
    # From the scan: how long the citizen has to approve on the phone.
    approval_seconds: int = 60
    # From the approval: how long the browser has to redeem it, once.
    ticket_seconds: int = 30
    max_devices: int = 5


@dataclass
class RegistrySettings:
    backend: str = "sandbox"
    # Empty: the demo file of fictional people shipped with the provider.
    sandbox_path: str = ""
    http_base_url: str = ""
    http_token: str = ""
    http_timeout_seconds: float = 5.0
    # Lookups tried again after a refused connection or a 5xx, within the deadline above.
    http_retries: int = 2
    # Failed lookups in a row that open a registry's circuit breaker, and how long it stays open
    # (lookups then fail at once, without waiting for a dead registry).
    http_breaker_failures: int = 5
    http_breaker_seconds: float = 30.0


@dataclass
class OpsSettings:
    # Networks (CIDR) whose clients may read /metrics; everyone else gets 403. The address is
    # the connection's, or X-Forwarded-For's when [server] proxy_count trusts a proxy.
    metrics_allowed: list[str] = field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])


@dataclass
class AssuranceSettings:
    """What ``verified_claims`` (OIDC4IDA, issue 11) says about the registry checks."""

    # Empty: ISSUER/assurance/trust-framework, the page that describes the checks.
    trust_framework: str = ""
    civil_registry_name: str = "سازمان ثبت احوال کشور"
    foreigners_registry_name: str = "سامانه اتباع خارجی"
    mobile_registry_name: str = "سامانه شاهکار"
    # The licensed aggregator the checks go through, if any (check_details.organization).
    check_organization: str = ""


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    keys: KeysSettings = field(default_factory=KeysSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    captcha: CaptchaSettings = field(default_factory=CaptchaSettings)
    otp: OtpSettings = field(default_factory=OtpSettings)
    journey: JourneySettings = field(default_factory=JourneySettings)
    ratelimit: RateLimitSettings = field(default_factory=RateLimitSettings)
    qr: QrSettings = field(default_factory=QrSettings)
    registries: RegistrySettings = field(default_factory=RegistrySettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    assurance: AssuranceSettings = field(default_factory=AssuranceSettings)
    clients: list[dict] = field(default_factory=list)
    base_dir: Path = field(default_factory=Path.cwd)

    def path(self, value: str) -> Path:
        """Resolve a configured path against the config file's folder."""
        return (self.base_dir / value).resolve()

    @property
    def instance_dir(self) -> Path:
        return self.path(self.server.instance_path)

    @property
    def trust_framework(self) -> str:
        return self.assurance.trust_framework or f"{self.server.issuer}/assurance/trust-framework"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.instance_dir / 'idp.sqlite3'}"


def _coerce(value: object, kind: type, name: str) -> object:
    """Turn a TOML or environment value into the field's declared type."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"{name}: expected a boolean, got {value!r}")
    if typing.get_origin(kind) is list:
        # A TOML array, or a comma-separated environment value.
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigurationError(f"{name}: expected a number, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name}: expected a number, got {value!r}") from None
    return str(value)


def _read(config_file: Path) -> dict:
    try:
        return tomllib.loads(config_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"config file {config_file}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"config file {config_file}: not valid TOML ({exc})") from None


def _clients(data: dict) -> list[dict]:
    """The ``[[clients]]`` tables, each with only known keys (a misspelt key would otherwise be
    silently ignored: ``frist_party = true`` registering a client that asks for consent)."""
    clients = data.get("clients", [])
    if not isinstance(clients, list) or not all(isinstance(c, dict) for c in clients):
        raise ConfigurationError("clients: use [[clients]] tables")
    for number, client in enumerate(clients, start=1):
        unknown = set(client) - CLIENT_KEYS
        if unknown:
            name = client.get("client_id") or f"#{number}"
            raise ConfigurationError(f"[[clients]] {name}: unknown keys {sorted(unknown)}")
    return list(clients)


def load_settings(path: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``$IDP_CONFIG``), then apply ``IDP_<SECTION>_<KEY>`` overrides."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("IDP_CONFIG") or None
    data: dict = {}
    base_dir = Path.cwd()
    if path:
        config_file = Path(path).resolve()
        data = _read(config_file)
        base_dir = config_file.parent

    settings = Settings(base_dir=base_dir)
    hints = typing.get_type_hints(Settings)
    sections = {f.name for f in dataclasses.fields(Settings)} - {"base_dir"}
    unknown_sections = set(data) - sections
    if unknown_sections:
        raise ConfigurationError(f"unknown sections {sorted(unknown_sections)}")
    for section_field in dataclasses.fields(Settings):
        name = section_field.name
        if name in {"clients", "base_dir"}:
            continue
        section = getattr(settings, name)
        given = data.get(name, {})
        if not isinstance(given, dict):
            raise ConfigurationError(f"{name}: use a [{name}] table")
        unknown = set(given) - {f.name for f in dataclasses.fields(section)}
        if unknown:
            raise ConfigurationError(f"[{name}]: unknown keys {sorted(unknown)}")
        section_hints = typing.get_type_hints(hints[name])
        for key_field in dataclasses.fields(section):
            key = key_field.name
            env_name = f"IDP_{name.upper()}_{key.upper()}"
            raw = environ.get(env_name, given.get(key))
            if raw is not None:
                setattr(section, key, _coerce(raw, section_hints[key], f"{name}.{key}"))
    settings.clients = _clients(data)
    return settings


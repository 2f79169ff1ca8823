"""The gateway's settings: the ``[payment]`` section of the municipal settings file (issue 10),
which the merchant and the gateway share, with the same ``MUNICIPAL_PAYMENT_<KEY>`` environment
overrides. The gateway reads nothing else of that file."""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# The defaults of clients/municipal/config.example.toml; the secret has none.
DEFAULTS = {"gateway_url": "http://127.0.0.1:5090", "merchant_id": "municipal-tehran",
            "secret": ""}
KEYS = tuple(DEFAULTS)
ENV_PREFIX = "MUNICIPAL_PAYMENT_"


class GatewaySettingsError(ValueError):
    """Settings the gateway cannot run with (one line, for the console)."""


@dataclass(frozen=True)
class GatewaySettings:
    gateway_url: str
    merchant_id: str
    secret: str

    @property
    def port(self) -> int:
        parts = urlsplit(self.gateway_url)
        return parts.port or (443 if parts.scheme == "https" else 80)


def load_gateway_settings(path: str | os.PathLike | None,
                          environ: Mapping[str, str] | None = None) -> GatewaySettings:
    environ = os.environ if environ is None else environ
    section: dict = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise GatewaySettingsError(f"{path}: cannot be read ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise GatewaySettingsError(f"{path}: not valid TOML ({error})") from None
        section = data.get("payment", {})
        if not isinstance(section, dict):
            raise GatewaySettingsError("[payment] must be a table")
        if set(section) - set(KEYS):
            raise GatewaySettingsError(
                f"[payment]: unknown keys {sorted(set(section) - set(KEYS))}")
    values = {key: environ.get(ENV_PREFIX + key.upper(), section.get(key, DEFAULTS[key]))
              for key in KEYS}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise GatewaySettingsError(f"payment.{key}: required (text)")
    if urlsplit(values["gateway_url"]).scheme not in {"http", "https"}:
        raise GatewaySettingsError(f"payment.gateway_url: {values['gateway_url']!r} is not an "
                                   "http(s) URL")
    return GatewaySettings(gateway_url=values["gateway_url"].rstrip("/"),
                           merchant_id=values["merchant_id"], secret=values["secret"])

"""Kavenegar (کاوه‌نگار), an Iranian SMS gateway, over its REST API.

One-time codes go through ``verify/lookup`` (a template approved by the operator, filled with the
code as ``token``: it is delivered on the fast OTP route); other texts through ``sms/send`` from
the account's default line. The API key is part of the URL, so neither URLs nor the original
exceptions (which quote them) are ever logged or chained; nor is the code.
"""

import logging
from urllib.parse import quote

import requests

from idp import outbound
from idp.identifiers import mobile_local
from idp.messaging.base import MessagingUnavailable
from idp.settings import ConfigurationError

log = logging.getLogger(__name__)
_URLLIB3_LOG = logging.getLogger("urllib3.connectionpool")


class _MaskSecret(logging.Filter):
    """Masks a secret in the records of one logger (urllib3 logs request URLs at DEBUG)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "***"), None
        return True


def _mask_in_urllib3_log(secret: str) -> None:
    if not any(isinstance(f, _MaskSecret) and f.secret == secret for f in _URLLIB3_LOG.filters):
        _URLLIB3_LOG.addFilter(_MaskSecret(secret))


class KavenegarSms:
    def __init__(self, api_key: str, base_url: str, template: str, timeout: float,
                 session: requests.Session | None = None) -> None:
        if not api_key:
            raise ConfigurationError("sms: kavenegar_api_key is required for the kavenegar backend")
        self.url_key = quote(api_key, safe="")
        self.base_url = base_url.rstrip("/")
        self.template = template
        self.timeout = timeout
        # ``timeout`` is each send's total deadline (idp.outbound).
        self.session = session or outbound.session()
        _mask_in_urllib3_log(self.url_key)

    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        receptor = mobile_local(to)
        if code is not None:
            method = "verify/lookup"
            data = {"receptor": receptor, "token": code, "template": self.template}
        else:
            method = "sms/send"
            data = {"receptor": receptor, "message": text}
        url = f"{self.base_url}/v1/{self.url_key}/{method}.json"
        try:
            response = self.session.post(url, data=data, timeout=self.timeout)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            raise self._failed(method, purpose, type(exc).__name__) from None
        if response.status_code != 200:
            raise self._failed(method, purpose, f"HTTP {response.status_code}")
        # A delivered request answers {"return": {"status": 200, "message": …}, "entries": […]}.
        result = body.get("return") if isinstance(body, dict) else None
        status = result.get("status") if isinstance(result, dict) else None
        if status != 200:
            raise self._failed(method, purpose, f"return status {status}")

    @staticmethod
    def _failed(method: str, purpose: str, reason: str) -> MessagingUnavailable:
        log.warning("sms gateway kavenegar %s failed for %s: %s", method, purpose, reason)
        return MessagingUnavailable(f"kavenegar {method} failed: {reason}")

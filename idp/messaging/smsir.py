"""SMS.ir (اس‌ام‌اس دات آی‌آر), an Iranian SMS gateway, over its REST API v1.

One-time codes go through ``POST /v1/send/verify`` (a template approved in the operator's panel,
filled with the code as one named parameter: it is delivered on the fast OTP route); other
texts through ``POST /v1/send/bulk`` from the configured line. The API key travels in the
``X-API-KEY`` header; every answer is ``{"status": 1, "message": "موفق", "data": …}`` when it
was accepted (HTTP 200), another ``status`` and HTTP 400/401/429/500 when not
(https://apidocs.sms.ir). Neither the key, the code nor the recipient is ever logged.
"""

import logging

import requests

from idp import outbound
from idp.identifiers import mobile_local
from idp.messaging.base import MessagingUnavailable
from idp.settings import ConfigurationError

log = logging.getLogger(__name__)
ACCEPTED = 1


class SmsIrSms:
    def __init__(self, api_key: str, base_url: str, template_id: int, code_parameter: str,
                 line_number: str, timeout: float,
                 session: requests.Session | None = None) -> None:
        if not api_key:
            raise ConfigurationError("sms: smsir_api_key is required for the smsir gateway")
        if not template_id:
            raise ConfigurationError("sms: smsir_template_id is required for the smsir gateway")
        self.base_url = base_url.rstrip("/")
        self.template_id = template_id
        self.code_parameter = code_parameter
        self.line_number = line_number
        self.timeout = timeout
        # ``timeout`` is each send's total deadline (idp.outbound).
        self.session = session or outbound.session()
        self.session.headers.update({"X-API-KEY": api_key, "Accept": "application/json"})

    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        if code is not None:
            method = "send/verify"
            payload: dict = {"mobile": mobile_local(to), "templateId": self.template_id,
                             "parameters": [{"name": self.code_parameter, "value": code}]}
        elif self.line_number:
            method = "send/bulk"
            payload = {"lineNumber": self.line_number, "messageText": text,
                       "mobiles": [mobile_local(to)]}
        else:
            raise self._failed("send/bulk", purpose, "no smsir_line_number for plain texts")
        try:
            response = self.session.post(f"{self.base_url}/v1/{method}", json=payload,
                                         timeout=self.timeout)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            raise self._failed(method, purpose, type(exc).__name__) from None
        if response.status_code != 200:
            raise self._failed(method, purpose, f"HTTP {response.status_code}")
        status = body.get("status") if isinstance(body, dict) else None
        if status != ACCEPTED:
            raise self._failed(method, purpose, f"status {status}")

    @staticmethod
    def _failed(method: str, purpose: str, reason: str) -> MessagingUnavailable:
        log.warning("sms gateway smsir %s failed for %s: %s", method, purpose, reason)
        return MessagingUnavailable(f"smsir {method} failed: {reason}")

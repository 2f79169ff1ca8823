"""Structured logs: one JSON object a line, with the ``extra`` fields a call site gave and
the request id of the request being served.

Call sites never pass secrets, one-time codes or tokens; as a second line of defence a field
named like one is written as ``[redacted]`` whatever its value.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from idp.request_id import RequestIdFilter

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Field names (or their last part, as in ``detail_code``) that only ever hold a secret.
_SECRET_NAMES = {"password", "secret", "client_secret", "token", "access_token",
                 "refresh_token", "id_token", "code", "otp", "api_key", "authorization",
                 "cookie", "code_verifier", "assertion", "client_assertion"}


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or lowered.removeprefix("detail_") in _SECRET_NAMES


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update({k: "[redacted]" if _is_secret(k) else v
                      for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_handler(stream: TextIO) -> logging.Handler:
    """JSON lines with the request id, to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: int = logging.INFO) -> None:
    """Send the provider's logs to stderr as JSON, unless the host already configured them."""
    logger = logging.getLogger("idp")
    if logger.handlers:
        return
    logger.addHandler(json_handler(sys.stderr))
    logger.setLevel(level)

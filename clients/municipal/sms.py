"""Texts to citizens. In development, the provider's outbox format (issue 10): one
``{"to": "09…", "text", "code", "purpose", "at"}`` JSON line per message, appended with a single
write to a file of mode 0600 (it holds codes)."""

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
LOCAL_MOBILE = re.compile(r"^09[0-9]{9}$", re.ASCII)


class SmsUnavailable(Exception):
    """The text could not be handed over."""


def local_mobile(text: str | None) -> str | None:
    """SPEC §8: an Iranian mobile as ``09…`` (Persian digits, spaces, +98 and 0098 taken), or
    None when it is not one."""
    value = re.sub(r"[\s\-()\u200c\u200e\u200f]", "", (text or "").translate(DIGITS))
    for prefix in ("+98", "0098", "98"):
        if value.startswith(prefix) and len(value) == len(prefix) + 10:
            value = "0" + value[len(prefix):]
            break
    if len(value) == 10 and value.startswith("9"):
        value = "0" + value
    return value if LOCAL_MOBILE.match(value) else None


class OutboxSms:
    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        record = {"to": to, "text": text, "code": code, "purpose": purpose,
                  "at": datetime.now(UTC).isoformat(timespec="seconds")}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                written = os.write(descriptor, line)
            finally:
                os.close(descriptor)
        except OSError as error:
            raise SmsUnavailable(type(error).__name__) from None
        if written != len(line):
            raise SmsUnavailable("short write")

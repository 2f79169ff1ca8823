"""Development gateways: messages are appended to a JSON-lines file instead of being sent.

Several gunicorn workers may write the same file, so each message is one ``os.write`` on a
descriptor opened with ``O_APPEND``: the kernel appends every write whole, and readers never
see two messages interleaved.
"""

import json
import os
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from idp.identifiers import mobile_local
from idp.messaging.base import MessagingUnavailable


def append_json_line(path: Path, record: dict) -> None:
    """Append ``record`` as one line with a single write (file mode 0600: it holds codes)."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            written = os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        raise MessagingUnavailable(f"outbox not writable: {type(exc).__name__}") from None
    if written != len(line):
        raise MessagingUnavailable("outbox write was cut short")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_outbox(path: Path, limit: int = 50) -> list[dict]:
    """The newest ``limit`` messages of an outbox file, newest first (for the dev page)."""
    newest: deque[dict] = deque(maxlen=limit)
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    newest.append(record)
    except FileNotFoundError:
        return []
    return list(reversed(newest))


class OutboxSms:
    """SMS "gateway" for development: ``{"to": "09…", "text", "code", "purpose", "at"}`` lines."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        append_json_line(self.path, {"to": mobile_local(to), "text": text, "code": code,
                                     "purpose": purpose, "at": _now()})


class OutboxMailer:
    """E-mail for development: ``{"to", "subject", "text", "code", "purpose", "at"}`` lines."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, to: str, subject: str, text: str, *, code: str | None = None,
             purpose: str = "") -> None:
        append_json_line(self.path, {"to": to, "subject": subject, "text": text, "code": code,
                                     "purpose": purpose, "at": _now()})

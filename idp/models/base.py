"""Column helpers shared by the models."""

import secrets
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    """An unguessable identifier: subjects and grant ids must not be enumerable."""
    return secrets.token_urlsafe(16)

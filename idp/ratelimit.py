"""Rate limits on every SMS-sending or guessable step (SPEC §7), with Flask-Limiter.

Limits are read from ``[ratelimit]`` at request time, so each is its own setting; the counters
live in Redis when one is configured (shared by every instance), in memory otherwise.
"""

from collections.abc import Callable

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from idp.identifiers import normalize_mobile
from idp.services import services

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def setting(name: str) -> Callable[[], str]:
    """A limit whose value is the ``[ratelimit] <name>`` setting."""
    return lambda: getattr(services().settings.ratelimit, name)


def typed_mobile() -> str:
    """Counts per mobile number typed on the first step, however it was written."""
    return "mobile:" + (normalize_mobile(request.form.get("mobile", "")) or "invalid")


def per_ip(name: str, methods: tuple[str, ...] = ("POST",)):
    """A limit per client address, shared by every view that names the same setting."""
    return limiter.shared_limit(setting(name), scope=name, methods=list(methods))


def per_mobile(name: str, key: Callable[[], str]):
    """A limit per mobile number, shared by every view that names the same setting."""
    return limiter.shared_limit(setting(name), scope=name, key_func=key, methods=["POST"])

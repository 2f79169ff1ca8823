"""Rate limits on every SMS-sending or guessable step (SPEC §7), with Flask-Limiter.

Limits are read from ``[ratelimit]`` at request time, so each is its own setting; the counters
live in Redis when one is configured (shared by every instance), in memory otherwise.

Two kinds: decorators (:func:`per_ip`, :func:`per_key`, :func:`counted_when`) count requests
before a view runs; budgets (:func:`spend`) are taken in code only when the thing they protect
really happens (an SMS leaves), so posting garbage cannot use up somebody else's budget.
"""

from collections.abc import Callable

from flask import g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from idp.services import services

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def setting(name: str) -> Callable[[], str]:
    """A limit whose value is the ``[ratelimit] <name>`` setting."""
    return lambda: getattr(services().settings.ratelimit, name)


def per_ip(name: str, methods: tuple[str, ...] = ("POST",)):
    """A limit per client address, shared by every view that names the same setting."""
    return limiter.shared_limit(setting(name), scope=name, methods=list(methods))


def per_key(name: str, key: Callable[[], str]):
    """A limit per what ``key`` names (a mobile, a pending login), shared by every view that
    names the same setting; the caller says what it defends against."""
    return limiter.shared_limit(setting(name), scope=name, key_func=key, methods=["POST"])


def mark_deducted(flag: str) -> None:
    """Let a limit declared with :func:`counted_when` count this request."""
    g.setdefault("ratelimit_marks", set()).add(flag)


def counted_when(name: str, key: Callable[[], str], flag: str):
    """A limit that is checked on every POST but counts only requests the view marked with
    :func:`mark_deducted` (``flag``): a refused request of another kind costs nothing."""
    return limiter.shared_limit(
        setting(name), scope=name, key_func=key, methods=["POST"],
        deduct_when=lambda _response: flag in g.get("ratelimit_marks", ()))


def spend(budgets: list[tuple[str, str]]) -> str | None:
    """Take one from each ``(setting name, key)`` budget, all or none.

    Returns the name of the first budget that is used up (nothing is taken then), or None.
    """
    if not services().settings.ratelimit.enabled:
        return None
    strategy = limiter.limiter
    items = [(name, key, item) for name, key in budgets
             for item in parse_many(getattr(services().settings.ratelimit, name))]
    for name, key, item in items:
        if not strategy.test(item, "idp-budget", name, key):
            return name
    for name, key, item in items:
        strategy.hit(item, "idp-budget", name, key)
    return None


def exhausted(name: str, key: str) -> bool:
    """True when the ``(setting name, key)`` budget is used up (nothing is taken)."""
    if not services().settings.ratelimit.enabled:
        return False
    strategy = limiter.limiter
    return any(not strategy.test(item, "idp-budget", name, key)
               for item in parse_many(getattr(services().settings.ratelimit, name)))


def take(name: str, key: str) -> None:
    """Count one against a budget that :func:`exhausted` checks (a failure, a denial)."""
    if not services().settings.ratelimit.enabled:
        return
    for item in parse_many(getattr(services().settings.ratelimit, name)):
        limiter.limiter.hit(item, "idp-budget", name, key)

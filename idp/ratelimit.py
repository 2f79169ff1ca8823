"""Rate limits on every SMS-sending or guessable step (SPEC §7), with Flask-Limiter.

Limits are read from ``[ratelimit]`` at request time, so each is its own setting; the counters
live in Redis when one is configured (shared by every instance), in memory otherwise.

Two kinds: decorators (:func:`per_ip`, :func:`per_key`, :func:`counted_when`) check requests
before a view runs; budgets (:func:`spend`, :func:`deduct`) are taken in code only when the
thing they protect really happens (an SMS leaves, a wrong code is typed), so posting garbage
cannot use up somebody else's budget.

When Redis is down the limits fail closed: the request gets the "try again later" page (503)
or ``temporarily_unavailable``, as every other use of Redis does (idp.error_pages). Neither of
Flask-Limiter's softer choices fits a national login: ``swallow_errors`` lets every request
through unlimited, so the hour Redis is down is an open hour for SMS bombing and SMS pumping;
the in-memory fallback gives each worker process its own counters, so the budgets multiply by
the number of workers and instances and start again at every restart. Nothing is lost by
refusing: journeys, codes and sessions live in the same Redis, so no login could finish anyway.
Every storage call is made before or inside the view (no rate-limit headers, no deduction after
the response), so an outage in the middle of a request is still answered by that page.
"""

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from idp.services import services
from idp.store import REDIS_TIMEOUTS

# Headers would cost a Redis read after the view (and tell a guesser how many tries are left).
limiter = Limiter(key_func=get_remote_address, headers_enabled=False)
# Redis errors arrive as limits.errors.StorageError (a 503, idp.error_pages), within the store's
# time-outs.
STORAGE_OPTIONS = {"wrap_exceptions": True, **REDIS_TIMEOUTS}
BUDGETS = "idp-budget"


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


def counted_when(name: str, key: Callable[[], str], flag: str):
    """A limit that is checked on every POST but counts only requests the view names with
    :func:`deduct` (``flag``): a refused request of another kind costs nothing."""
    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if request.method == "POST" and services().settings.ratelimit.enabled:
                budget = (name, key())
                if not _left(budget):
                    raise TooManyRequests()
                g.setdefault("ratelimit_counted", {})[flag] = budget
            return view(*args, **kwargs)
        return checked
    return decorate


def deduct(flag: str) -> None:
    """Count this request against the limit declared with :func:`counted_when` (``flag``)."""
    budget = g.get("ratelimit_counted", {}).pop(flag, None)
    if budget is not None:
        _take([budget])


def spend(budgets: list[tuple[str, str]]) -> str | None:
    """Take one from each ``(setting name, key)`` budget, all or none.

    Returns the name of the first budget that is used up (nothing is taken then), or None.
    """
    if not services().settings.ratelimit.enabled:
        return None
    for budget in budgets:
        if not _left(budget):
            return budget[0]
    _take(budgets)
    return None


def _limits(name: str):
    return parse_many(getattr(services().settings.ratelimit, name))


def _left(budget: tuple[str, str]) -> bool:
    name, key = budget
    return all(limiter.limiter.test(item, BUDGETS, name, key) for item in _limits(name))


def _take(budgets: list[tuple[str, str]]) -> None:
    for name, key in budgets:
        for item in _limits(name):
            limiter.limiter.hit(item, BUDGETS, name, key)

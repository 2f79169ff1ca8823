"""The pending login: its plan, what it has proved so far, and where it lives.

A journey is one pending login: the /authorize request it will answer, the plan of steps made
when it started (:mod:`flows.plan`), and the facts its steps learnt. It lives in the store for
ten minutes from its start, bound to the browser session. A step's views are guarded by
:func:`at_step`, which sends the browser to the journey's current step instead (SPEC §3: each
step is done once, in order, and none can be skipped by posting to a later URL).
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import wraps

from flask import g, redirect, session, url_for
from flask.typing import ResponseReturnValue

from flows.errors import expired
from idp.authn import Authentication
from idp.services import services


@dataclass
class Journey:
    id: str
    # The /authorize parameters to answer; None when the citizen logs in to the provider itself.
    params: dict[str, str] | None
    client_id: str | None
    created_at: int
    # How the citizen proves who they are: "otp", or "session" under single sign-on.
    method: str
    plan: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    current: str | None = None
    login_hint: str | None = None
    # Facts, each set by the step that learnt it.
    mobile: str | None = None
    authn: dict | None = None
    account_id: str | None = None
    postal_review: bool = False

    @property
    def authentication(self) -> Authentication | None:
        return Authentication.from_dict(self.authn) if self.authn else None

    def complete(self, step: str) -> None:
        """Mark ``step`` done; :func:`flows.finish.proceed` then moves on."""
        if step not in self.done:
            self.done.append(step)


def new_journey(params: dict[str, str] | None, client_id: str | None, *, method: str,
                login_hint: str | None = None) -> Journey:
    return Journey(id=secrets.token_urlsafe(24), params=params, client_id=client_id,
                   created_at=int(time.time()), method=method, login_hint=login_hint)


def save(journey: Journey) -> None:
    """Store the journey; its life counts from its start, not from the last step."""
    lifetime = services().settings.journey.lifetime_seconds
    left = journey.created_at + lifetime - int(time.time())
    services().store.put(f"journey:{journey.id}", asdict(journey), left)
    session["journey"] = journey.id
    g.journey = journey


def current() -> Journey | None:
    """The journey bound to this browser session, if it has not expired."""
    if "journey" in g:
        return g.journey
    journey_id = session.get("journey")
    data = services().store.get(f"journey:{journey_id}") if journey_id else None
    g.journey = Journey(**data) if data else None
    return g.journey


def discard(journey: Journey) -> None:
    services().store.delete(f"journey:{journey.id}")
    session.pop("journey", None)
    g.journey = None


def where(journey: Journey) -> str:
    """The URL of the journey's current step (the finish when none is left)."""
    return url_for(f"login.{journey.current}" if journey.current else "login.finish")


def at_step(step: str) -> Callable:
    """Guard a view of ``step``: it runs with the journey only when ``step`` is its current one."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def guarded(*args, **kwargs) -> ResponseReturnValue:
            journey = current()
            if journey is None:
                return expired()
            if journey.current != step:
                return redirect(where(journey))
            return view(journey, *args, **kwargs)

        return guarded

    return decorator


def mobile_key() -> str:
    """The rate-limit key of the journey's mobile (the one-time code's receiver)."""
    journey = current()
    return "mobile:" + (journey.mobile if journey and journey.mobile else "none")

"""The pending login: its plan, what it has proved so far, and where it lives.

A journey is one pending login: the /authorize request it will answer, the plan of steps made
when it started (:mod:`flows.plan`), and the facts its steps learnt. It lives in the store for
ten minutes from its start. The browser's session cookie holds only the ids of its pending
journeys — one per tab, several at once — and every step URL names its journey (``?j=``), so
a form answers the journey that showed it, never one another tab started since (issue 6).
A step's views are guarded by :func:`at_step`, which sends the browser to the journey's
current step instead (SPEC §3: each step is done once, in order, and none can be skipped by
posting to a later URL).
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from flows import bp
from flows.errors import expired
from idp.authn import Authentication
from idp.services import services

# Pending journeys one browser keeps at once (one per tab); the oldest is forgotten first.
MAX_PENDING = 5


@dataclass
class Journey:
    id: str
    # The /authorize parameters to answer; None when the citizen logs in to the provider itself.
    params: dict[str, str] | None
    client_id: str | None
    created_at: int
    # How the citizen proves who they are: "otp", "qr", or "session" under single sign-on.
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
    # The ``company`` claim of a company login, once its CEO was confirmed (issue 8).
    company: dict | None = None
    # The QR login flow this journey shows (idp.devices.qrlogin), when the citizen chose it.
    qr_flow: str | None = None

    @property
    def live(self) -> bool:
        """Within its lifetime (SPEC §3: ten minutes from the start, not from the last step)."""
        lifetime = services().settings.journey.lifetime_seconds
        return time.time() < self.created_at + lifetime

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
    """Store the journey and bind it to this browser.

    It is kept one lifetime longer than it lives, so that the page saying it expired can still
    offer to start the same request again.
    """
    lifetime = services().settings.journey.lifetime_seconds
    left = journey.created_at + lifetime - int(time.time())
    # Its fields as they are (JSON copies them): ``asdict``'s deep copy cost more than the write.
    services().store.put(f"journey:{journey.id}", vars(journey), left + lifetime)
    _bind(journey.id)
    g.journey = journey


def _bind(journey_id: str, replacing: str | None = None) -> None:
    known = session.get("journeys", [])
    pending = [i for i in known if i not in (journey_id, replacing)]
    bound = [*pending, journey_id][-MAX_PENDING:]
    if bound != known:
        # Only a change re-signs the cookie.
        session["journeys"] = bound


def current() -> Journey | None:
    """The journey this request names (``?j=``, else this browser's newest), if it is one of
    this browser's; it may have outlived its lifetime (see :attr:`Journey.live`)."""
    if "journey" in g:
        return g.journey
    pending = session.get("journeys", [])
    named = request.args.get("j")
    journey_id = named if named in pending else None if named else (pending or [None])[-1]
    data = services().store.get(f"journey:{journey_id}") if journey_id else None
    g.journey = Journey(**data) if data else None
    return g.journey


def live() -> Journey | None:
    """The journey this request names, if it is still within its lifetime."""
    journey = current()
    return journey if journey is not None and journey.live else None


def renew(journey: Journey) -> None:
    """Give the journey a new id once the citizen has proved who they are (issue 6).

    A copy of the browser's cookie taken before the proof names only the old id, which is gone,
    so it cannot carry on the citizen's login.
    """
    old = journey.id
    journey.id = secrets.token_urlsafe(24)
    services().store.delete(f"journey:{old}")
    _bind(journey.id, replacing=old)


def discard(journey: Journey) -> None:
    services().store.delete(f"journey:{journey.id}")
    session["journeys"] = [i for i in session.get("journeys", []) if i != journey.id]
    g.journey = None


@bp.url_defaults
def _name_the_journey(endpoint: str, values: dict) -> None:
    """Every URL of the journey's pages names the journey being shown."""
    journey = g.get("journey")
    if journey is not None and "j" not in values:
        values["j"] = journey.id


def where(journey: Journey) -> str:
    """The URL of the journey's current step (the finish when none is left)."""
    return url_for(f"login.{journey.current}" if journey.current else "login.finish")


def at_step(step: str) -> Callable:
    """Guard a view of ``step``: it runs with the journey only when ``step`` is its current one."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def guarded(*args, **kwargs) -> ResponseReturnValue:
            journey = live()
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

"""Which step of the login comes next: the journey as data, and a pure function over it.

A journey is one pending login: the /authorize request it will answer and what the citizen has
proved so far. It lives in the store for ten minutes, bound to the browser session. Each step
view asks :func:`next_step` and refuses to run out of turn (SPEC §3: no step can be skipped).
"""

import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from flask import g, redirect, session, url_for
from werkzeug.wrappers import Response

from idp.services import services


class Step(StrEnum):
    MOBILE = "mobile"
    OTP = "otp"
    IDENTITY = "identity"
    POSTAL = "postal"
    CONSENT = "consent"
    DONE = "done"


@dataclass
class Journey:
    id: str
    # The /authorize parameters to resume; None when the citizen logs in to the provider itself.
    params: dict[str, str] | None
    client_id: str | None
    created_at: int
    login_hint: str | None = None
    mobile: str | None = None
    otp_verified: bool = False
    amr: list[str] = field(default_factory=list)
    auth_time: int | None = None
    account_id: str | None = None
    identity_verified: bool = False
    postal_needed: bool = False
    postal_done: bool = False
    consent_needed: bool = False
    consent_given: bool = False
    # True when an existing provider session proved the citizen (single sign-on).
    by_session: bool = False


def next_step(journey: Journey) -> Step:
    """The first step this journey has not done yet (SPEC §3)."""
    if not journey.by_session:
        if journey.mobile is None:
            return Step.MOBILE
        if not journey.otp_verified:
            return Step.OTP
        if not journey.identity_verified:
            return Step.IDENTITY
        if journey.postal_needed and not journey.postal_done:
            return Step.POSTAL
    if journey.consent_needed and not journey.consent_given:
        return Step.CONSENT
    return Step.DONE


def new_journey(params: dict[str, str] | None, client_id: str | None,
                login_hint: str | None = None) -> Journey:
    return Journey(id=secrets.token_urlsafe(24), params=params, client_id=client_id,
                   created_at=int(time.time()), login_hint=login_hint)


# -- persistence: the journey in the store, its id in the browser session --------------------

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


def step_url(step: Step) -> str:
    return url_for(f"login.{step.value}")


def go_on(journey: Journey) -> Response:
    """Redirect to where the journey stands; finishing happens at the consent/finish view."""
    step = next_step(journey)
    if step is Step.DONE:
        return redirect(url_for("login.finish"))
    return redirect(step_url(step))

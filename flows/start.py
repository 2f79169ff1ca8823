"""A journey begins: the provider hands over a validated request (:mod:`idp.interaction`).

The plan is made here, from the way the citizen will log in and what the request asks for.
"""

from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import redirect
from flask.typing import ResponseReturnValue

from flows.finish import finish
from flows.journey import Journey, new_journey, save, where
from flows.plan import Start, advance, make_plan
from idp.interaction import LoginRequest
from idp.oidc.authorize import refuse
from idp.oidc.claims import requested_scopes
from idp.services import services

# How a citizen without a provider session proves who they are, unless they choose another way.
DEFAULT_METHOD = "otp"


class Journeys:
    """The journey as the provider's :class:`idp.interaction.Interaction`."""

    def begin(self, login: LoginRequest | None) -> ResponseReturnValue:
        if login is None:
            journey = new_journey(None, None, method=DEFAULT_METHOD)
            journey.plan = make_plan(Start(method=DEFAULT_METHOD, relying_party=False))
        else:
            journey = self._journey_for(login)
        step = advance(journey)
        if login is not None and "none" in login.prompts:
            # OIDC Core §3.1.2.6: with prompt=none no page may be shown.
            if login.session_user is None:
                return refuse(login.params, LoginRequiredError)
            if step is not None:
                return refuse(login.params, ConsentRequiredError if step == "consent"
                              else InteractionRequiredError)
        if step is None:
            return finish(journey)
        save(journey)
        return redirect(where(journey))

    @staticmethod
    def _journey_for(login: LoginRequest):
        user = login.session_user
        method = "session" if user is not None else DEFAULT_METHOD
        journey = new_journey(login.params, login.client_id, method=method,
                              login_hint=login.params.get("login_hint"))
        if user is not None:
            journey.account_id = user.account.id
            journey.authn = user.authn.to_dict()
        client = services().oauth_server.query_client(login.client_id)
        journey.plan = make_plan(Start(method=method, relying_party=True, prompts=login.prompts,
                                       scopes=frozenset(requested_scopes(login.params)),
                                       legal_entity=client.legal_entity))
        return journey


def start_of(journey: Journey, method: str) -> Start:
    """What a step's ``applies`` sees for ``journey`` logging in by ``method``."""
    if journey.params is None:
        return Start(method=method, relying_party=False)
    return Start(method=method, relying_party=True,
                 prompts=tuple(journey.params.get("prompt", "").split()),
                 scopes=frozenset(requested_scopes(journey.params)))


def switch_method(journey: Journey, method: str) -> None:
    """The citizen chose another way to prove who they are (the login page's tabs): the plan
    is made again for it. Only before anything was proved."""
    journey.method = method
    journey.plan = make_plan(start_of(journey, method))
    journey.done = []
    advance(journey)

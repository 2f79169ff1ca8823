"""The one way a login ends (SPEC §3 step 7), whatever way the citizen came in.

After each step, :func:`proceed` moves the journey to the next step of its plan, or — when none
is left — :func:`finish` starts the provider session (with a new id, SPEC §7) and has the
provider answer the pending /authorize request with a code. Consent, single sign-on and every
later way in end here.
"""

from flask import redirect, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from flows import bp
from flows.errors import expired
from flows.journey import Journey, discard, live, save, where
from flows.plan import advance
from idp.audit import record
from idp.models import Account
from idp.oidc.authorize import respond
from idp.oidc.claims import parse_claims_request
from idp.oidc.logout import end_replaced_session
from idp.services import services
from idp.sessions import SessionUser, remember_client, start_session


def proceed(journey: Journey) -> ResponseReturnValue:
    """Go on to the journey's next step, or finish it when its plan is done.

    The step's database changes and its audit rows are committed here, once per step.
    """
    if advance(journey) is None:
        return finish(journey)
    services().db.session.commit()
    save(journey)
    return redirect(where(journey))


def log_in(journey: Journey) -> SessionUser:
    """The provider session of this login: the existing one, or a new one with a new id."""
    if journey.method == "session":
        return current_user._get_current_object()
    replaced = current_user._get_current_object() if current_user.is_authenticated else None
    account = services().db.session.get(Account, journey.account_id)
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    if replaced is not None:
        # A browser has one provider session: the one this login replaces ends (issue 6).
        end_replaced_session(replaced, except_client=journey.client_id)
    user = start_session(account, journey.authentication, journey.client_id)
    login_user(user)
    record("login.success", account_id=account.id, client_id=journey.client_id,
           amr=" ".join(user.authn.amr))
    return user


def finish(journey: Journey) -> ResponseReturnValue:
    """Start the session and answer the pending request (or open the account page)."""
    user = log_in(journey)
    discard(journey)
    db = services().db.session
    if journey.params is None:
        db.commit()
        return redirect(url_for("account.index"))
    remember_client(user, journey.client_id)
    db.commit()
    return respond(journey.params, user.grant_user(
        claims=parse_claims_request(journey.params.get("claims")),
        locale=session.get("locale", "fa")))


def deny(journey: Journey) -> ResponseReturnValue:
    """The citizen said no: the client gets ``access_denied`` (RFC 6749 §4.1.2.1)."""
    discard(journey)
    services().db.session.commit()
    return respond(journey.params, None)


@bp.route("/finish")
def finish_view() -> ResponseReturnValue:
    journey = live()
    if journey is None:
        return expired()
    if journey.current is not None:
        return redirect(where(journey))
    return finish(journey)

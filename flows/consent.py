"""Step 6: consent for clients not marked first-party, remembered per client and scope set.

Then the journey finishes: the provider session starts (with a new id) and the pending
/authorize request is answered with a code (SPEC §3 steps 6–7).
"""

from authlib.oauth2 import OAuth2Error
from flask import redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import select

from flows import bp
from flows import journey as journeys
from flows.forms import ConsentForm
from flows.pages import expired, require
from idp.audit import record
from idp.models import Account, Consent
from idp.oidc.claims import LOA_OTP, parse_claims_request, scopes_for_claims
from idp.oidc.grants import AuthenticatedUser
from idp.services import services
from idp.sessions import SessionUser, public_sid, remember_client, start_session

SCOPE_DESCRIPTIONS = {
    "openid": _l("شناسایی شما با پنجره ملی خدمات دولت هوشمند"),
    "profile": _l("نام، نام خانوادگی، نام پدر، جنسیت و تاریخ تولد"),
    "email": _l("نشانی ایمیل"),
    "phone": _l("شماره تلفن همراه"),
    "address": _l("کد پستی نشانی محل اقامت"),
    "national_id": _l("کد ملی یا کد فیدا"),
    "company": _l("شرکتی که به عنوان مدیرعامل آن وارد می‌شوید"),
    "offline_access": _l("دسترسی به اطلاعات شما حتی وقتی در سامانه حضور ندارید"),
}


def requested_scopes(params: dict) -> set[str]:
    """The scopes to consent to: asked for directly or through the ``claims`` parameter."""
    scopes = set(params.get("scope", "").split())
    return scopes | scopes_for_claims(parse_claims_request(params.get("claims")))


def consent_required(*, first_party: bool, requested: set[str], remembered: set[str] | None,
                     prompts: list[str]) -> bool:
    """Whether the consent page must be shown (issue 2: prompt=consent always shows it)."""
    if "consent" in prompts:
        return True
    if first_party:
        return False
    return remembered is None or not requested <= remembered


def remembered_scopes(account_id: str, client_id: str) -> set[str] | None:
    consent = services().db.session.scalars(select(Consent).where(
        Consent.account_id == account_id, Consent.client_id == client_id)).first()
    return set(consent.scope.split()) if consent else None


def needs_consent(journey: journeys.Journey) -> bool:
    client = services().oauth_server.query_client(journey.client_id)
    return consent_required(first_party=client.first_party,
                            requested=requested_scopes(journey.params),
                            remembered=remembered_scopes(journey.account_id, client.client_id),
                            prompts=journey.params.get("prompt", "").split())


def remember_consent(account_id: str, client_id: str, scopes: set[str]) -> None:
    db = services().db.session
    consent = db.scalars(select(Consent).where(Consent.account_id == account_id,
                                               Consent.client_id == client_id)).first()
    if consent is None:
        db.add(Consent(account_id=account_id, client_id=client_id, scope=" ".join(sorted(scopes))))
    else:
        consent.scope = " ".join(sorted(set(consent.scope.split()) | scopes))
    record("consent.granted", account_id=account_id, client_id=client_id,
           scope=" ".join(sorted(scopes)))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    journey = require(journeys.Step.CONSENT)
    if not isinstance(journey, journeys.Journey):
        return journey
    client = services().oauth_server.query_client(journey.client_id)
    scopes = requested_scopes(journey.params)
    form = ConsentForm()
    if form.validate_on_submit() and form.decision.data in {"allow", "deny"}:
        if form.decision.data == "deny":
            record("consent.denied", account_id=journey.account_id, client_id=client.client_id)
            services().db.session.commit()
            return finish_journey(journey, granted=False)
        remember_consent(journey.account_id, client.client_id, scopes)
        services().db.session.commit()
        journey.consent_given = True
        journeys.save(journey)
        return journeys.go_on(journey)
    listed = [(s, str(text)) for s, text in SCOPE_DESCRIPTIONS.items() if s in scopes]
    return render_template("login/consent.html", client_name=client.name, scopes=listed,
                           form=form)


@bp.route("/finish")
def finish():
    journey = journeys.current()
    if journey is None:
        return expired()
    if journeys.next_step(journey) is not journeys.Step.DONE:
        return journeys.go_on(journey)
    if journey.params is not None and not journey.consent_given and needs_consent(journey):
        journey.consent_needed = True
        journeys.save(journey)
        return journeys.go_on(journey)
    return finish_journey(journey, granted=True)


def log_in(journey: journeys.Journey) -> SessionUser:
    """Start the provider session; the browser session is cleared so its id changes."""
    if journey.by_session:
        return current_user._get_current_object()
    account = services().db.session.get(Account, journey.account_id)
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    user = start_session(account, amr=journey.amr, acr=LOA_OTP, auth_time=journey.auth_time)
    login_user(user)
    record("login.success", account_id=account.id, client_id=journey.client_id,
           amr=" ".join(journey.amr))
    return user


def finish_journey(journey: journeys.Journey, *, granted: bool):
    """Answer the pending /authorize request (or open the account page)."""
    user = log_in(journey) if granted else None
    journeys.discard(journey)
    db = services().db.session
    if journey.params is None:
        db.commit()
        return redirect(url_for("account.profile"))
    server = services().oauth_server
    if user is not None:
        remember_client(user, journey.client_id)
        grant_user = AuthenticatedUser(
            account=user.account, auth_time=user.auth_time, amr=user.amr, acr=user.acr,
            sid=public_sid(user.sid), claims=parse_claims_request(journey.params.get("claims")),
            locale=session.get("locale", "fa"))
    else:
        grant_user = None
    db.commit()
    request = server.create_oauth2_request(journey.params)
    try:
        grant = server.get_consent_grant(request=request, end_user=grant_user)
    except OAuth2Error as error:
        return server.handle_error_response(request, error)
    return server.create_authorization_response(request=request, grant_user=grant_user,
                                                grant=grant)


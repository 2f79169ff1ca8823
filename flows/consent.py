"""Step 6: consent for clients not marked first-party, remembered per client and scope set.

Verified claims (issue 11) are consented to one by one, remembered as ``verified:<claim>``
beside the scopes: a client that asks for them is shown what it will get, even when the same
claims were consented to without their verification.
"""

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from flows import bp
from flows.errors import error_page
from flows.finish import deny, proceed
from flows.forms import ConsentForm
from flows.journey import Journey, at_step
from flows.plan import Start, Step, register
from idp.audit import record
from idp.models import Account, Consent
from idp.oidc.claims import parse_claims_request, requested_scopes
from idp.oidc.verified_claims import VerifiedClaim, released_claims
from idp.scopes import describe
from idp.services import services


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


def consented_scopes(client, params: dict) -> set[str]:
    """The scopes the citizen is asked to let the client read; a legal-entity client reads the
    company as if it had asked for the ``company`` scope (issue 8)."""
    return requested_scopes(params) | ({"company"} if client.legal_entity else set())


def verified_to_release(journey: Journey, client) -> list[VerifiedClaim]:
    """The verified claims this login would release to ``client``."""
    account = services().db.session.get(Account, journey.account_id)
    return released_claims(parse_claims_request(journey.params.get("claims")),
                           client.scope.split(), account.identity_type if account else None)


def consent_items(journey: Journey, client) -> set[str]:
    """What the citizen is asked to consent to: the scopes, and each verified claim."""
    verified = {f"verified:{claim.name}" for claim in verified_to_release(journey, client)}
    return consented_scopes(client, journey.params) | verified


def needs_consent(journey: Journey) -> bool:
    client = services().oauth_server.query_client(journey.client_id)
    return consent_required(first_party=client.first_party,
                            requested=consent_items(journey, client),
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


def for_relying_parties(start: Start) -> bool:
    return start.relying_party


register(Step("consent", order=60, applies=for_relying_parties, needed=needs_consent))


@bp.route("/consent", methods=["GET", "POST"])
@at_step("consent")
def consent(journey: Journey) -> ResponseReturnValue:
    client = services().oauth_server.query_client(journey.client_id)
    scopes = consented_scopes(client, journey.params)
    verified = verified_to_release(journey, client)
    form = ConsentForm()
    if form.validate_on_submit() and form.decision.data in {"allow", "deny"}:
        if form.client_id.data != client.client_id:
            # The page showed another client than this journey's: nothing is given to anyone.
            return error_page(_("این صفحه دیگر معتبر نیست. لطفا دوباره از سامانه مورد نظر "
                                "وارد شوید."), 409, restart=False)
        if form.decision.data == "deny":
            record("consent.denied", account_id=journey.account_id, client_id=client.client_id)
            return deny(journey)
        remember_consent(journey.account_id, client.client_id,
                         consent_items(journey, client))
        journey.complete("consent")
        return proceed(journey)
    return render_template("login/consent.html", client_name=client.name,
                           client_id=client.client_id, scopes=describe(scopes),
                           verified=[(c.name, str(c.description)) for c in verified], form=form)

"""Step 5: a login on behalf of a company, by its CEO (SPEC §3 step 5; seed 002 after §5.1).

Needed when the relying party asks for the ``company`` scope or is a legal-entity client, also
under single sign-on. The company registry is asked at every company login
(:func:`idp.companies.check_ceo`); the companies the citizen linked before are only offered as
buttons. Cancelling ends the login with ``access_denied``: a client that asked for a company
login gets no code without one.
"""

from flask import render_template
from flask.typing import ResponseReturnValue

from flows import bp
from flows.errors import form_status, unavailable
from flows.finish import deny, proceed
from flows.journey import Journey, at_step
from flows.plan import Start, Step, register
from idp.audit import record
from idp.companies import CompanyForm, check_ceo, linked_companies
from idp.models import Account
from idp.ratelimit import per_ip
from idp.registries import RegistryUnavailable
from idp.services import services


def company_login(start: Start) -> bool:
    """Issue 8: asked for with the ``company`` scope, or always for a legal-entity client."""
    return start.relying_party and ("company" in start.scopes or start.legal_entity)


register(Step("company", order=50, applies=company_login))


def _page(journey: Journey, form: CompanyForm, refusal: tuple | None = None, status: int = 200):
    client = services().oauth_server.query_client(journey.client_id)
    return render_template("login/company.html", form=form, refusal=refusal,
                           client_name=client.name,
                           companies=linked_companies(journey.account_id)), status


@bp.route("/company", methods=["GET", "POST"])
@per_ip("company_per_ip")
@at_step("company")
def company(journey: Journey) -> ResponseReturnValue:
    form = CompanyForm()
    if not form.validate_on_submit():
        return _page(journey, form, status=form_status(form))
    if form.cancelled:
        record("company.cancelled", account_id=journey.account_id, client_id=journey.client_id)
        return deny(journey)
    account = services().db.session.get(Account, journey.account_id)
    try:
        check = check_ceo(account, form.national_id, client_id=journey.client_id)
    except RegistryUnavailable:
        return unavailable()
    if not check.ceo:
        # The refusal (and a link it removed) is kept; the citizen may try another company.
        services().db.session.commit()
        return _page(journey, form, refusal=check.messages, status=422)
    journey.company = check.claim
    journey.complete("company")
    return proceed(journey)

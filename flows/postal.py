"""Step 4: the postal code of the last address registered at the civil registry (seed 002 §4.1).

Confirming keeps it; a different code files an address-update request and the citizen still
logs in. The step comes again only when the registry's code changes.
"""

from flask import render_template
from sqlalchemy.orm import Session

from flows import bp
from flows.errors import form_status
from flows.finish import proceed
from flows.forms import PostalForm
from flows.journey import Journey, at_step
from flows.plan import Start, Step, register
from idp.audit import record
from idp.models import Account, AddressUpdateRequest
from idp.services import services


def answer_postal_code(session: Session, account: Account, postal_code: str) -> bool:
    """Record the citizen's answer; True when it filed an address-update request."""
    account.reviewed_registry_postal_code = account.registry_postal_code
    account.confirmed_postal_code = postal_code
    if postal_code == account.registry_postal_code:
        record("postal.confirmed", account_id=account.id)
        return False
    session.add(AddressUpdateRequest(account_id=account.id,
                                     registry_postal_code=account.registry_postal_code,
                                     postal_code=postal_code))
    record("postal.update_requested", account_id=account.id)
    return True


def after_a_new_proof(start: Start) -> bool:
    """Asked after the citizen proves who they are, not under single sign-on."""
    return start.method != "session"


def registry_code_changed(journey: Journey) -> bool:
    return journey.postal_review


register(Step("postal", order=40, applies=after_a_new_proof, needed=registry_code_changed))


@bp.route("/postal", methods=["GET", "POST"])
@at_step("postal")
def postal(journey: Journey):
    session = services().db.session
    account = session.get(Account, journey.account_id)
    form = PostalForm(data={"postal_code": account.registry_postal_code or ""})
    if not form.validate_on_submit():
        return render_template("login/postal.html", form=form, error=None), form_status(form)
    answer_postal_code(session, account, form.code)
    journey.complete("postal")
    return proceed(journey)

"""Step 3: who owns this mobile — Iranian by national code, foreign national by FIDA code.

The person must exist in the registry with that birth date, and Shahkar must say the mobile is
theirs (SPEC §3 step 3). Only then is the account created or updated from the registry record,
in one commit, with both checks kept as its verification (issue 11); a registry that fails
leaves nothing behind.
"""

import logging

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from flows import bp
from flows.errors import form_status, unavailable
from flows.finish import proceed
from flows.forms import IdentityForm
from flows.journey import Journey, at_step, mobile_key
from flows.otp import by_code
from flows.plan import Step, register
from idp.audit import record
from idp.models import Account
from idp.ratelimit import per_ip, per_key
from idp.registries import Person, RegistryUnavailable
from idp.services import services
from idp.verification import SHAHKAR, checked, keep, person_registry, refresh_from_registry

log = logging.getLogger(__name__)

# seed 004: the registry does not hold this code with this birth date.
MSG_NOT_IN_REGISTRY = _l("اطلاعات وارد شده با اطلاعات موجود در ثبت احوال همخوانی ندارد. "
                       "لطفا اطلاعات خود را مجددا بررسی فرمایید.")
# seed 002 §3.1: the mobile is not the person's own.
MSG_MOBILE_MISMATCH = _l("عدم تطابق شماره تلفن همراه با کد ملی "
                       "(شماره تلفن همراه حتما باید برای خود فرد باشد)")
MSG_MOBILE_MISMATCH_FOREIGN = _l("عدم تطابق شماره تلفن همراه با کد اتباع "
                               "(شماره تلفن همراه حتما باید برای خود فرد باشد)")


def find_person(form: IdentityForm) -> Person | None:
    registries = services().registries
    if form.foreign:
        kind, value = form.secondary
        return registries.foreigners.find_foreigner(form.code, form.birth_date, kind, value)
    return registries.civil.find_person(form.code, form.birth_date)


def link_account(person: Person, mobile: str, form: IdentityForm) -> Account:
    """Create or update the person's account and give it this mobile."""
    session = services().db.session
    code_column = Account.fida_code if form.foreign else Account.national_code
    account = session.scalars(select(Account).where(code_column == form.code)).first()
    previous = session.scalars(select(Account).where(Account.mobile == mobile)).first()
    if previous is not None and previous is not account:
        # Shahkar says the mobile is this person's now: it leaves its former account.
        previous.mobile = None
        record("account.mobile_unlinked", account_id=previous.id, reason="new_owner")
        session.flush()
    created = account is None
    if created:
        account = Account(identity_type=person.identity_type, national_code=person.national_code,
                          fida_code=person.fida_code)
        session.add(account)
    if form.foreign:
        account.foreign_id_type, account.foreign_id_value = form.secondary
    refresh_from_registry(account, person)
    relinked = not created and account.mobile != mobile
    account.mobile = mobile
    session.flush()
    record("account.created" if created else "identity.verified", account_id=account.id,
           relinked=relinked)
    return account


def unknown_owner(journey: Journey) -> bool:
    """Needed when the one-time code did not lead to a known, still-owning account."""
    return journey.account_id is None


register(Step("identity", order=30, applies=by_code, needed=unknown_owner))


@bp.route("/identity", methods=["GET", "POST"])
@at_step("identity")
@per_ip("identity_per_ip")
@per_key("identity_per_mobile", mobile_key)
def identity(journey: Journey):
    form = IdentityForm()
    if request.method == "GET":
        form.identity_type.data = "foreign" if request.args.get("tab") == "foreign" else "iranian"
    tab = "foreign" if form.foreign else "iranian"

    def show(error: str | None = None, status: int | None = None):
        return render_template("login/identity.html", form=form, active_tab=tab,
                               error=error), status or form_status(form)

    if not form.validate_on_submit():
        return show()
    session = services().db.session
    try:
        person = find_person(form)
        found = checked(person_registry(person.identity_type)) if person else None
        owns = person is not None and services().registries.shahkar.owns(
            journey.mobile, person.identity_type, form.code)
    except RegistryUnavailable:
        return unavailable()
    if person is None:
        record("identity.not_in_registry", identity_type=tab)
        session.commit()
        return show(str(MSG_NOT_IN_REGISTRY), 422)
    if not owns:
        record("identity.mobile_mismatch", identity_type=tab)
        session.commit()
        return show(str(MSG_MOBILE_MISMATCH_FOREIGN if form.foreign else MSG_MOBILE_MISMATCH), 422)
    matched = checked(SHAHKAR)
    account = link_account(person, journey.mobile, form)
    keep(account, [found, matched], journey.mobile)
    journey.account_id = account.id
    journey.postal_review = account.postal_review_needed
    journey.complete("identity")
    return proceed(journey)

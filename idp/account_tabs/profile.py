"""The profile tab (مشخصات): the registry's details, the mobile and its change, the e-mail,
the postal code and the address-update requests (issue 12).

A new mobile is first matched with Shahkar against the citizen's own code, so no code is ever
sent to a number that is not theirs (SPEC §3 step 3); then a one-time code goes to the new
mobile, and the old one is told by SMS once the change is made.
"""

import logging

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from idp.account_page import bp, render_tab, signed_in, tab
from idp.account_tabs.forms import CodeForm, EmailCodeForm, EmailForm, MobileChangeForm
from idp.audit import record
from idp.forms import ConfirmForm
from idp.identifiers import mobile_local
from idp.messaging import MessagingUnavailable
from idp.models import Account, AddressUpdateRequest
from idp.otp import (
    MESSAGES,
    Check,
    CooldownActive,
    SendBudgetSpent,
    cannot_send_message,
    check_code,
    issue_code,
    pending_receiver,
    withdraw,
)
from idp.ratelimit import per_ip
from idp.services import services

log = logging.getLogger(__name__)

# SPEC §3 step 3: the same words the identity step uses.
MSG_MOBILE_MISMATCH = _l("عدم تطابق شماره تلفن همراه با کد ملی (شماره تلفن همراه حتما باید برای "
                         "خود فرد باشد)")
MSG_MOBILE_MISMATCH_FOREIGN = _l("عدم تطابق شماره تلفن همراه با کد اتباع (شماره تلفن همراه حتما "
                                 "باید برای خود فرد باشد)")
STATUS = {"pending": _l("در انتظار بررسی"), "approved": _l("تایید شده"),
          "rejected": _l("رد شده")}


def _mobile_key(account: Account) -> str:
    return f"mobile-change:{account.id}"


def email_key(account: Account) -> str:
    """The pending verification of a personal e-mail (its code; its link is kept beside it)."""
    return f"email-verify:{account.id}"


def _email_context(account: Account, form, code_form, error: str | None) -> dict:
    return {"email_form": form or EmailForm(formdata=None),
            "email_code_form": code_form or EmailCodeForm(formdata=None),
            "pending_email": pending_receiver(email_key(account)), "email_error": error}


def show_profile(status: int = 200, *, mobile_form=None, mobile_code_form=None,
                 email_form=None, email_code_form=None, mobile_error: str | None = None,
                 email_error: str | None = None):
    """The profile tab, with any of its forms shown again with their errors."""
    account = current_user.account
    requests = services().db.session.scalars(
        select(AddressUpdateRequest).where(AddressUpdateRequest.account_id == account.id)
        .order_by(AddressUpdateRequest.created_at.desc())).all()
    pending = pending_receiver(_mobile_key(account))
    return render_tab(
        "account/profile.html", tab_endpoint="account.profile", address_requests=requests,
        statuses=STATUS, mobile_form=mobile_form or MobileChangeForm(formdata=None),
        mobile_code_form=mobile_code_form or CodeForm(formdata=None),
        pending_mobile=mobile_local(pending) if pending else None, mobile_error=mobile_error,
        **_email_context(account, email_form, email_code_form, email_error)), status


@tab(bp, "/account/profile", _l("مشخصات"), order=10)
def profile():
    """The registry's details, the mobile, the e-mail, the postal code and its requests."""
    return show_profile()


@bp.route("/account/mobile", methods=["POST"])
@signed_in
@per_ip("otp_send_per_ip")
def change_mobile():
    """Send a code to a new mobile, once Shahkar says it is the citizen's own."""
    account: Account = current_user.account
    form = MobileChangeForm()
    if not form.validate_on_submit():
        return show_profile(422, mobile_form=form)
    new = form.mobile_e164
    if new == account.mobile:
        return show_profile(422, mobile_form=form,
                            mobile_error=_("این شماره هم اکنون شماره تلفن همراه شماست."))
    if not services().registries.shahkar.owns(new, account.identity_type, account.identity_code):
        # No code goes to a number that is not the citizen's (issue 12).
        record("account.mobile_change_refused", account_id=account.id, reason="shahkar")
        services().db.session.commit()
        message = MSG_MOBILE_MISMATCH_FOREIGN if account.identity_type == "foreign" \
            else MSG_MOBILE_MISMATCH
        return show_profile(422, mobile_form=form, mobile_error=str(message))
    key = _mobile_key(account)
    try:
        code = issue_code(key, new, "sms_otp")
    except (CooldownActive, SendBudgetSpent) as refused:
        return show_profile(429, mobile_form=form, mobile_error=cannot_send_message(refused))
    try:
        services().sms.send(new, _("رمز یکبار مصرف تغییر شماره تلفن همراه در پنجره ملی خدمات "
                                   "دولت هوشمند: %(code)s\nاین رمز را در اختیار هیچ کس قرار "
                                   "ندهید.", code=code), code=code, purpose="mobile_change")
    except MessagingUnavailable:
        withdraw(key, new, "sms_otp")
        return show_profile(503, mobile_form=form, mobile_error=_(
            "ارسال پیامک در حال حاضر ممکن نیست. لطفا چند دقیقه دیگر دوباره تلاش کنید."))
    record("account.mobile_code_sent", account_id=account.id)
    services().db.session.commit()
    return redirect(url_for("account.profile", _anchor="mobile-part"))


@bp.route("/account/mobile/confirm", methods=["POST"])
@signed_in
@per_ip("otp_verify_per_ip")
def confirm_mobile():
    """The code sent to the new mobile: the change is made and the old mobile is told."""
    account: Account = current_user.account
    form = CodeForm(length=services().settings.otp.length)
    key = _mobile_key(account)
    new = pending_receiver(key)
    if not form.validate_on_submit():
        return show_profile(422, mobile_code_form=form)
    if new is None:
        return show_profile(422, mobile_code_form=form, mobile_error=str(MESSAGES[Check.EXPIRED]))
    result, _method = check_code(key, new, form.value)
    session = services().db.session
    if result is not Check.OK:
        record("account.mobile_change_failed", account_id=account.id, reason=result.value)
        session.commit()
        return show_profile(422, mobile_code_form=form, mobile_error=str(MESSAGES[result]))
    previous = session.scalars(select(Account).where(Account.mobile == new)).first()
    if previous is not None:
        # Shahkar says the mobile is this citizen's now: it leaves its former account.
        previous.mobile = None
        record("account.mobile_unlinked", account_id=previous.id, reason="new_owner")
        session.flush()
    old = account.mobile
    account.mobile = new
    record("account.mobile_changed", account_id=account.id)
    session.commit()
    if old:
        _tell_old_mobile(old, new)
    flash(_("شماره تلفن همراه شما تغییر کرد."))
    return redirect(url_for("account.profile", _anchor="mobile-part"))


def _tell_old_mobile(old: str, new: str) -> None:
    """The old mobile hears of the change (issue 12); a gateway that is down is only logged."""
    hidden = mobile_local(new)
    hidden = hidden[:4] + "•••" + hidden[-2:]
    try:
        services().sms.send(old, _("شماره تلفن همراه حساب شما در پنجره ملی خدمات دولت هوشمند به "
                                   "%(mobile)s تغییر کرد. اگر این کار را شما انجام نداده‌اید، با "
                                   "پشتیبانی تماس بگیرید.", mobile=hidden),
                            code=None, purpose="mobile_changed")
    except MessagingUnavailable:
        log.warning("could not tell the old mobile of a change")


@bp.route("/account/mobile/cancel", methods=["POST"])
@signed_in
def cancel_mobile():
    """Give up a pending change: its code stops working."""
    if ConfirmForm().validate_on_submit():
        services().store.delete(f"otp:{_mobile_key(current_user.account)}")
    return redirect(url_for("account.profile", _anchor="mobile-part"))

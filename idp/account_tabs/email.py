"""A personal e-mail on the profile tab, verified by a code or a link sent over ``[email]``.

The address becomes the account's only once verified; until then the verified one (if any)
stays in use, so changing it needs verification again without a gap (issue 12). The link
carries a random token kept only as a hash beside the code; using either retires both. The
link opens a page with a button, so a mail scanner that follows links verifies nothing.
"""

import hashlib
import hmac
import secrets

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from idp.account_page import bp, signed_in
from idp.account_tabs.forms import EmailCodeForm, EmailForm
from idp.account_tabs.profile import email_key, show_profile
from idp.audit import record
from idp.forms import ConfirmForm
from idp.messaging import MessagingUnavailable
from idp.models import Account
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

METHOD = "email_verify"


def _link_key(account_id: str) -> str:
    return f"email-link:{account_id}"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@bp.route("/account/email", methods=["POST"])
@signed_in
@per_ip("otp_send_per_ip")
def add_email():
    """Send a code and a link to a personal e-mail the citizen typed."""
    account: Account = current_user.account
    form = EmailForm()
    if not form.validate_on_submit():
        return show_profile(422, email_form=form)
    address = form.address
    if address in (account.national_email, account.verified_email):
        return show_profile(422, email_form=form,
                            email_error=_("این نشانی هم اکنون ایمیل تایید شده شماست."))
    svc = services()
    lifetime = svc.settings.email.verification_lifetime_seconds
    try:
        code = issue_code(email_key(account), address, METHOD, lifetime=lifetime)
    except (CooldownActive, SendBudgetSpent) as refused:
        return show_profile(429, email_form=form, email_error=cannot_send_message(refused))
    token = secrets.token_urlsafe(32)
    svc.store.put(_link_key(account.id), {"email": address, "digest": _token_digest(token)},
                  lifetime)
    link = svc.settings.server.issuer.rstrip("/") + url_for(
        "account.verify_email_link", account_id=account.id, token=token)
    text = _("برای تایید این نشانی به عنوان ایمیل حساب خود در پنجره ملی خدمات دولت هوشمند، این "
             "رمز را در صفحه مشخصات وارد کنید: %(code)s\nیا این پیوند را باز کنید:\n%(link)s\n"
             "اگر این درخواست را شما نداده‌اید، این پیام را نادیده بگیرید.", code=code, link=link)
    try:
        svc.mailer.send(address, _("تایید ایمیل در پنجره ملی خدمات دولت هوشمند"), text,
                        code=code, purpose="email_verify")
    except MessagingUnavailable:
        withdraw(email_key(account), address, METHOD)
        svc.store.delete(_link_key(account.id))
        return show_profile(503, email_form=form, email_error=_(
            "ارسال ایمیل در حال حاضر ممکن نیست. لطفا چند دقیقه دیگر دوباره تلاش کنید."))
    record("account.email_verification_sent", account_id=account.id)
    svc.db.session.commit()
    return redirect(url_for("account.profile", _anchor="email-part"))


def _verified(account: Account, address: str, by: str) -> None:
    """The address is the account's now; the other way of proving it stops working."""
    services().store.delete(_link_key(account.id), f"otp:{email_key(account)}")
    account.email = address
    account.email_verified = True
    record("account.email_verified", account_id=account.id, by=by)
    services().db.session.commit()


@bp.route("/account/email/confirm", methods=["POST"])
@signed_in
@per_ip("otp_verify_per_ip")
def confirm_email():
    """The code from the e-mail, typed on the profile tab."""
    account: Account = current_user.account
    form = EmailCodeForm(length=services().settings.otp.length)
    if not form.validate_on_submit():
        return show_profile(422, email_code_form=form)
    address = pending_receiver(email_key(account))
    if address is None:
        return show_profile(422, email_code_form=form, email_error=str(MESSAGES[Check.EXPIRED]))
    result, _method = check_code(email_key(account), address, form.value)
    if result is not Check.OK:
        record("account.email_verification_failed", account_id=account.id, reason=result.value)
        services().db.session.commit()
        return show_profile(422, email_code_form=form, email_error=str(MESSAGES[result]))
    _verified(account, address, "code")
    flash(_("ایمیل شما تایید شد."))
    return redirect(url_for("account.profile", _anchor="email-part"))


@bp.route("/account/email/verify/<account_id>/<token>", methods=["GET", "POST"])
@per_ip("otp_verify_per_ip", methods=("GET", "POST"))
def verify_email_link(account_id: str, token: str):
    """The link from the e-mail: a page with one button; the press verifies the address."""
    svc = services()
    pending = svc.store.get(_link_key(account_id))
    account = svc.db.session.get(Account, account_id) if pending else None
    if account is None or not hmac.compare_digest(pending["digest"], _token_digest(token)):
        return render_template("error.html", title=_("خطا"), restart_url=None, message=_(
            "این پیوند معتبر نیست یا مهلت آن به پایان رسیده است. از صفحه مشخصات حساب کاربری "
            "دوباره درخواست کنید.")), 410
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("account/verify_email.html", form=form,
                               address=pending["email"])
    _verified(account, pending["email"], "link")
    return render_template("account/email_verified.html", address=pending["email"])


@bp.route("/account/email/remove", methods=["POST"])
@signed_in
def remove_email():
    """Forget the personal e-mail (the national one, if any, is used again)."""
    account: Account = current_user.account
    if ConfirmForm().validate_on_submit() and account.email:
        services().store.delete(_link_key(account.id), f"otp:{email_key(account)}")
        account.email = None
        account.email_verified = False
        record("account.email_removed", account_id=account.id)
        services().db.session.commit()
        flash(_("ایمیل شخصی از حساب شما حذف شد."))
    return redirect(url_for("account.profile", _anchor="email-part"))

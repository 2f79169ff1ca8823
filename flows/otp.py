"""Step 2: the one-time code sent by SMS (SPEC §3 step 2).

Six digits, valid two minutes, at most five tries, stored only as an HMAC, taken on success
(idp.otp, shared with the account page). A re-send waits for a cool-down that counts per mobile
across journeys; the code sent to the citizen's e-mail instead has a cool-down of its own.

What stops guessing: five tries per code, and codes are scarce (the send budgets per mobile,
prefix and address, and a captcha for the first send and for every re-send after the first).
A 6-digit code then falls with odds of 5 in a million per code sent. Nothing here counts per
mobile alone what a stranger can do, so knowing a number is not enough to lock its owner out.
"""

import logging
from collections.abc import Callable

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from flows import bp
from flows.errors import error_page, form_status, unavailable
from flows.finish import proceed
from flows.forms import OtpForm
from flows.journey import Journey, at_step, current, renew
from flows.plan import Start, Step, register
from flows.recognise import recognise_mobile
from idp.audit import record
from idp.authn import authenticate
from idp.captcha import audio_available, check_captcha
from idp.forms import ConfirmForm
from idp.identifiers import mobile_local
from idp.messaging import MessagingUnavailable
from idp.models import Account
from idp.otp import (
    MESSAGES,
    Check,
    CooldownActive,
    SendBudgetSpent,
    cannot_send_message,
    check_code,
    code_text,
    issue_code,
    mask_email,
    sends_for,
    withdraw,
)
from idp.ratelimit import counted_when, deduct, per_ip, per_key
from idp.registries import RegistryUnavailable
from idp.services import services

log = logging.getLogger(__name__)


def send_code(journey_id: str, mobile: str, email: str | None = None) -> None:
    """Issue and send a code by SMS (or to the citizen's e-mail, seed 002 §2.1).

    Raises CooldownActive, SendBudgetSpent or MessagingUnavailable.
    """
    method = "email_otp" if email else "sms_otp"
    code = issue_code(journey_id, mobile, method)
    try:
        if email:
            services().mailer.send(email, _("رمز یکبار مصرف پنجره ملی خدمات دولت هوشمند"),
                                   code_text(code), code=code, purpose="login")
        else:
            services().sms.send(mobile, code_text(code), code=code, purpose="login")
    except MessagingUnavailable:
        # Let the citizen try again at once: the failed send does not start a cool-down.
        withdraw(journey_id, mobile, method)
        log.warning("%s gateway unavailable", "e-mail" if email else "sms")
        raise


def send_or_explain(journey_id: str, mobile: str,
                    show: Callable[[str, int], ResponseReturnValue],
                    email: str | None = None) -> ResponseReturnValue | None:
    """Send a code; when it cannot go, the page that says why (``show`` renders the step's own
    page with a message and a status). None when the code was sent."""
    try:
        send_code(journey_id, mobile, email)
    except (CooldownActive, SendBudgetSpent) as refused:
        if isinstance(refused, SendBudgetSpent):
            log.warning("otp send refused: %s used up", refused.budget)
        return show(cannot_send_message(refused), 429)
    except MessagingUnavailable:
        if email:
            return error_page(_("ارسال ایمیل در حال حاضر ممکن نیست. لطفا چند دقیقه دیگر "
                                "دوباره تلاش کنید."), 503)
        return error_page(_("ارسال پیامک در حال حاضر ممکن نیست. لطفا چند دقیقه دیگر دوباره "
                            "تلاش کنید."), 503)
    return None


def login_email(mobile: str) -> str | None:
    """The e-mail of the account this mobile belongs to, where the code may also go: its
    national e-mail or one the citizen verified (issue 12)."""
    account = services().db.session.scalars(select(Account).where(
        Account.mobile == mobile)).first()
    return account.verified_email if account is not None else None


def by_code(start: Start) -> bool:
    return start.method == "otp"


register(Step("otp", order=20, applies=by_code))


def _resend_needs_captcha(journey: Journey) -> bool:
    """The first re-send is free; every later one needs a new captcha, so one solved captcha
    buys two codes, not the mobile's whole send budget."""
    return services().settings.captcha.enabled and sends_for(journey.id) >= 2


def _render(journey: Journey, form, error: str | None = None, status: int = 200,
            captcha_error: str | None = None):
    store = services().store
    expires_in, resend_in, email_resend_in, pending = store.batch().ttl(
        f"otp:{journey.id}").ttl(f"otp-cooldown:{journey.mobile}").ttl(
        f"otp-email-cooldown:{journey.mobile}").get(f"otp:{journey.id}").execute()
    captcha = _resend_needs_captcha(journey)
    email = login_email(journey.mobile)
    return render_template(
        "login/otp.html", form=form, error=error, mobile_display=mobile_local(journey.mobile),
        expires_in=expires_in, resend_in=resend_in, email_resend_in=email_resend_in,
        captcha_url=url_for("login.captcha", v=journey.id[:6]) if captcha else None,
        captcha_audio_url=url_for("login.captcha_audio") if captcha and audio_available()
        else None, captcha_error=captcha_error,
        masked_email=mask_email(email) if email else None,
        sent_by_email=bool(pending and pending.get("method") == "email_otp")), status


def _journey_key() -> str:
    """The rate-limit key of the pending login (its holder's own budget)."""
    journey = current()
    return "journey:" + (journey.id if journey else "none")


def _mobile_and_address_key() -> str:
    """The rate-limit key of a mobile as guessed at from one client address."""
    journey = current()
    mobile = journey.mobile if journey and journey.mobile else "none"
    return f"mobile:{mobile}|ip:{request.remote_addr}"


@bp.route("/otp", methods=["GET", "POST"])
@at_step("otp")
# Against one address guessing at many journeys and codes: counts every post.
@per_ip("otp_verify_per_ip")
# Against one journey trying past its codes' tries: binds only whoever holds the journey.
@per_key("otp_verify_per_journey", _journey_key)
# Against guessing at one mobile from one address across journeys: counts only wrong codes that
# were well formed and met a live code, and never another address, so no stranger can use it up.
@counted_when("otp_verify_per_mobile", _mobile_and_address_key, "otp_wrong_code")
def otp(journey: Journey):
    form = OtpForm(length=services().settings.otp.length)
    if not form.validate_on_submit():
        return _render(journey, form, status=form_status(form))
    result, method = check_code(journey.id, journey.mobile, form.code)
    if result in (Check.WRONG, Check.EXHAUSTED):
        deduct("otp_wrong_code")
    if result is not Check.OK:
        # Shown on the account page of the mobile's owner, if there is one (issue 12).
        owner = services().db.session.scalars(select(Account.id).where(
            Account.mobile == journey.mobile)).first()
        record("login.otp_failed", account_id=owner, reason=result.value)
        services().db.session.commit()
        return _render(journey, form, str(MESSAGES[result]), 422)
    journey.authn = authenticate(method).to_dict()
    try:
        recognise_mobile(journey)
    except RegistryUnavailable:
        return unavailable()
    renew(journey)
    journey.complete("otp")
    return proceed(journey)


# The per-mobile, prefix and global send budgets are taken in issue_code, for codes that leave.
@bp.route("/otp/resend", methods=["POST"])
@at_step("otp")
@per_ip("otp_send_per_ip")
def resend(journey: Journey):
    return _send_again(journey, by_email=False)


@bp.route("/otp/email", methods=["POST"])
@at_step("otp")
@per_ip("otp_send_per_ip")
def send_email(journey: Journey):
    return _send_again(journey, by_email=True)


def _send_again(journey: Journey, by_email: bool):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("login.otp"))
    if _resend_needs_captcha(journey) and not check_captcha(journey.id,
                                                            request.form.get("captcha")):
        record("login.captcha_failed")
        services().db.session.commit()
        return _render(journey, OtpForm(), status=422,
                       captcha_error=_("کد امنیتی وارد شده صحیح نیست"))
    email = None
    if by_email:
        email = login_email(journey.mobile)
        if not email:
            return redirect(url_for("login.otp"))
    failure = send_or_explain(journey.id, journey.mobile,
                              lambda message, status: _render(journey, OtpForm(), message, status),
                              email)
    return failure or redirect(url_for("login.otp"))

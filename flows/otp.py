"""Step 2: the one-time code sent by SMS (SPEC §3 step 2).

Six digits, valid two minutes, at most five tries, stored only as an HMAC, taken on success.
A re-send waits for a cool-down that counts per mobile across journeys.

What stops guessing: five tries per code, and codes are scarce (the send budgets per mobile,
prefix and address, and a captcha for the first send and for every re-send after the first).
A 6-digit code then falls with odds of 5 in a million per code sent. Nothing here counts per
mobile alone what a stranger can do, so knowing a number is not enough to lock its owner out.
"""

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from hashlib import sha256

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
from idp.ratelimit import counted_when, deduct, per_ip, per_key, spend
from idp.registries import RegistryUnavailable
from idp.services import services

log = logging.getLogger(__name__)


class Check(Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


@dataclass
class CooldownActive(Exception):
    seconds: int


@dataclass
class SendBudgetSpent(Exception):
    """A send budget (``[ratelimit]`` setting ``budget``) is used up; nothing was sent."""

    budget: str


def _send_budgets(mobile: str, method: str) -> list[tuple[str, str]]:
    """The budgets one code costs: the receiver's (against bombing one citizen) and, for an SMS,
    its number range's and everyone's (against SMS pumping, OWASP)."""
    budgets = [("otp_send_per_mobile", mobile)]
    if method == "sms_otp":
        digits = services().settings.ratelimit.otp_send_prefix_digits
        budgets += [("otp_send_per_prefix", mobile.lstrip("+")[:digits]),
                    ("otp_send_global", "all")]
    return budgets


def sends_in_journey(journey_id: str) -> int:
    """How many codes this journey has had sent."""
    return int(services().store.get(f"otp-sends:{journey_id}") or 0)


def _digest(mobile: str, code: str) -> str:
    key = services().settings.server.secret_key.encode()
    return hmac.new(key, f"{mobile}:{code}".encode(), sha256).hexdigest()


def issue_code(journey_id: str, mobile: str, method: str = "sms_otp") -> str:
    """A new code for this journey, unless the mobile's cool-down is running.

    ``method`` is how it travels (idp.authn.METHODS), so the login records how it was proved.
    """
    svc = services()
    settings = svc.settings.otp
    cooldown = settings.resend_cooldown_seconds
    if cooldown and not svc.store.add(f"otp-cooldown:{mobile}", 1, cooldown):
        raise CooldownActive(svc.store.ttl(f"otp-cooldown:{mobile}"))
    # Taken only for a code that is really issued: a refused captcha or a cool-down costs no one.
    spent = spend(_send_budgets(mobile, method))
    if spent:
        svc.store.delete(f"otp-cooldown:{mobile}")
        raise SendBudgetSpent(spent)
    code = "".join(secrets.choice("0123456789") for _ in range(settings.length))
    svc.store.batch().put(
        f"otp:{journey_id}", {"mobile": mobile, "digest": _digest(mobile, code), "method": method},
        settings.lifetime_seconds).delete(f"otp-attempts:{journey_id}").incr(
        f"otp-sends:{journey_id}", svc.settings.journey.lifetime_seconds).execute()
    return code


def check_code(journey_id: str, mobile: str, code: str) -> tuple[Check, str | None]:
    """Compare a typed code; the right one is taken so it works only once.

    Returns the outcome and, when it is OK, the method the code travelled by.
    """
    svc = services()
    settings = svc.settings.otp
    # Every comparison counts, so the attempts are counted with the read (one round trip).
    stored, attempts = svc.store.batch().get(f"otp:{journey_id}").incr(
        f"otp-attempts:{journey_id}", settings.lifetime_seconds).execute()
    if stored is None or stored["mobile"] != mobile:
        return Check.EXPIRED, None
    if attempts > settings.max_attempts:
        svc.store.delete(f"otp:{journey_id}")
        return Check.EXHAUSTED, None
    if not hmac.compare_digest(stored["digest"], _digest(mobile, code)):
        if attempts == settings.max_attempts:
            svc.store.delete(f"otp:{journey_id}")
            return Check.EXHAUSTED, None
        return Check.WRONG, None
    if svc.store.take(f"otp:{journey_id}") is None:
        return Check.EXPIRED, None
    return Check.OK, stored["method"]


def sms_text(code: str) -> str:
    host = services().settings.server.issuer.split("://", 1)[-1].split("/", 1)[0]
    # The last line lets browsers offer the code (WebOTP: "@host #code").
    return _("رمز یکبار مصرف ورود به پنجره ملی خدمات دولت هوشمند: %(code)s\n"
             "این رمز را در اختیار هیچ کس قرار ندهید.", code=code) + f"\n\n@{host} #{code}"


def send_code(journey_id: str, mobile: str, email: str | None = None) -> None:
    """Issue and send a code by SMS (or to the national e-mail, seed 002 §2.1).

    Raises CooldownActive or MessagingUnavailable.
    """
    code = issue_code(journey_id, mobile, "email_otp" if email else "sms_otp")
    try:
        if email:
            services().mailer.send(email, _("رمز یکبار مصرف پنجره ملی خدمات دولت هوشمند"),
                                   sms_text(code))
        else:
            services().sms.send(mobile, sms_text(code), code=code, purpose="login")
    except MessagingUnavailable:
        # Let the citizen try again at once: the failed send does not start a cool-down.
        services().store.delete(f"otp-cooldown:{mobile}", f"otp:{journey_id}")
        log.warning("sms gateway unavailable")
        raise


def send_or_explain(journey_id: str, mobile: str,
                    show: Callable[[str, int], ResponseReturnValue],
                    email: str | None = None) -> ResponseReturnValue | None:
    """Send a code; when it cannot go, the page that says why (``show`` renders the step's own
    page with a message and a status). None when the code was sent."""
    try:
        send_code(journey_id, mobile, email)
    except CooldownActive as wait:
        return show(_("برای دریافت رمز جدید لطفا %(seconds)s ثانیه صبر کنید",
                      seconds=wait.seconds), 429)
    except SendBudgetSpent as refused:
        log.warning("otp send refused: %s used up", refused.budget)
        if refused.budget == "otp_send_per_mobile":
            return show(_("تعداد درخواست‌های رمز یکبار مصرف برای این شماره بیش از حد مجاز است. "
                          "لطفا بعدا دوباره تلاش کنید."), 429)
        return show(_("به دلیل درخواست‌های زیاد، ارسال پیامک موقتا محدود شده است. لطفا چند "
                      "دقیقه دیگر دوباره تلاش کنید."), 429)
    except MessagingUnavailable:
        return error_page(_("ارسال پیامک در حال حاضر ممکن نیست. لطفا چند دقیقه دیگر دوباره "
                            "تلاش کنید."), 503)
    return None


MESSAGES = {
    Check.WRONG: lambda: _("رمز یکبار مصرف وارد شده صحیح نیست"),
    Check.EXPIRED: lambda: _("رمز یکبار مصرف منقضی شده است. لطفا رمز جدید دریافت کنید."),
    Check.EXHAUSTED: lambda: _("تعداد دفعات مجاز ورود رمز به پایان رسید. "
                               "لطفا رمز جدید دریافت کنید."),
}


def national_email(mobile: str) -> str | None:
    """The verified e-mail of the account this mobile belongs to, where the code may also go."""
    return services().db.session.scalars(select(Account.email).where(
        Account.mobile == mobile, Account.email_verified.is_(True))).first()


def by_code(start: Start) -> bool:
    return start.method == "otp"


register(Step("otp", order=20, applies=by_code))


def _resend_needs_captcha(journey: Journey) -> bool:
    """The first re-send is free; every later one needs a new captcha, so one solved captcha
    buys two codes, not the mobile's whole send budget."""
    return services().settings.captcha.enabled and sends_in_journey(journey.id) >= 2


def _render(journey: Journey, form, error: str | None = None, status: int = 200,
            captcha_error: str | None = None):
    expires_in, resend_in = services().store.batch().ttl(f"otp:{journey.id}").ttl(
        f"otp-cooldown:{journey.mobile}").execute()
    captcha = _resend_needs_captcha(journey)
    return render_template(
        "login/otp.html", form=form, error=error, mobile_display=mobile_local(journey.mobile),
        expires_in=expires_in, resend_in=resend_in,
        captcha_url=url_for("login.captcha", v=journey.id[:6]) if captcha else None,
        captcha_audio_url=url_for("login.captcha_audio") if captcha and audio_available()
        else None, captcha_error=captcha_error,
        can_email=bool(national_email(journey.mobile))), status


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
        record("login.otp_failed", reason=result.value)
        services().db.session.commit()
        return _render(journey, form, MESSAGES[result](), 422)
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
        email = national_email(journey.mobile)
        if not email:
            return redirect(url_for("login.otp"))
    failure = send_or_explain(journey.id, journey.mobile,
                              lambda message, status: _render(journey, OtpForm(), message, status),
                              email)
    return failure or redirect(url_for("login.otp"))

"""Step 1: mobile number and captcha; a one-time code is sent only past both (SPEC §3 step 1)."""

from collections.abc import Callable

from flask import make_response, redirect, render_template, url_for
from flask_babel import gettext as _

from flows import bp
from flows.errors import error_page, expired, form_status
from flows.finish import proceed
from flows.forms import MobileForm
from flows.journey import Journey, at_step, live, save, where
from flows.otp import by_code, send_or_explain
from flows.plan import Step, advance, register
from idp.audit import record
from idp.captcha import audio_available, check_captcha, new_captcha, spoken_captcha
from idp.identifiers import mobile_local, normalize_mobile
from idp.ratelimit import per_ip
from idp.services import services

register(Step("mobile", order=10, applies=by_code))


def _render(journey: Journey, form: MobileForm, error: str | None = None,
            status: int | None = None):
    client = services().oauth_server.query_client(journey.client_id) if journey.client_id else None
    return render_template(
        "login/mobile.html", form=form, error=error,
        captcha_url=url_for("login.captcha", v=journey.id[:6]) if _captcha_on() else None,
        captcha_audio_url=url_for("login.captcha_audio")
        if _captcha_on() and audio_available() else None,
        client_name=client.name if client else None,
        qr_enabled=services().settings.qr.enabled), status or form_status(form)


def _captcha_on() -> bool:
    return services().settings.captcha.enabled


@bp.route("/mobile", methods=["GET", "POST"])
@at_step("mobile")
@per_ip("otp_send_per_ip")
# The per-mobile, prefix and global send budgets are taken when a code really leaves
# (flows.otp.issue_code): a post with a wrong captcha must not spend the owner's budget.
def mobile(journey: Journey):
    hint = normalize_mobile(journey.login_hint or "")
    form = MobileForm(data={"mobile": mobile_local(hint) if hint else ""})
    if not form.validate_on_submit():
        return _render(journey, form)
    # SPEC §3 step 1: the captcha is checked before any SMS is sent.
    if _captcha_on() and not check_captcha(journey.id, form.captcha.data):
        form.captcha.errors = [_("کد امنیتی وارد شده صحیح نیست")]
        record("login.captcha_failed")
        services().db.session.commit()
        return _render(journey, form, status=422)
    failure = send_or_explain(journey.id, form.mobile_e164,
                              lambda message, status: _render(journey, form, message, status))
    if failure:
        return failure
    journey.mobile = form.mobile_e164
    journey.complete("mobile")
    return proceed(journey)


def _challenge(make: Callable[[str], bytes], content_type: str):
    """The live journey's captcha challenge made by ``make``, never cached."""
    journey = live()
    if journey is None or not _captcha_on():
        return expired()
    response = make_response(make(journey.id))
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/captcha.png")
@per_ip("captcha_per_ip", methods=["GET"])
def captcha():
    return _challenge(new_captcha, "image/png")


@bp.route("/captcha.wav")
@per_ip("captcha_per_ip", methods=["GET"])
def captcha_audio():
    """The same challenge spoken in Persian, for citizens who cannot see the image."""
    if not audio_available():
        return error_page(_("نسخه صوتی کد امنیتی در دسترس نیست."), 404)
    return _challenge(spoken_captcha, "audio/wav")


@bp.route("/restart", methods=["GET", "POST"])
def restart():
    """Change the mobile number: the journey goes back to its first step."""
    journey = live()
    if journey is None:
        return expired()
    if journey.method == "otp" and journey.account_id is None:
        # Until the mobile's owner is known, the code and its proof belong to the old number.
        services().store.delete(f"otp:{journey.id}")
        journey.mobile = None
        journey.authn = None
        journey.done = [step for step in journey.done if step not in ("mobile", "otp")]
        advance(journey)
        save(journey)
    return redirect(where(journey))


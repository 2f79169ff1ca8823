"""The QR way in (issue 7, seed 002 §2): the browser shows a code, the paired phone approves.

It replaces the mobile, one-time-code and identity steps; the postal code (when the registry's
changed), the company and consent still follow, and :mod:`flows.finish` ends the login.

The browser's side of the protocol (design qr-login §2.3, §2.5, §2.6, §2.9):

- ``POST /login/qr/start``: same-origin only; a new flow and its first code, and the
  HttpOnly binding cookie (a secret never in the QR or the page), then the QR page;
- ``GET /login/qr``: the page, drawn for the flow's state; without JavaScript it reloads itself
  every few seconds, and a reload after the approval continues the journey;
- ``GET /login/qr/events`` (Server-Sent Events) and ``GET /login/qr/status`` (short poll, any
  instance): the state for the page's script;
- ``POST /login/qr/complete``: the approval redeemed, once, by the bound browser only;
- ``POST /login/qr/otp``: back to the one-time-code login.

The phone's side is :mod:`idp.devices.api`; the state both share is :mod:`idp.devices.qrlogin`.
"""

import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from flows import bp
from flows.errors import error_page, expired, unavailable
from flows.finish import proceed
from flows.journey import Journey, at_step, live, renew, save, where
from flows.plan import Start, Step, register
from flows.start import switch_method
from idp.audit import record
from idp.authn import authenticate
from idp.devices import qrlogin
from idp.devices.account import jalali
from idp.messaging import MessagingUnavailable
from idp.models import Account
from idp.models.base import utcnow
from idp.ratelimit import per_ip
from idp.registries import RegistryUnavailable
from idp.services import services
from idp.store import StoreUnavailable
from idp.verification import lookup_person, refresh_from_registry

log = logging.getLogger(__name__)

# Seconds between reloads of the page without JavaScript.
NOSCRIPT_REFRESH = 3
# design §2.6: a comment line this often keeps proxies from closing an idle stream.
HEARTBEAT_SECONDS = 15
SECRET = re.compile(r"[A-Za-z0-9_-]{43}\Z")
TERMINAL = ("approved", "denied", "expired")


def by_qr(start: Start) -> bool:
    return start.method == "qr"


register(Step("qr", order=20, applies=by_qr))


def enabled() -> None:
    """``[qr] enabled = false``: no QR tab, and every QR endpoint answers 404 (issue 7)."""
    if not services().settings.qr.enabled:
        abort(404)


# --- the binding cookie (design §2.9) -----------------------------------------------------------

def cookie_name() -> str:
    # __Host-: Secure, Path=/, no Domain; on plain http (development) it cannot be used.
    return "__Host-qrb" if services().settings.server.issuer.startswith("https://") \
        else "idp_qrb"


def binding_secret() -> str | None:
    value = request.cookies.get(cookie_name())
    return value if value and SECRET.match(value) else None


def bound_flow(journey: Journey) -> qrlogin.Flow | None:
    """The journey's flow, if this browser holds its binding secret."""
    flow = qrlogin.load_flow(journey.qr_flow)
    if flow is None or flow.journey_id != journey.id or not flow.bound_to(binding_secret()):
        return None
    return flow


def same_origin() -> bool:
    """design §2.3 / case 33: a flow is started only by the provider's own page.

    Sec-Fetch-Site decides where the browser sends it. Without it, a named Origin must be the
    issuer's; ``null`` is what this provider's own pages send (Referrer-Policy: no-referrer),
    and the form's CSRF token, bound to this browser's session, still has to match.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    issuer = urlsplit(services().settings.server.issuer)
    return origin in (None, "null", f"{issuer.scheme}://{issuer.netloc}")


def can_switch(journey: Journey) -> bool:
    """A way in can be chosen until the citizen has proved who they are."""
    return journey.authn is None and journey.method in ("otp", "qr")


# --- views --------------------------------------------------------------------------------------

@bp.route("/qr/start", methods=["POST"])
@per_ip("qr_start_per_ip")
def qr_start() -> ResponseReturnValue:
    enabled()
    if not same_origin():
        record("qr.start.rejected", reason="cross_origin")
        services().db.session.commit()
        return error_page(_("این درخواست از صفحه ورود پنجره ملی ارسال نشده است."), 403,
                          restart=False)
    journey = live()
    if journey is None:
        return expired()
    if not can_switch(journey):
        return redirect(where(journey))
    old = qrlogin.load_flow(journey.qr_flow)
    if old is not None:
        qrlogin.end_flow(old)
    secret = binding_secret() or secrets.token_urlsafe(32)
    lifetime = services().settings.journey.lifetime_seconds
    try:
        client = services().oauth_server.query_client(journey.client_id) \
            if journey.client_id else None
        flow = qrlogin.start_flow(
            journey_id=journey.id, ends=journey.created_at + lifetime, binding_secret=secret,
            client_id=journey.client_id, client_name=client.name if client else None,
            ip=request.remote_addr, ua=request.headers.get("User-Agent", ""))
    except StoreUnavailable:
        # design §4 case 39: the one-time code remains.
        return error_page(_("ورود با کد QR در حال حاضر ممکن نیست. لطفا با رمز یکبار مصرف "
                            "وارد شوید."), 503)
    if journey.method != "qr":
        switch_method(journey, "qr")
    journey.qr_flow = flow.id
    save(journey)
    record("qr.flow.started", client_id=journey.client_id, fid=flow.id,
           ua=flow.ua[:120])
    services().db.session.commit()
    response = redirect(url_for("login.qr_page"))
    response.set_cookie(cookie_name(), secret, max_age=lifetime, path="/", httponly=True,
                        secure=cookie_name().startswith("__Host-"), samesite="Strict")
    return response


@bp.route("/qr/otp", methods=["POST"])
def qr_to_otp() -> ResponseReturnValue:
    """Back to the one-time-code login; the QR flow ends."""
    journey = live()
    if journey is None:
        return expired()
    if not can_switch(journey):
        return redirect(where(journey))
    flow = qrlogin.load_flow(journey.qr_flow)
    if flow is not None:
        qrlogin.end_flow(flow)
        record("qr.flow.ended", client_id=journey.client_id, fid=flow.id, reason="otp",
               rotations=flow.rotations)
        services().db.session.commit()
    journey.qr_flow = None
    switch_method(journey, "otp")
    save(journey)
    return redirect(where(journey))


@bp.route("/qr")
@at_step("qr")
def qr_page(journey: Journey) -> ResponseReturnValue:
    enabled()
    flow = bound_flow(journey)
    if flow is None:
        return _render(journey, None)
    state = qrlogin.status(flow)
    if state.state == "approved":
        # Without JavaScript, the reload after the approval continues the journey.
        return _redeem(journey, flow)
    return _render(journey, state)


@bp.route("/qr/complete", methods=["POST"])
@at_step("qr")
@per_ip("qr_complete_per_ip")
def qr_complete(journey: Journey) -> ResponseReturnValue:
    enabled()
    flow = bound_flow(journey)
    if flow is None:
        record("qr.redeem.rejected", client_id=journey.client_id, reason="binding")
        services().db.session.commit()
        return error_page(_("این ورود متعلق به این مرورگر نیست."), 403)
    if qrlogin.status(flow).state != "approved":
        return redirect(url_for("login.qr_page"))
    return _redeem(journey, flow)


def _watched() -> tuple[Journey, qrlogin.Flow] | Response:
    """The journey and flow a status request or stream is about, or the 403 that refuses it."""
    enabled()
    journey = live()
    flow = bound_flow(journey) if journey is not None and journey.current == "qr" else None
    if flow is None:
        record("qr.binding.rejected", reason="status")
        services().db.session.commit()
        return _json({"error": "forbidden"}, 403)
    return journey, flow


@bp.route("/qr/status")
def qr_status() -> ResponseReturnValue:
    """The short-poll fallback: works on any instance and any worker (design §2.6)."""
    watched = _watched()
    if isinstance(watched, Response):
        return watched
    _journey, flow = watched
    if services().settings.ratelimit.enabled and qrlogin.poll_too_fast(flow):
        return _json({"error": "slow_down", "interval": qrlogin.POLL_INTERVAL + 1}, 400)
    return _json(_state_json(qrlogin.status(flow)))


@bp.route("/qr/events")
def qr_events() -> ResponseReturnValue:
    """Server-Sent Events of the flow's state; the page falls back to polling on any error."""
    if not current_app.config.get(qrlogin.EVENTS_CONFIG, True):
        # This server's threads are few (production.py): streams are served elsewhere.
        abort(503)
    watched = _watched()
    if isinstance(watched, Response):
        return watched
    _journey, flow = watched
    store = services().store
    ip_key = f"qrstreams:{request.remote_addr}"
    stream_seconds = max(1, flow.ends - int(time.time()))
    counted = services().settings.ratelimit.enabled
    # design §2.10: a cap of open streams per address.
    if counted and store.incr(ip_key, stream_seconds) > \
            services().settings.ratelimit.qr_streams_per_ip:
        store.decr(ip_key)
        return _json({"error": "slow_down"}, 429)
    # design §2.10: one stream per flow. The newest wins (a reloaded page, a reconnect whose
    # old connection the server has not noticed yet); the older one is woken and ends.
    stream_id = secrets.token_urlsafe(8)
    subscription = qrlogin.subscribe(flow)
    store.put(f"qrstream:{flow.id}", stream_id, stream_seconds)
    qrlogin.wake(flow)

    def stream() -> Iterator[str]:
        try:
            yield "retry: 2000\n\n"
            yield from _events(flow, subscription, stream_id)
        except StoreUnavailable:
            yield "event: error\ndata: {}\n\n"
        finally:
            subscription.close()
            with contextlib.suppress(StoreUnavailable):
                if store.get(f"qrstream:{flow.id}") == stream_id:
                    store.delete(f"qrstream:{flow.id}")
                if counted:
                    store.decr(ip_key)

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events(flow: qrlogin.Flow, subscription, stream_id: str) -> Iterator[str]:
    """Subscribed first, then the state read (design §2.6): an approval published in between
    is seen by the read. Ends with the flow's terminal state, when the flow ends, or when a
    newer stream of the same flow has taken over."""
    last = None
    store = services().store
    while True:
        current = qrlogin.load_flow(flow.id)
        if current is None:
            yield "event: state\ndata: {\"state\": \"expired\"}\n\n"
            return
        state = qrlogin.status(current)
        shown = (state.state, state.flow.qid)
        if shown != last:
            last = shown
            yield f"event: state\ndata: {json.dumps(_state_json(state))}\n\n"
        if state.state in TERMINAL or store.get(f"qrstream:{flow.id}") not in (stream_id, None):
            return
        wait = min(HEARTBEAT_SECONDS, max(0.2, state.seconds_left + 0.2),
                   max(0.2, state.flow.ends - time.time()))
        if subscription.wait(wait) is None and wait >= HEARTBEAT_SECONDS:
            yield ": ping\n\n"


# --- helpers ------------------------------------------------------------------------------------

def _json(body: dict, status: int = 200) -> Response:
    response = current_app.json.response(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def qr_svg(url: str) -> str:
    """The QR code, drawn here (no outside service, design §2.4): EC level M, 4-module border."""
    import segno  # here: only the QR page draws, and every worker would hold it (issue 9: memory)

    return segno.make(url, error="m", micro=False, boost_error=False).svg_inline(
        scale=6, border=4, dark="#000", light="#fff", title="QR")


def _state_json(state: qrlogin.Status) -> dict:
    """What the page's script is told: never a token, an identity or the binding secret."""
    body = {"state": state.state, "interval": qrlogin.POLL_INTERVAL}
    if state.state in ("pending", "scanned"):
        body["expires_in"] = state.seconds_left
    if state.state == "pending":
        url = qrlogin.qr_url(state.flow.qid)
        body.update(qr_url=url, svg=qr_svg(url),
                    rotations_left=services().settings.qr.max_rotations - state.flow.rotations)
    return body


def _render(journey: Journey, state: qrlogin.Status | None) -> ResponseReturnValue:
    client = services().oauth_server.query_client(journey.client_id) \
        if journey.client_id else None
    name = state.state if state else "none"
    context = {"state": name, "client_name": client.name if client else None,
               "refresh": NOSCRIPT_REFRESH if name in ("pending", "scanned") else None}
    if state is not None:
        context.update(_state_json(state))
    return render_template("login/qr.html", **context)


def _redeem(journey: Journey, flow: qrlogin.Flow) -> ResponseReturnValue:
    """The approval becomes this journey's proof: once, for the bound browser (design §2.3 5)."""
    ticket = qrlogin.peek_ticket(flow)
    db = services().db.session
    if ticket is None:
        # Taken a moment ago by another tab, or lapsed: the page says the code expired.
        return redirect(url_for("login.qr_page"))
    account = db.get(Account, ticket["account_id"])
    if account is None:
        qrlogin.take_ticket(flow)
        return error_page(_("این کد QR قبلا استفاده شده یا منقضی شده است."), 409)
    try:
        # As after a one-time code: the registry's record, and so whether the postal code
        # changed (SPEC §3 step 4), is read at every login.
        person = lookup_person(account)
    except RegistryUnavailable:
        return unavailable()
    if person is None:
        record("qr.redeem.rejected", account_id=account.id, client_id=journey.client_id,
               reason="registry")
        db.commit()
        return error_page(_("اطلاعات هویتی شما در ثبت احوال یافت نشد. لطفا با رمز یکبار "
                            "مصرف وارد شوید."), 409)
    # GETDEL: of two tabs redeeming at once, one gets the ticket (design §4 case 47).
    ticket = qrlogin.take_ticket(flow)
    if ticket is None:
        db.rollback()
        record("qr.redeem.rejected", client_id=journey.client_id, reason="no_ticket")
        db.commit()
        return error_page(_("این کد QR قبلا استفاده شده یا منقضی شده است."), 409)
    refresh_from_registry(account, person)
    journey.authn = authenticate("qr", at=ticket["auth_time"]).to_dict()
    journey.account_id = account.id
    journey.postal_review = account.postal_review_needed
    journey.qr_flow = None
    qrlogin.end_flow(flow)
    renew(journey)
    record("qr.redeemed", account_id=account.id, client_id=journey.client_id, fid=flow.id,
           device_id=ticket["device_id"], amr=" ".join(journey.authentication.amr),
           acr=journey.authentication.acr, rotations=flow.rotations)
    _notify(account, flow)
    journey.complete("qr")
    return proceed(journey)


def _notify(account: Account, flow: qrlogin.Flow) -> None:
    """design §2.8: after a QR login, an SMS says where it happened and how to undo it (the
    BCP's detect-and-remediate); a gateway that is down does not stop the login."""
    if not account.mobile:
        return
    text = _("ورود با کد QR به «%(client)s» از %(browser)s در %(time)s انجام شد. اگر شما "
             "نبودید، دستگاه خود را از بخش دستگاه‌ها در حساب کاربری حذف کنید: %(url)s",
             client=flow.client_name or _("پنجره ملی خدمات دولت هوشمند"),
             browser=qrlogin.describe_browser(flow.ua), time=jalali(utcnow()),
             url=services().settings.server.issuer + "/account/devices")
    try:
        services().sms.send(account.mobile, text, code=None, purpose="qr_login_notice")
    except MessagingUnavailable:
        log.warning("qr login notice not sent: sms gateway unavailable")
        return
    record("qr.notice.sent", account_id=account.id, client_id=flow.client_id)

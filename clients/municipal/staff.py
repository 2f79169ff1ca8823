"""«کارتابل شهرداری» (issue 10): the municipality's staff, logged in through the national login
with a national code in ``[municipal] staff``, see the requests of both kinds (transfers and
inquiries) by kind, state and visit date with their documents, and take the staff's actions on
them: «تأیید بازدید», «ابطال» with its reason, «بایگانی دائم», each where ``lifecycle`` allows it.
Every change goes through ``lifecycle.advance`` (recorded, changed once however many press at
once) and is texted to the applicant.
"""

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.common.app import current_rp
from clients.municipal import history, lifecycle, payments
from clients.municipal.auth import applicant_code, is_staff, login_required
from clients.municipal.models import ServiceRequest
from clients.municipal.registry import PropertyRegistry, parse_jalali

bp = Blueprint("staff", __name__, url_prefix="/staff")

# The actions of this desk (the applicant withdraws; payment and issuing are the citizen's).
ACTIONS = ("approve_visit", "cancel", "archive")
REASON_MAX = 500


def staff_required(view):
    """Staff only: a citizen who is not staff gets a Persian 403 page."""
    @login_required
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_staff():
            return render_template("common/error.html", title=gettext("دسترسی ممکن نیست"),
                                   message=gettext("کارتابل شهرداری تنها برای کارکنان شهرداری "
                                                   "است.")), 403
        return view(*args, **kwargs)
    return wrapper


def owes_dues(db: Session, registry: PropertyRegistry, code: str) -> bool:
    """Does the renovation code owe عوارض نوسازی? The registry's ``dues_rials`` less what was
    paid online here (``payments.dues_owed``)."""
    return payments.dues_owed(db, registry, code) > 0


def approval_target(db: Session, registry: PropertyRegistry, item: ServiceRequest) -> str:
    """Issue 10: after the visit, awaiting payment while dues are owed, else ready."""
    return lifecycle.AWAITING_PAYMENT if owes_dues(db, registry, item.renovation_code) \
        else lifecycle.READY


@bp.get("")
@staff_required
def index():
    """The requests, newest first, filtered by kind (``kind``), state (``state``) and visit
    day (``day``, Jalali ``1405/09/12``, any digits: inquiries have no visit)."""
    query = select(ServiceRequest)
    kind = request.args.get("kind", "")
    state = request.args.get("state", "")
    if kind in lifecycle.KINDS:
        query = query.where(ServiceRequest.kind == kind)
    day_text = request.args.get("day", "").strip()
    error = None
    if state in lifecycle.LABELS:
        query = query.where(ServiceRequest.state == state)
    if day_text:
        day = parse_jalali(day_text)
        if day is None:
            error = gettext("تاریخ بازدید را به شکل ۱۴۰۵/۰۹/۱۲ وارد کنید.")
        else:
            # Slots are ``YYYY-MM-DDTHH:MM``: the day is their first ten characters.
            query = query.where(ServiceRequest.visit_slot.startswith(
                day.togregorian().isoformat()))
    items = [] if error else current_rp().db.session.scalars(
        query.order_by(ServiceRequest.created_at.desc())).all()
    return render_template("staff/index.html", items=items, labels=lifecycle.LABELS,
                           kinds=lifecycle.KINDS, kind=kind, state=state, day=day_text,
                           error=error), 400 if error else 200


def _request(tracking_number: str) -> ServiceRequest:
    found = current_rp().db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.tracking_number == tracking_number))
    if found is None:
        abort(404)
    return found


def _page(item: ServiceRequest, status: int = 200, error: str | None = None):
    return render_template(
        "staff/request.html", item=item, state_label=lifecycle.LABELS[item.state],
        kind_label=lifecycle.KINDS[item.kind],
        final=item.state in lifecycle.FINAL, history=history.entries(item),
        form=FlaskForm(), error=error,
        may={action: lifecycle.allowed(action, item.state) for action in ACTIONS},
        dues_owed=owes_dues(current_rp().db.session, current_app.extensions[
            "municipal_registry"], item.renovation_code)), status


@bp.get("/requests/<tracking_number>")
@staff_required
def show(tracking_number: str):
    return _page(_request(tracking_number))


@bp.post("/requests/<tracking_number>")
@staff_required
def act(tracking_number: str):
    """One of the desk's actions; refused with a message on a final request, on one whose
    state does not allow it, or when another member of staff changed it first."""
    item = _request(tracking_number)
    if not FlaskForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    if item.state in lifecycle.FINAL:
        return _page(item, 409, gettext(
            "این درخواست در وضعیت نهایی «%(state)s» است و اقدامی روی آن انجام نمی‌شود.",
            state=lifecycle.LABELS[item.state]))
    if not lifecycle.allowed(action, item.state):
        return _page(item, 409, gettext("این اقدام در وضعیت کنونی درخواست («%(state)s») ممکن "
                                        "نیست.", state=lifecycle.LABELS[item.state]))
    reason = request.form.get("reason", "").strip() if action == "cancel" else None
    if action == "cancel" and not reason:
        return _page(item, 400, gettext("علت ابطال را وارد کنید."))
    if reason and len(reason) > REASON_MAX:
        return _page(item, 400, gettext("علت ابطال حداکثر %(count)s نویسه است.",
                                        count=REASON_MAX))
    db = current_rp().db.session
    target = {"approve_visit": approval_target(db, current_app.extensions["municipal_registry"],
                                               item),
              "cancel": lifecycle.CANCELLED, "archive": lifecycle.ARCHIVED}[action]
    if not lifecycle.advance(db, item, action, target, by=applicant_code(), reason=reason):
        return _page(item, 409, gettext("وضعیت این درخواست هم‌زمان تغییر کرد؛ وضعیت کنونی "
                                        "آن را ببینید."))
    lifecycle.text(item, _text(item, action))
    flash(gettext("وضعیت درخواست به «%(state)s» تغییر کرد و به متقاضی پیامک شد.",
                  state=lifecycle.LABELS[item.state]), "notice")
    return redirect(url_for("staff.show", tracking_number=item.tracking_number), 303)


def _text(item: ServiceRequest, action: str) -> str:
    """The applicant's SMS, in Persian whatever language the staff page is in."""
    number = item.tracking_number
    with force_locale("fa"):
        if action == "cancel":
            return gettext("شهرداری تهران - درخواست انتقال %(number)s ابطال شد. علت: "
                           "%(reason)s", number=number, reason=item.data["history"][-1]["reason"])
        if action == "archive" and item.kind == "inquiry":
            return gettext("شهرداری تهران - درخواست استعلام %(number)s به سرانجام رسید و "
                           "بایگانی دائم شد.", number=number)
        if action == "archive":
            return gettext("شهرداری تهران - درخواست انتقال %(number)s به سرانجام رسید و "
                           "بایگانی دائم شد.", number=number)
        if item.state == lifecycle.AWAITING_PAYMENT:
            return gettext("شهرداری تهران - بازدید کارشناس برای درخواست %(number)s تأیید شد. "
                           "اکنون می‌توانید عوارض نوسازی را پرداخت کنید.", number=number)
        return gettext("شهرداری تهران - بازدید کارشناس برای درخواست %(number)s تأیید شد. "
                       "گواهی انتقال آماده صدور است.", number=number)

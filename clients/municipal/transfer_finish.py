"""The last steps of «درخواست انتقال» (seed 003), on the registered request's page: 6 «عوارض
نوسازی» (after staff approve the visit: the dues and «پرداخت آنلاین», or none owed) and 7
«صدور گواهی» («صدور گواهی با امکان چاپ» issues the certificate). The state changes go through
:func:`lifecycle.advance`, each texted.
"""

from flask import Blueprint, Flask, abort, current_app, flash, redirect, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlalchemy import select

from clients.common.app import current_rp
from clients.municipal import lifecycle, payments
from clients.municipal.auth import current_citizen, login_required
from clients.municipal.certificates import WITH_CERTIFICATE
from clients.municipal.models import ServiceRequest

bp = Blueprint("transfer_finish", __name__, url_prefix="/transfer/requests")
KIND = "transfer"
# The stepper's step each state is at (seed 003: 6 «عوارض نوسازی», 7 «صدور گواهی»).
CURRENT_STEP = {lifecycle.AWAITING_VISIT: 6, lifecycle.AWAITING_PAYMENT: 6, lifecycle.READY: 7,
                lifecycle.ISSUED: 7, lifecycle.ARCHIVED: 7}


def context(item: ServiceRequest) -> dict:
    """What the request's page shows of steps 6 and 7."""
    owed = payments.dues_owed(current_rp().db.session, current_app.extensions[
        "municipal_registry"], item.renovation_code)
    number = CURRENT_STEP.get(item.state)
    return {"dues": owed, "number": number,
            "stepper_done": 7 if item.state in WITH_CERTIFICATE else (number or 0) - 1,
            "has_certificate": item.state in WITH_CERTIFICATE, "form": FlaskForm()}


def _own(tracking_number: str) -> ServiceRequest:
    """The citizen's own transfer request; anyone else's is as missing as a wrong number."""
    item = current_rp().db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.tracking_number == tracking_number, ServiceRequest.kind == KIND))
    if item is None or item.citizen_id != current_citizen().id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return item


def _back(item: ServiceRequest, message: str | None = None):
    if message:
        flash(message, "error")
    return redirect(url_for("transfer.registered", tracking_number=item.tracking_number), 303)


@bp.post("/<tracking_number>/pay")
@login_required
def pay(tracking_number: str):
    """«پرداخت آنلاین»: to the gateway for what the code owes now."""
    item = _own(tracking_number)
    if item.state != lifecycle.AWAITING_PAYMENT:
        return _back(item, gettext("پرداخت عوارض نوسازی در این وضعیت درخواست ممکن نیست."))
    db = current_rp().db.session
    try:
        return payments.start_payment(
            db, current_app.extensions["municipal_registry"], item.citizen_id,
            item.renovation_code, request_id=item.id,
            return_to=url_for("transfer.registered", tracking_number=item.tracking_number))
    except payments.NothingOwed:
        payments.settle_request(db, item)
        return _back(item)


@bp.post("/<tracking_number>/issue")
@login_required
def issue(tracking_number: str):
    """«صدور گواهی با امکان چاپ»: only once the dues are settled (seed 003)."""
    item = _own(tracking_number)
    if item.state in WITH_CERTIFICATE:
        return redirect(url_for("certificates.page", tracking_number=item.tracking_number), 303)
    owed = payments.dues_owed(current_rp().db.session,
                              current_app.extensions["municipal_registry"], item.renovation_code)
    if item.state != lifecycle.READY or owed:
        # Seed 003, «عوارض نوسازی».
        return _back(item, gettext("توجه داشته باشید تا بدهی نوسازی خود را با شهرداری تسویه "
                                   "نکرده باشید، اجازه رفتن به گام بعدی را نخواهید داشت")
                     if owed else gettext("صدور گواهی در این وضعیت درخواست ممکن نیست."))
    if lifecycle.advance(current_rp().db.session, item, "issue", lifecycle.ISSUED,
                         by=item.data.get("applicant", "")):
        lifecycle.text(item, gettext(
            "گواهی انتقال آپارتمان درخواست %(number)s صادر شد.", number=item.tracking_number))
    elif item.state not in WITH_CERTIFICATE:
        return _back(item, gettext("صدور گواهی در این وضعیت درخواست ممکن نیست."))
    return redirect(url_for("certificates.page", tracking_number=item.tracking_number), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

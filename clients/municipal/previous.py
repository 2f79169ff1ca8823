"""«درخواست های پیشین» (issue 10, seed 003): the citizen's requests of both kinds, searchable by
tracking number («جستجو»), each with «آخرین وضعیت» (the request at its step) and, once its
certificate exists, «چاپ». Each link is made only where the app has the page it leads to.
"""

import re

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from clients.common.app import current_rp
from clients.municipal import lifecycle
from clients.municipal.auth import current_citizen, login_required
from clients.municipal.models import ServiceRequest
from clients.municipal.registry import DIGITS, SEPARATORS

bp = Blueprint("previous", __name__)

# Where «آخرین وضعیت» of each kind leads.
STATUS_ENDPOINTS = {"transfer": "transfer.registered", "inquiry": "inquiry.registered"}
# A certificate exists once issued (issue 10: «چاپ» only then).
PRINTABLE = frozenset({lifecycle.ISSUED, lifecycle.ARCHIVED})
TRACKING = re.compile(r"[0-9]{1,10}", re.ASCII)


def tracking_query(text: str) -> str | None:
    """A typed tracking number (whole or part; Persian or Arabic-Indic digits, spaces and
    dashes allowed) as ASCII digits, or None if it is not one."""
    digits = SEPARATORS.sub("", text.translate(DIGITS))
    return digits if TRACKING.fullmatch(digits) else None


def _link(endpoint: str, tracking_number: str) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, tracking_number=tracking_number)


def row(item: ServiceRequest) -> dict:
    """What the list shows of one request."""
    return {"kind": lifecycle.KINDS.get(item.kind, item.kind),
            "tracking_number": item.tracking_number,
            "code": item.data.get("renovation_code", item.renovation_code),
            "created_at": item.created_at,
            "state": lifecycle.LABELS.get(item.state, item.state),
            "status_url": _link(STATUS_ENDPOINTS[item.kind], item.tracking_number)
            if item.kind in STATUS_ENDPOINTS else None,
            "print_url": _link("certificates.page", item.tracking_number)
            if item.state in PRINTABLE else None}


@bp.get("/requests")
@login_required
def index():
    typed = request.args.get("q", "").strip()
    query = select(ServiceRequest).where(ServiceRequest.citizen_id == current_citizen().id)
    error = None
    if typed:
        number = tracking_query(typed)
        if number is None:
            error = gettext("شماره پیگیری تنها از رقم تشکیل شده است.")
        else:
            query = query.where(ServiceRequest.tracking_number.contains(number,
                                                                        autoescape=True))
    items = [] if error else current_rp().db.session.scalars(
        query.order_by(ServiceRequest.created_at.desc())).all()
    return render_template("previous/index.html", rows=[row(item) for item in items],
                           typed=typed, error=error), 400 if error else 200

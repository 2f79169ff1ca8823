"""Who is asking: the logged-in citizen of the national login, for every page of the app."""

from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from sqlalchemy import select

from clients.common.app import current_login, current_rp
from clients.municipal import citizens
from clients.municipal.models import Citizen, ServiceRequest


def current_citizen() -> Citizen | None:
    row = current_login()
    if row is None:
        return None
    db = current_rp().db.session
    return db.query(Citizen).filter_by(subject=row.subject).one_or_none() or \
        citizens.upsert(db, row.claims)


def applicant_code() -> str | None:
    """The national code of this login (issue 10: the applicant is the login's
    ``national_code`` claim, never a form field)."""
    row = current_login()
    return row.claims.get("national_code") if row is not None else None


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_login() is None:
            return redirect(url_for("rp.login", next=request.path))
        return view(*args, **kwargs)
    return wrapper


def is_staff() -> bool:
    """Is this login one of the municipality's staff (``[municipal] staff``, issue 10)? Judged
    by the login's ``national_code`` claim, as the applicant is."""
    code = applicant_code()
    return code is not None and code in current_app.extensions["municipal"].municipal.staff


def visible_request(tracking_number: str, kind: str | None = None) -> ServiceRequest:
    """A registered request (of ``kind``, when given), to its applicant and to staff only
    (issue 10); anyone else gets 404, as for a wrong number."""
    query = select(ServiceRequest).where(ServiceRequest.tracking_number == tracking_number)
    if kind is not None:
        query = query.where(ServiceRequest.kind == kind)
    found = current_rp().db.session.scalar(query)
    if found is None or (found.citizen_id != current_citizen().id and not is_staff()):
        abort(404)
    return found
